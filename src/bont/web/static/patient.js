// Condition picker: as a condition is typed, show the ICD-10-CM title of a code beside it (or say that
// ICD-10-CM does not hold it). The datalist offers the codes bont knows; without this script the titles
// appear when the form is saved or refused.
(function () {
  "use strict";
  if (!window.fetch) {
    return;
  }
  var inputs = document.querySelectorAll("input.condition[data-lookup]");
  Array.prototype.forEach.call(inputs, function (input) {
    var output = document.getElementById(input.id + "-description");
    var timer = null;
    var latest = 0;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var term = input.value.trim();
        var asked = ++latest;
        if (!term) {
          output.textContent = "";
          return;
        }
        fetch(input.dataset.lookup + "?q=" + encodeURIComponent(term), { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (found) {
            if (!found || asked !== latest) {
              return;
            }
            output.textContent = found.description
              || (found.unknown_code ? "not an ICD-10-CM code" : "");
          })
          .catch(function () { /* the title appears when the form is saved */ });
      }, 250);
    });
  });
})();
