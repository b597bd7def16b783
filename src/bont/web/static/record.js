// Record form: a barcode scanner types the lot and ends with Enter. Enter in a lot field looks the lot up
// among the vials already listed (choosing the vial in that row, or saying "no such lot" beside the field)
// and moves on to the units drawn; it never submits. Without this script, Enter submits with the form's
// first button, "Look up the lots", and the server shows the form again: only the "Record" button records.
// "Add a vial" adds a vial row here (without the script the server shows the form with one more row).
// The running total of the units given per site follows what is typed.
// A blocked session's "Record" button stays disabled until the clinician's override field holds a reason
// (without this script the button posts and the server refuses the session without one).
(function () {
  "use strict";
  var form = document.querySelector("form.record-form");
  if (!form) {
    return;
  }
  function lookUpOnEnter(input) {
    var row = input.dataset.row;
    var select = document.getElementById("vial-" + row);
    var status = document.getElementById("lot-" + row + "-status");
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") {
        return;
      }
      event.preventDefault();
      var lot = input.value.trim();
      if (!lot) {
        status.textContent = "";
        status.className = "lot-status";
        return;
      }
      // As the server reads a scanned lot: an open vial of it holding the units drawn, else a new vial of it.
      var drawn = Number(document.getElementById("drawn-" + row).value.trim() || "0") || 0;
      var open = null;
      var sealed = null;
      var any = null;
      Array.prototype.forEach.call(select.options, function (option) {
        if (option.dataset.lot !== lot) {
          return;
        }
        any = any || option;
        if (option.value.indexOf("vial:") === 0) {
          open = open || (Number(option.dataset.units) >= drawn ? option : null);
        } else {
          sealed = sealed || option;
        }
      });
      var match = open || sealed || any;
      if (!match) {
        status.textContent = "no such lot";
        status.className = "lot-status unknown";
        input.select();
        return;
      }
      select.value = match.value;
      status.textContent = "found";
      status.className = "lot-status";
      document.getElementById("drawn-" + row).focus();
    });
  }
  Array.prototype.forEach.call(form.querySelectorAll("input.lot"), lookUpOnEnter);

  var rows = document.getElementById("vial-rows");
  var template = document.getElementById("vial-row-template");
  var add = document.getElementById("add-vial");
  if (rows && template && add) {
    add.addEventListener("click", function (event) {
      var next = Number(rows.dataset.nextRow);
      if (next > Number(rows.dataset.maximumRows)) {
        return; // the server shows the form again, with no row added past the most a form reads
      }
      event.preventDefault();
      var holder = document.createElement("tbody");
      holder.innerHTML = template.innerHTML.replace(/__row__/g, String(next));
      var row = holder.querySelector("tr.vial-row");
      rows.appendChild(row);
      rows.dataset.nextRow = String(next + 1);
      lookUpOnEnter(row.querySelector("input.lot"));
      row.querySelector("input.lot").focus();
    });
  }

  var total = document.getElementById("units-total");
  var sites = form.querySelectorAll("input.site-units");
  function update() {
    var sum = 0;
    Array.prototype.forEach.call(sites, function (input) {
      var units = Number(input.value.trim() || "0");
      if (isFinite(units) && units > 0) {
        sum += units;
      }
    });
    total.textContent = String(Math.round(sum * 1000) / 1000);
  }
  Array.prototype.forEach.call(sites, function (input) {
    input.addEventListener("input", update);
  });

  var record = form.querySelector("[data-needs-override]");
  var reason = record && document.getElementById(record.dataset.needsOverride);
  if (reason) {
    var allow = function () { record.disabled = !reason.value.trim(); };
    reason.addEventListener("input", allow);
    allow();
  }
})();
