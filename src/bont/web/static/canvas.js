// The plan builder's anatomic canvas: tap a drawing to add a site to the nearest muscle of the protocol, drag a
// site to move it, select one (click, or Tab to it) to remove it with the button, Delete or Backspace, or move it
// with the arrow keys. Each change is made in the form's own fields (the row's tick, side, units and sites, and
// the hidden "placed" positions), so the live update (plan.js) plans and checks it again exactly as if the
// clinician had typed it. A row keeps its dose per site when a site is added or removed.
(function () {
  "use strict";
  var form = document.getElementById("plan-form");
  if (!form || !window.JSON) {
    return;
  }
  var selectedKey = null;
  var focusedKey = null;
  var lastStatus = "";
  var drag = null;

  function field(name) { return form.elements.namedItem(name); }

  function tapRows() {
    var data = document.getElementById("canvas-rows");
    return data ? JSON.parse(data.textContent) : [];
  }

  function placedMap() {
    var map = {};
    (field("placed").value || "").split(";").forEach(function (item) {
      var at = item.indexOf("=");
      if (at > 0) { map[item.slice(0, at)] = item.slice(at + 1); }
    });
    return map;
  }

  function writePlaced(map) {
    field("placed").value = Object.keys(map).sort().map(function (key) { return key + "=" + map[key]; }).join(";");
  }

  function say(text) {
    lastStatus = text;
    var status = document.getElementById("canvas-status");
    if (status) { status.textContent = text; }
  }

  function round(value) { return Math.round(value * 10) / 10; }

  function plain(value) { return String(Math.round(value * 100) / 100); }

  function pointIn(svg, event) {
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    var inside = point.matrixTransform(svg.getScreenCTM().inverse());
    return { x: round(Math.min(Math.max(inside.x, 0), 100)), y: round(Math.min(Math.max(inside.y, 0), 100)) };
  }

  // The patient's side a point is on: on the back drawing the patient's right is on the viewer's right.
  function sideOf(drawing, x) {
    var viewerLeft = x < 50;
    return (drawing === "back" ? !viewerLeft : viewerLeft) ? "right" : "left";
  }

  // Keep a paired site on its own half of the drawing (the midline itself is allowed).
  function keepOnSide(drawing, side, x) {
    if (side !== "left" && side !== "right") { return x; }
    return sideOf(drawing, x === 50 ? 49.9 : x) === side || x === 50 ? x : 50;
  }

  function sitesOf(muscle, side) {
    return document.querySelectorAll("g.site[data-muscle='" + muscle + "'][data-side='" + side + "']").length;
  }

  function rowSide(index) {
    var own = field("side:" + index);
    return (own && own.value) || field("side").value || "";
  }

  function count(index) {
    var sites = field("sites:" + index);
    return Number(sites && sites.value) || 0;
  }

  function setCount(index, sites, change) {
    var units = field("units:" + index);
    var perSite = sites > 0 && units && Number(units.value) ? Number(units.value) / sites : 0;
    field("sites:" + index).value = String(sites + change);
    if (perSite && units) { units.value = plain(perSite * (sites + change)); }
  }

  function changed(element) {
    element.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function nearestRow(drawing, x, y, side) {
    var best = null;
    tapRows().forEach(function (row) {
      var sideHere = row.points.midline ? "midline" : side;
      var point = row.points[sideHere];
      if (!point || point[0] !== drawing) { return; }
      var distance = Math.hypot(point[1] - x, point[2] - y);
      // A follow-the-pain row of the same muscle wins a tie: an added site of that muscle is one of those.
      if (!best || distance < best.distance - 0.01 || (Math.abs(distance - best.distance) <= 0.01 && row.optional)) {
        best = { row: row, distance: distance, side: sideHere };
      }
    });
    return best;
  }

  function add(svg, event) {
    var drawing = svg.dataset.drawing;
    var at = pointIn(svg, event);
    var nearest = nearestRow(drawing, at.x, at.y, sideOf(drawing, at.x));
    if (!nearest) {
      say("No muscle of this protocol is drawn here: choose the muscle in the table below.");
      return;
    }
    var row = nearest.row;
    var index = row.row;
    var side = nearest.side;
    var give = field("give:" + index);
    var key = row.muscle + ":" + side + ":" + sitesOf(row.muscle, side);
    var message = "Site added to " + row.name + (side !== "midline" ? ", " + side : "") + ".";
    if (!give.checked) {
      give.checked = true;
      if (row.laterality !== "midline" && field("side:" + index)) { field("side:" + index).value = side; }
      if (row.optional) { field("sites:" + index).value = "1"; }
    } else if (row.laterality === "per-side") {
      var planned = rowSide(index);
      if (planned === side || planned === "both") {
        setCount(index, count(index), 1);
        if (planned === "both") { message = "A site added to " + row.name + " on each side: it is dosed per treated side."; }
      } else {
        field("side:" + index).value = "both";
        message = row.name + " is now given on both sides, the same dose on each.";
      }
    } else {
      var before = count(index);
      setCount(index, before, 1);
      if (row.laterality === "bilateral" && (before + 1) % 2 === 1) { field("side").value = side; }
    }
    var placed = placedMap();
    placed[key] = drawing + ":" + at.x + "," + at.y;
    writePlaced(placed);
    say(message);
    changed(give);
  }

  function rowOfSite(site) {
    var candidates = tapRows().filter(function (row) {
      return row.muscle === site.dataset.muscle && field("give:" + row.row).checked;
    });
    // The latest added sites of a muscle are its follow-the-pain row's.
    return candidates.filter(function (row) { return row.optional; })[0] || candidates[0] || null;
  }

  function remove(site) {
    var row = rowOfSite(site);
    if (!row) { return; }
    var index = row.row;
    var parts = site.dataset.key.split(":");
    var side = parts[1];
    var ordinal = Number(parts[2]);
    var sites = count(index);
    var message = "Site removed from " + row.name + (side !== "midline" ? ", " + side : "") + ".";
    if (row.laterality === "per-side") {
      var planned = rowSide(index);
      if (sites > 1) {
        setCount(index, sites, -1);
        if (planned === "both") { message = "A site removed from " + row.name + " on each side: it is dosed per treated side."; }
      } else if (planned === "both") {
        field("side:" + index).value = side === "left" ? "right" : "left";
      } else {
        field("give:" + index).checked = false;
      }
    } else if (sites > 1) {
      setCount(index, sites, -1);
      if (row.laterality === "bilateral" && (sites - 1) % 2 === 1) { field("side").value = side === "left" ? "right" : "left"; }
    } else {
      field("give:" + index).checked = false;
    }
    var placed = placedMap();
    var kept = {};
    Object.keys(placed).forEach(function (key) {
      var p = key.split(":");
      if (p[0] !== row.muscle || p[1] !== side) { kept[key] = placed[key]; return; }
      var n = Number(p[2]);
      if (n < ordinal) { kept[key] = placed[key]; } else if (n > ordinal) { kept[p[0] + ":" + p[1] + ":" + (n - 1)] = placed[key]; }
    });
    writePlaced(kept);
    selectedKey = null;
    say(message);
    changed(field("give:" + index));
  }

  function place(site, x, y) {
    site.dataset.x = x;
    site.dataset.y = y;
    site.setAttribute("transform", "translate(" + x + " " + y + ")");
  }

  function commitMove(site) {
    var placed = placedMap();
    var svg = site.ownerSVGElement;
    placed[site.dataset.key] = svg.dataset.drawing + ":" + site.dataset.x + "," + site.dataset.y;
    writePlaced(placed);
    say("Site " + site.dataset.row + " moved.");
    changed(field("placed"));
  }

  function select(site) {
    document.querySelectorAll("g.site.selected").forEach(function (other) { other.classList.remove("selected"); });
    selectedKey = site ? site.dataset.key : null;
    if (site) { site.classList.add("selected"); }
    var button = document.getElementById("canvas-remove");
    if (button) { button.disabled = !site; }
  }

  function selected() {
    return selectedKey ? document.querySelector("g.site[data-key='" + selectedKey + "']") : null;
  }

  document.addEventListener("pointerdown", function (event) {
    var site = event.target.closest && event.target.closest("svg[role=group] g.site");
    if (!site) { return; }
    event.preventDefault();
    select(site);
    site.setPointerCapture(event.pointerId);
    drag = { site: site, moved: false, startX: event.clientX, startY: event.clientY };
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    if (Math.hypot(event.clientX - drag.startX, event.clientY - drag.startY) < 4 && !drag.moved) { return; }
    drag.moved = true;
    var svg = drag.site.ownerSVGElement;
    var at = pointIn(svg, event);
    place(drag.site, keepOnSide(svg.dataset.drawing, drag.site.dataset.side, at.x), at.y);
  });

  document.addEventListener("pointerup", function () {
    if (!drag) { return; }
    var moved = drag.moved;
    var site = drag.site;
    drag = null;
    if (moved) { commitMove(site); }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("#canvas-remove")) {
      if (selected()) { remove(selected()); }
      return;
    }
    var svg = event.target.closest && event.target.closest("svg.canvas-drawing[role=group]");
    if (!svg || event.target.closest("g.site")) { return; }
    add(svg, event);
  });

  document.addEventListener("focusin", function (event) {
    var site = event.target.closest && event.target.closest("g.site[tabindex]");
    focusedKey = site ? site.dataset.key : null;
    if (site) { select(site); }
  });

  document.addEventListener("keydown", function (event) {
    var site = event.target.closest && event.target.closest("g.site[tabindex]");
    if (!site) { return; }
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      remove(site);
      return;
    }
    var steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
    if (!steps) { return; }
    event.preventDefault();
    var step = event.shiftKey ? 2 : 0.5;
    var svg = site.ownerSVGElement;
    var x = round(Math.min(Math.max(Number(site.dataset.x) + steps[0] * step, 0), 100));
    var y = round(Math.min(Math.max(Number(site.dataset.y) + steps[1] * step, 0), 100));
    place(site, keepOnSide(svg.dataset.drawing, site.dataset.side, x), y);
    commitMove(site);
  });

  // The live update replaces the canvas: keep the message, the selection and the keyboard focus across it.
  var result = document.getElementById("plan-result");
  if (result && window.MutationObserver) {
    new MutationObserver(function () {
      var status = document.getElementById("canvas-status");
      if (status && status.textContent !== lastStatus) { status.textContent = lastStatus; }
      var again = selectedKey && document.querySelector("g.site[data-key='" + selectedKey + "']");
      if (again && !again.classList.contains("selected")) { select(again); }
      var focus = focusedKey && document.querySelector("g.site[data-key='" + focusedKey + "']");
      if (focus && document.activeElement !== focus && (!document.activeElement || document.activeElement === document.body)) {
        focus.focus();
      }
    }).observe(result, { childList: true, subtree: true });
  }
})();
