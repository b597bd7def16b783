// Live plan builder: after each change, post the form's current values (with its CSRF token; never in a
// URL, where the MRN and the doses would stay in logs and history) and swap in the results (and, when a
// choice outside the rows changed, the product list, the protocol's rows and the vial and diluent fields).
// Without this script the "Update the plan" button does the same.
//
// A blocked plan goes on to the record form only with a clinician's written override: its "Record this
// session…" button is enabled as soon as the override field holds a reason (without this script, "Update the
// plan" shows it enabled). Typing the reason asks nothing of the server, and an update keeps what was typed.
//
// Nothing the clinician is typing is ever discarded: an answer is used only if the form still holds the
// values it was asked for (otherwise a newer request is on its way), and the field being typed in keeps its
// focus and caret across a swap.
(function () {
  "use strict";
  var form = document.getElementById("plan-form");
  if (!form || !window.fetch || !window.DOMParser) {
    return;
  }
  var timer = null;
  var latest = 0;
  // Fields outside the swapped regions whose value the server may set: the age and weight from the chart.
  var filled = ["age", "weight_kg", "filled_from"];

  function snapshot() { // the form's values, to tell whether an answer is still about them
    var values = new FormData(form);
    values.delete("override_reason"); // the override changes no plan
    return new URLSearchParams(values).toString();
  }

  function allowRecording() { // a blocked plan's record button waits for the clinician's written override
    var reason = document.getElementById("override_reason");
    var record = document.getElementById("record-link");
    if (reason && record) {
      record.disabled = !reason.value.trim();
    }
  }

  function swap(page, id) {
    var fresh = page.getElementById(id);
    var current = document.getElementById(id);
    if (fresh && current) {
      current.innerHTML = fresh.innerHTML;
    }
  }

  function refill(page, id) {
    var fresh = page.getElementById(id);
    var current = document.getElementById(id);
    if (fresh && current && current !== document.activeElement) {
      current.value = fresh.value;
    }
  }

  function update(rowsToo) {
    var asked = snapshot();
    var ticket = ++latest;
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (ticket !== latest || snapshot() !== asked) {
          return; // an older answer, or the clinician typed since: a newer request follows
        }
        var page = new DOMParser().parseFromString(html, "text/html");
        var active = document.activeElement;
        var name = active && form.contains(active) ? active.name : null;
        var typing = name && active.tagName === "INPUT" && active.type === "text";
        var typed = typing ? active.value : null;
        var caret = null;
        try {
          caret = typing ? [active.selectionStart, active.selectionEnd, active.selectionDirection] : null;
        } catch (ignored) {
          caret = null; // a field without a caret
        }
        var override = document.getElementById("override_reason");
        var reason = override ? override.value : null;
        var ids = ["plan-stop", "plan-errors", "plan-result", "plan-rows"];
        if (rowsToo) {
          ids.push("plan-product", "plan-variant", "plan-dilution");
        }
        ids.forEach(function (id) { swap(page, id); });
        override = document.getElementById("override_reason");
        if (override && reason !== null) {
          override.value = reason; // as typed since the plan was asked for
        }
        allowRecording();
        filled.forEach(function (id) { refill(page, id); });
        var chart = page.getElementById("from-chart");
        var note = document.getElementById("from-chart");
        if (note && !chart) {
          note.remove();
        } else if (note && chart) {
          note.innerHTML = chart.innerHTML;
        } else if (chart && !note) {
          document.getElementById("filled_from").insertAdjacentElement("afterend", chart);
        }
        if (name && document.activeElement !== active) {
          var again = form.elements.namedItem(name);
          if (again && again.focus) {
            if (typing) {
              again.value = typed; // exactly as typed, e.g. "10." on the way to "10.5"
            }
            again.focus();
            if (caret !== null && typeof again.setSelectionRange === "function") {
              try { again.setSelectionRange(caret[0], caret[1], caret[2]); } catch (ignored) { /* no caret */ }
            }
          }
        }
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
  // The override field sits beside the record button, outside the form (it belongs to it by its form attribute).
  document.addEventListener("input", function (event) {
    if (event.target.id === "override_reason") {
      allowRecording();
    }
  });
})();
