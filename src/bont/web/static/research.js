// Cohort builder: as criteria are typed, show the cohort's size (patients and sessions, small counts suppressed)
// or what is wrong with a criterion. Without this script the size is shown with the analyses.
(function () {
  "use strict";
  var form = document.getElementById("cohort-form");
  var output = document.getElementById("cohort-size");
  if (!form || !output || !window.fetch) {
    return;
  }
  var timer = null;
  var latest = 0;
  function cell(found, row, column) {
    return row[column] === null ? found.suppressed_as : row[column];
  }
  function update() {
    var asked = ++latest;
    var query = new URLSearchParams(new FormData(form)).toString();
    fetch(form.dataset.size + "?" + query, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (found) {
        if (asked !== latest) {
          return;
        }
        if (found.problem) {
          output.textContent = found.field + ": " + found.problem;
          return;
        }
        var row = found.rows[0] || {};
        // A withheld size says why, as the analyses page does.
        output.textContent = "Cohort size: " + cell(found, row, "patients") + " patients, "
          + cell(found, row, "sessions") + " sessions" + (found.suppressed ? ". " + found.suppression : "");
      })
      .catch(function () { /* the size is shown with the analyses */ });
  }
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 300);
  });
  update();
})();
