// Live plan builder: after each change, fetch the page for the form's current values and swap in the
// results (and, when the indication, product or patient changed, the protocol's rows). Without this
// script the "Update the plan" button does the same.
(function () {
  "use strict";
  var form = document.getElementById("plan-form");
  if (!form || !window.fetch || !window.DOMParser) {
    return;
  }
  var timer = null;
  var latest = 0;

  function swap(page, id) {
    var fresh = page.getElementById(id);
    var current = document.getElementById(id);
    if (fresh && current) {
      current.innerHTML = fresh.innerHTML;
    }
  }

  function update(rowsToo) {
    var query = new URLSearchParams(new FormData(form)).toString();
    var ticket = ++latest;
    fetch(form.action + "?" + query, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (ticket !== latest) {
          return; // an older answer arriving after a newer one
        }
        var page = new DOMParser().parseFromString(html, "text/html");
        var ids = ["plan-errors", "plan-result"];
        if (rowsToo) {
          ids.push("plan-rows", "plan-variant");
        }
        ids.forEach(function (id) { swap(page, id); });
        history.replaceState(null, "", "?" + query);
        form.dataset.updated = String(ticket);
      });
  }

  function changed(event) {
    var rowsToo = !event.target.closest("#plan-rows");
    clearTimeout(timer);
    timer = setTimeout(function () { update(rowsToo); }, event.type === "change" ? 0 : 350);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
})();
