// The diary card's print button: shown only where a script runs (without one, the browser's own Print works).
(function () {
  "use strict";
  var button = document.querySelector("button[data-print]");
  if (!button || !window.print) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
})();
