// The plan builder's anatomic canvas: tap a drawing to add a site to the nearest muscle of the protocol, drag a
// site to move it, select one (click, or Tab to it) to remove it with the button, Delete or Backspace, or move it
// with the arrow keys. Each change is made in the form's own fields (the row's tick, side, units and sites, and
// the hidden "placed" positions), so the live update (plan.js) plans and checks it again exactly as if the
// clinician had typed it. Where a row's units are given, they follow its sites (the dose per site is kept).
//
// A row's sites follow the planner's rules: a row dosed per treated side, or a standard row the protocol injects
// on both sides alike, gains or loses a site on each side; a follow-the-pain row stays on its one side. A site's
// position is kept under its muscle, side and place among that muscle's sites on that side ("placed"): when a
// change shifts those places, the sites after it are kept where they are drawn.
(function () {
  "use strict";
  var form = document.getElementById("plan-form");
  if (!form || !window.JSON) {
    return;
  }
  // A tap farther from every muscle's point than this share of the view's width adds nothing (a muscle is drawn
  // as one point; its belly spreads around it).
  var REACH = 0.15;
  var selectedKey = null;
  var focusedKey = null;
  var lastStatus = "";
  var drag = null;
  var busy = null; // while a change is being planned, the sites on the page are not yet the form's

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

  function other(side) { return side === "left" ? "right" : "left"; }

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
    if ((side !== "left" && side !== "right") || x === 50) { return x; }
    return sideOf(drawing, x) === side ? x : 50;
  }

  // The drawn sites of a muscle on a side, in their places (the standard rows' first, then follow-the-pain).
  function sitesOf(muscle, side) {
    var found = document.querySelectorAll("g.site[data-muscle='" + muscle + "'][data-side='" + side + "']");
    return Array.prototype.slice.call(found).sort(function (a, b) {
      return Number(a.dataset.key.split(":")[2]) - Number(b.dataset.key.split(":")[2]);
    });
  }

  function positionOf(site) {
    return site.ownerSVGElement.dataset.drawing + ":" + site.dataset.x + "," + site.dataset.y;
  }

  // Give a muscle's sites on a side their new places: ``order`` lists them as they will be (a drawn site, a
  // position text for a new site put somewhere, or null for a new site bont places). Sites whose place does not
  // change keep what they had; the others are kept where they are drawn.
  function reorder(placed, muscle, side, order) {
    var before = {};
    sitesOf(muscle, side).forEach(function (site) { before[site.dataset.key] = placed[site.dataset.key]; });
    Object.keys(placed).forEach(function (key) {
      if (key.indexOf(muscle + ":" + side + ":") === 0) { delete placed[key]; }
    });
    order.forEach(function (item, place) {
      var key = muscle + ":" + side + ":" + place;
      if (item === null) { return; }
      if (typeof item === "string") { placed[key] = item; return; }
      if (item.dataset.key === key) {
        if (before[key]) { placed[key] = before[key]; }
      } else {
        placed[key] = positionOf(item);
      }
    });
  }

  function standard(sites) { return sites.filter(function (s) { return s.dataset.optional !== "1"; }); }

  function followThePain(sites) { return sites.filter(function (s) { return s.dataset.optional === "1"; }); }

  // A new site of the row on a side: after the standard sites for a standard row, last for a follow-the-pain one.
  function withNew(placed, row, side, item) {
    var sites = sitesOf(row.muscle, side);
    var order = row.optional ? sites.concat([item])
      : standard(sites).concat([item], followThePain(sites));
    reorder(placed, row.muscle, side, order);
  }

  // Without a site: ``site`` itself, or the last of the row's kind on that side.
  function without(placed, muscle, side, site, optional) {
    var sites = sitesOf(muscle, side);
    var gone = site || (optional ? followThePain(sites) : standard(sites)).slice(-1)[0];
    reorder(placed, muscle, side, sites.filter(function (s) { return s !== gone; }));
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
    busy = setTimeout(function () { busy = null; }, 4000); // in case no answer comes back
    element.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function nearestRow(svg, x, y, side) {
    var drawing = svg.dataset.drawing;
    var reach = REACH * svg.viewBox.baseVal.width;
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
    return best && best.distance <= reach ? best : null;
  }

  function named(row, side) { return row.name + (side !== "midline" ? ", " + side : ""); }

  function add(svg, event) {
    if (busy) {
      say("The plan is being updated: tap again in a moment.");
      return;
    }
    var drawing = svg.dataset.drawing;
    var at = pointIn(svg, event);
    var nearest = nearestRow(svg, at.x, at.y, sideOf(drawing, at.x));
    if (!nearest) {
      say("No muscle of this protocol is drawn near here: choose the muscle in the table below.");
      return;
    }
    var row = nearest.row;
    var index = row.row;
    var side = nearest.side;
    var give = field("give:" + index);
    var tapped = drawing + ":" + at.x + "," + at.y;
    var placed = placedMap();
    var message = "Site added to " + named(row, side) + ".";
    if (!give.checked) {
      give.checked = true;
      if (row.laterality === "per-side" || (row.laterality === "bilateral" && row.optional)) {
        field("side:" + index).value = side;
      }
      if (row.optional) { field("sites:" + index).value = "1"; }
      withNew(placed, row, side, tapped);
      message = row.name + " added" + (row.optional ? " on the " + side : ", with its protocol's sites") + ".";
    } else if (row.laterality === "per-side") {
      var planned = rowSide(index);
      if (planned === side || planned === "both") {
        setCount(index, count(index), 1);
        withNew(placed, row, side, tapped);
        if (planned === "both") {
          withNew(placed, row, other(side), null);
          message = "A site added to " + row.name + " on each side: it is dosed per treated side.";
        }
      } else {
        field("side:" + index).value = "both";
        withNew(placed, row, side, tapped);
        message = row.name + " is now given on both sides, the same dose on each.";
      }
    } else if (row.laterality === "bilateral" && row.optional) {
      if (rowSide(index) !== side) {
        say("Follow-the-pain sites of " + row.name + " go on one side, the " + rowSide(index) +
          ": choose its side in the table to change it.");
        return;
      }
      setCount(index, count(index), 1);
      withNew(placed, row, side, tapped);
    } else if (row.laterality === "bilateral") {
      setCount(index, count(index), 2);
      withNew(placed, row, side, tapped);
      withNew(placed, row, other(side), null);
      message = "A site added to " + row.name + " on each side: the protocol injects both sides alike.";
    } else {
      setCount(index, count(index), 1);
      withNew(placed, row, side, tapped);
    }
    writePlaced(placed);
    say(message);
    changed(give);
  }

  function rowOfSite(site) {
    var optional = site.dataset.optional === "1";
    return tapRows().filter(function (row) {
      return row.muscle === site.dataset.muscle && row.optional === optional && field("give:" + row.row).checked;
    })[0] || null;
  }

  function remove(site) {
    if (busy) {
      say("The plan is being updated: remove the site again in a moment.");
      return;
    }
    var row = rowOfSite(site);
    if (!row) { return; }
    var index = row.row;
    var side = site.dataset.side;
    var sites = count(index);
    var placed = placedMap();
    var message = "Site removed from " + named(row, side) + ".";
    without(placed, row.muscle, side, site, row.optional);
    if (row.laterality === "per-side") {
      var planned = rowSide(index);
      if (sites > 1) {
        setCount(index, sites, -1);
        if (planned === "both") {
          without(placed, row.muscle, other(side), null, false);
          message = "A site removed from " + row.name + " on each side: it is dosed per treated side.";
        }
      } else if (planned === "both") {
        field("side:" + index).value = other(side);
        Object.keys(placed).forEach(function (key) {
          if (key.indexOf(row.muscle + ":" + side + ":") === 0) { delete placed[key]; }
        });
        message = row.name + " is now given on the " + other(side) + " only.";
      } else {
        field("give:" + index).checked = false;
      }
    } else if (row.laterality === "bilateral" && !row.optional) {
      if (sites > 2) {
        setCount(index, sites, -2);
        without(placed, row.muscle, other(side), null, false);
        message = "A site removed from " + row.name + " on each side: the protocol injects both sides alike.";
      } else {
        field("give:" + index).checked = false;
      }
    } else if (sites > 1) {
      setCount(index, sites, -1);
    } else {
      field("give:" + index).checked = false;
    }
    var neighbour = sitesOf(row.muscle, side).filter(function (s) { return s !== site; })[0];
    focusedKey = neighbour ? neighbour.dataset.key : null;
    selectedKey = null;
    writePlaced(placed);
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
    placed[site.dataset.key] = positionOf(site);
    writePlaced(placed);
    say("Site moved (line " + site.dataset.row + " of the table).");
    changed(field("placed"));
  }

  function select(site) {
    document.querySelectorAll("g.site.selected").forEach(function (s) { s.classList.remove("selected"); });
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
    event.preventDefault(); // no text selection or scrolling while dragging; focus is given here instead
    site.focus();
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
    if (site) {
      focusedKey = site.dataset.key;
      select(site);
    }
  });

  document.addEventListener("keydown", function (event) {
    var site = event.target.closest && event.target.closest("g.site[tabindex]");
    if (!site) { return; }
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      remove(site);
      return;
    }
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      select(site);
      say("Site selected (line " + site.dataset.row + " of the table): Delete removes it, the arrow keys move it.");
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

  // The live update replaces the canvas: the change has been planned; keep the message, the selection and the
  // keyboard focus across it.
  var result = document.getElementById("plan-result");
  if (result && window.MutationObserver) {
    new MutationObserver(function () {
      if (busy) {
        clearTimeout(busy);
        busy = null;
      }
      var status = document.getElementById("canvas-status");
      if (status && status.textContent !== lastStatus) { status.textContent = lastStatus; }
      var again = selectedKey && document.querySelector("g.site[data-key='" + selectedKey + "']");
      if (again && !again.classList.contains("selected")) { select(again); }
      var focus = focusedKey && document.querySelector("g.site[data-key='" + focusedKey + "']");
      var lost = !document.activeElement || document.activeElement === document.body;
      if (focus && document.activeElement !== focus && lost) {
        focus.focus();
      }
    }).observe(result, { childList: true }); // the swap itself, not the status line's own changes
  }
})();
