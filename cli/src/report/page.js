// Draws the report from the JSON in #report-data. Rows are virtualised: only those in
// view are in the document, so a run of tens of thousands of events scrolls as fast as
// one of ten. Every string from the events is set with textContent, never parsed as HTML.
(function () {
  "use strict";

  var ROW = 24; // keep in step with --row in the CSS
  var OVERSCAN = 10;
  var INDENT = 16;
  // Rows shown before anything is clicked: whole tree levels are opened while they fit.
  var OPEN_BUDGET = 400;
  // Failures are what people open a report for; the path to this many is opened.
  var OPEN_FAILURES = 25;
  var KINDS = ["SUCCESS", "FAILURE", "CANCELLED", "TIMED_OUT", "SKIPPED", "RUNNING"];
  var WORDS = {
    SUCCESS: "succeeded", FAILURE: "failed", CANCELLED: "cancelled",
    TIMED_OUT: "timed out", SKIPPED: "skipped", RUNNING: "running"
  };
  var ICONS = {
    SUCCESS: "\u2714", FAILURE: "\u2718", CANCELLED: "\u2298",
    TIMED_OUT: "\u23F1", SKIPPED: "\u21B7", RUNNING: "\u25CF"
  };
  var STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 250, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4,
    6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5, 432e5, 864e5];

  var data = JSON.parse(document.getElementById("report-data").textContent);
  var byId = function (id) { return document.getElementById(id); };
  var scroller = byId("scroller");
  var canvas = byId("canvas");
  var rowsLayer = byId("rows");
  var details = byId("details");

  var run = null;
  var nodes = [];
  var collapsed = null;
  var visible = [];
  var selected = -1;
  var matched = new Uint8Array(0);
  var span = 1;
  // The part of the run the timeline shows: all of it, or one event after "Zoom".
  var viewStart = 0;
  var viewSpan = 1;

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function state(node) { return node.c || "RUNNING"; }
  function stateClass(name) { return "c-" + name.toLowerCase().replace("_", "-"); }

  function trimNum(x, digits) {
    return String(Number(x.toFixed(digits)));
  }
  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  function formatDuration(ms) {
    if (ms === null || ms === undefined) return "running";
    if (ms < 10) return trimNum(ms, 2) + " ms";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 1e4) return (ms / 1000).toFixed(2) + " s";
    if (ms < 6e4) return (ms / 1000).toFixed(1) + " s";
    var s = Math.floor(ms / 1000);
    if (ms < 36e5) return Math.floor(s / 60) + "m " + pad2(s % 60) + "s";
    return Math.floor(s / 3600) + "h " + pad2(Math.floor(s / 60) % 60) + "m";
  }

  function formatTick(ms) {
    if (ms === 0) return "0";
    if (ms < 1000) return trimNum(ms, 1) + " ms";
    if (ms < 6e4) return trimNum(ms / 1000, 2) + " s";
    var s = Math.round(ms / 1000);
    if (ms < 36e5) return Math.floor(s / 60) + "m" + (s % 60 ? " " + pad2(s % 60) + "s" : "");
    var m = Math.floor(s / 60);
    return Math.floor(m / 60) + "h" + (m % 60 ? " " + pad2(m % 60) + "m" : "");
  }

  function formatTime(epochMs) {
    var date = new Date(epochMs);
    // A file can hold any number; past year 275760 a Date is invalid and would throw.
    if (isNaN(date.getTime())) return epochMs + " ms after 1970";
    return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function grouped(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function tagText(v) {
    return typeof v === "number" ? String(v) : v;
  }

  // Opens whole levels while the rows they show fit the budget, then the paths to the
  // first failures, so a big run opens readable and its failures in sight.
  function defaultCollapsed() {
    var n = nodes.length;
    var closed = new Uint8Array(n);
    var perDepth = [];
    var i;
    for (i = 0; i < n; i++) perDepth[nodes[i].d] = (perDepth[nodes[i].d] || 0) + 1;
    var open = 0;
    var shown = perDepth[0] || 0;
    while (open + 1 < perDepth.length && shown + (perDepth[open + 1] || 0) <= OPEN_BUDGET) {
      shown += perDepth[open + 1] || 0;
      open++;
    }
    for (i = 0; i < n; i++) if (nodes[i].z > 1 && nodes[i].d >= open) closed[i] = 1;
    var failures = 0;
    for (i = 0; i < n && failures < OPEN_FAILURES; i++) {
      if (nodes[i].c === "FAILURE" || nodes[i].c === "TIMED_OUT") {
        for (var p = nodes[i].p; p !== null && p !== undefined; p = nodes[p].p) closed[p] = 0;
        failures++;
      }
    }
    return closed;
  }

  // Depth-first order makes a subtree a contiguous slice of z nodes: a closed node skips it.
  function computeVisible() {
    visible = [];
    for (var i = 0; i < nodes.length; i += collapsed[i] ? nodes[i].z : 1) visible.push(i);
  }

  function drawHeader() {
    var name = run ? run.name : "No events";
    byId("run-name").textContent = name;
    document.title = name + " \u2014 CI run report";
    var meta = byId("run-meta");
    meta.textContent = "";
    if (run) {
      meta.appendChild(el("span", "", "Started " + formatTime(run.start) + " \u00B7 total "));
      var total = el("span", "total", formatDuration(run.total));
      total.id = "run-total";
      meta.appendChild(total);
      meta.appendChild(el("span", "", " \u00B7 " + grouped(nodes.length) + (nodes.length === 1 ? " event" : " events") +
        (data.source ? " \u00B7 " + data.source : "")));
    }
    var chips = byId("counts");
    chips.textContent = "";
    KINDS.forEach(function (kind) {
      var n = run ? run.counts[kind] || 0 : 0;
      var chip = el("span", "chip " + stateClass(kind) + (n ? "" : " zero"));
      chip.id = "count-" + kind;
      chip.setAttribute("data-count", String(n));
      chip.title = n + " " + WORDS[kind];
      chip.appendChild(el("span", "swatch"));
      chip.appendChild(el("b", "", grouped(n)));
      chip.appendChild(el("span", "", WORDS[kind]));
      chips.appendChild(chip);
    });
  }

  function trackWidth() {
    var axisTrack = byId("ticks");
    return axisTrack.clientWidth || 600;
  }

  function drawAxis() {
    var ticks = byId("ticks");
    var grid = byId("grid");
    ticks.textContent = "";
    grid.textContent = "";
    var want = Math.max(2, Math.floor(trackWidth() / 100));
    // Past the longest nice step (a file whose times are years apart) any step that keeps
    // the tick count bounded will do.
    var step = Math.ceil(viewSpan / want);
    for (var i = 0; i < STEPS.length; i++) {
      if (viewSpan / STEPS[i] <= want) { step = STEPS[i]; break; }
    }
    for (var t = Math.ceil(viewStart / step) * step; t <= viewStart + viewSpan + 1e-9; t += step) {
      var left = ((t - viewStart) / viewSpan) * 100 + "%";
      var tick = el("div", "tick");
      tick.style.left = left;
      tick.appendChild(el("span", "", formatTick(t)));
      ticks.appendChild(tick);
      var line = el("div", "gridline");
      line.style.left = left;
      grid.appendChild(line);
    }
  }

  // The duration to print: the precise duration_ms metric when the event has one.
  function shownDuration(node) {
    if (node.e === null || node.e === undefined) return null;
    return node.ms !== undefined ? node.ms : node.e;
  }

  function drawRow(index, position) {
    var node = nodes[index];
    var kind = state(node);
    var row = el("div", "row " + stateClass(kind) + (position % 2 ? " odd" : "") +
      (index === selected ? " selected" : "") + (matched[index] ? " match" : ""));
    row.style.top = position * ROW + "px";
    row.setAttribute("data-i", String(index));

    var label = el("div", "label");
    label.style.paddingLeft = 6 + node.d * INDENT + "px";
    var hasChildren = node.z > 1;
    label.appendChild(el("span", "toggle", hasChildren ? (collapsed[index] ? "\u25B8" : "\u25BE") : ""));
    label.appendChild(el("span", "icon", ICONS[kind]));
    label.appendChild(el("span", "name", node.n));
    if (node.k) label.appendChild(el("span", "kind", node.k));
    if (hasChildren && collapsed[index]) label.appendChild(el("span", "more", "+" + (node.z - 1)));
    row.appendChild(label);

    var track = el("div", "track");
    var length = node.e === null || node.e === undefined ? Math.max(run.total - node.s, 0) : node.e;
    var left = ((node.s - viewStart) / viewSpan) * 100;
    var width = (length / viewSpan) * 100;
    var text = el("span", "dur", formatDuration(shownDuration(node)));
    // Zoomed in, a bar can lie wholly outside the view: its duration points the way to it.
    if (left + width < 0) {
      text.textContent = "\u2190 " + text.textContent;
      text.style.left = "0";
    } else if (left > 100) {
      text.textContent += " \u2192";
      text.style.right = "0";
    } else {
      // Clipped to the view, so a long bar of a zoomed view does not stretch the page.
      var from = Math.max(left, -1);
      var to = Math.min(left + width, 101);
      left = from;
      width = to - from;
      var bar = el("div", "bar");
      bar.style.left = left + "%";
      bar.style.width = width + "%";
      track.appendChild(bar);
    }
    if (text.style.left || text.style.right) {
      // Already pinned to an edge of the view.
    } else if (left + width <= 80) {
      text.style.left = left + width + "%";
    } else if (width >= 12) {
      text.className += " inside";
      text.style.right = 100 - left - width + "%";
    } else {
      text.style.right = 100 - left + "%";
    }
    track.appendChild(text);
    row.appendChild(track);
    row.title = node.n + " \u2014 " + WORDS[kind] + ", " + formatDuration(shownDuration(node));
    return row;
  }

  function drawRows() {
    var top = scroller.scrollTop - canvas.offsetTop;
    var first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    var last = Math.min(visible.length, Math.ceil((top + scroller.clientHeight) / ROW) + OVERSCAN);
    var fragment = document.createDocumentFragment();
    for (var position = first; position < last; position++) {
      fragment.appendChild(drawRow(visible[position], position));
    }
    rowsLayer.textContent = "";
    rowsLayer.appendChild(fragment);
  }

  function layout() {
    computeVisible();
    canvas.style.height = visible.length * ROW + "px";
    drawAxis();
    drawRows();
  }

  function kvTable(pairs) {
    if (!pairs.length) return el("div", "empty", "none");
    var table = el("table", "kv");
    pairs.forEach(function (pair) {
      var tr = el("tr");
      tr.appendChild(el("td", "", pair[0]));
      tr.appendChild(el("td", "", pair[1]));
      table.appendChild(tr);
    });
    return table;
  }

  function showDetails(index) {
    var node = nodes[index];
    var kind = state(node);
    details.textContent = "";
    var close = el("button", "close", "\u00D7");
    close.type = "button";
    close.title = "Close (Esc)";
    close.addEventListener("click", function () { select(-1); });
    details.appendChild(close);
    details.appendChild(el("h2", "", node.n));
    var pill = el("span", "pill " + stateClass(kind), WORDS[kind]);
    pill.id = "detail-conclusion";
    details.appendChild(pill);
    var zoom = el("button", "zoom", "Zoom to this event");
    zoom.type = "button";
    zoom.id = "zoom-to";
    zoom.title = "Show only this event's time on the timeline (Z)";
    zoom.addEventListener("click", function () { zoomTo(index); });
    details.appendChild(zoom);

    var parent = node.p === null || node.p === undefined ? null : nodes[node.p];
    var facts = [
      ["Conclusion", node.c || "none (still running)"],
      ["Duration", formatDuration(shownDuration(node))],
      ["Start", "+" + formatDuration(node.s) + " (" + formatTime(run.start + node.s) + ")"],
      ["Kind", node.k || "\u2014"],
      ["Key", node.y || "\u2014"],
      ["Platform", node.pl || "\u2014"],
      ["Event id", node.i],
      ["Parent", parent ? parent.n + " (" + parent.i + ")" : node.pe ? node.pe + " (not in this file)" : "none (root)"],
      ["Chain id", run.chain],
      ["Descendants", String(node.z - 1)]
    ];
    details.appendChild(el("h3", "", "Event"));
    details.appendChild(kvTable(facts));
    details.appendChild(el("h3", "", "Tags"));
    details.appendChild(kvTable((node.t || []).map(function (t) { return [t[0], tagText(t[1])]; })));
    details.appendChild(el("h3", "", "Metrics"));
    details.appendChild(kvTable((node.m || []).map(function (m) { return [m[0], m[1] === null ? "not a number" : String(m[1])]; })));
    if (node.q && node.q.length) {
      details.appendChild(el("h3", "", "Sequence tags"));
      details.appendChild(kvTable(node.q.map(function (t) { return [t[0], tagText(t[1])]; })));
    }
  }

  function select(index) {
    var wasOpen = !details.hidden;
    selected = index;
    if (index < 0) {
      details.hidden = true;
    } else {
      showDetails(index);
      details.hidden = false;
    }
    // The panel takes width from the timeline, so the axis is redrawn when it opens or closes.
    if (wasOpen !== !details.hidden) drawAxis();
    drawRows();
  }

  function setView(start, length) {
    viewStart = start;
    viewSpan = Math.max(length, 1);
    var zoomed = viewStart !== 0 || viewSpan !== span;
    byId("zoom-reset").hidden = !zoomed;
    byId("view-range").textContent = zoomed
      ? formatTick(Math.max(viewStart, 0)) + " \u2013 " + formatTick(viewStart + viewSpan)
      : "";
    drawAxis();
    drawRows();
  }

  function zoomTo(index) {
    var node = nodes[index];
    var length = node.e === null || node.e === undefined ? Math.max(run.total - node.s, 0) : node.e;
    var margin = Math.max(length, 1) * 0.03;
    setView(Math.max(node.s - margin, 0), Math.max(length, 1) + 2 * margin);
  }

  function toggle(index) {
    if (nodes[index].z <= 1) return;
    collapsed[index] = collapsed[index] ? 0 : 1;
    layout();
  }

  function scrollToRow(index) {
    var position = visible.indexOf(index);
    if (position < 0) return;
    var top = canvas.offsetTop + position * ROW;
    var axisHeight = canvas.offsetTop;
    if (top - axisHeight < scroller.scrollTop) scroller.scrollTop = top - axisHeight;
    else if (top + ROW > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = top + ROW - scroller.clientHeight;
  }

  // The name column fits the deepest, longest label it has to show, within bounds that
  // leave the timeline most of the width.
  function fitLabels() {
    var widest = 0;
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var chars = Math.min(node.n.length + (node.k ? node.k.length + 1 : 0), 60);
      widest = Math.max(widest, node.d * INDENT + chars * 7.5);
    }
    var width = Math.round(Math.min(Math.max(widest + 90, 260), 520));
    document.documentElement.style.setProperty("--label-w", width + "px");
  }

  function showRun(index) {
    run = data.runs[index] || null;
    nodes = run ? run.nodes : [];
    fitLabels();
    span = run ? Math.max(run.total, 1) : 1;
    viewStart = 0;
    viewSpan = span;
    byId("zoom-reset").hidden = true;
    byId("view-range").textContent = "";
    collapsed = defaultCollapsed();
    selected = -1;
    matched = new Uint8Array(nodes.length);
    finder.value = "";
    findCount.textContent = "";
    details.hidden = true;
    scroller.scrollTop = 0;
    drawHeader();
    layout();
  }

  rowsLayer.addEventListener("click", function (event) {
    var row = event.target.closest(".row");
    if (!row) return;
    var index = Number(row.getAttribute("data-i"));
    if (event.target.classList.contains("toggle")) toggle(index);
    else select(index === selected ? -1 : index);
  });
  rowsLayer.addEventListener("dblclick", function (event) {
    var row = event.target.closest(".row");
    if (row && !event.target.classList.contains("toggle")) toggle(Number(row.getAttribute("data-i")));
  });

  var pending = false;
  scroller.addEventListener("scroll", function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; drawRows(); });
  });
  window.addEventListener("resize", function () { drawAxis(); drawRows(); });

  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "SELECT" || event.target.tagName === "INPUT") return;
    if (event.key === "Escape") { select(-1); return; }
    if (event.key === "0") { setView(0, span); return; }
    if (selected < 0) return;
    if (event.key === "z" || event.key === "Z") { zoomTo(selected); return; }
    var position = visible.indexOf(selected);
    var node = nodes[selected];
    var next = -1;
    if (event.key === "ArrowDown") next = visible[Math.min(position + 1, visible.length - 1)];
    else if (event.key === "ArrowUp") next = visible[Math.max(position - 1, 0)];
    else if (event.key === "ArrowRight" && node.z > 1 && collapsed[selected]) { toggle(selected); }
    else if (event.key === "ArrowLeft") {
      if (node.z > 1 && !collapsed[selected]) toggle(selected);
      else if (node.p !== null && node.p !== undefined) next = node.p;
    } else return;
    event.preventDefault();
    if (next >= 0) { select(next); scrollToRow(next); }
  });

  byId("zoom-reset").addEventListener("click", function () { setView(0, span); });
  byId("expand-all").addEventListener("click", function () {
    collapsed = new Uint8Array(nodes.length);
    layout();
  });
  byId("collapse-all").addEventListener("click", function () {
    collapsed = new Uint8Array(nodes.length);
    for (var i = 0; i < nodes.length; i++) if (nodes[i].z > 1 && nodes[i].d >= 1) collapsed[i] = 1;
    layout();
  });

  var picker = byId("run-select");
  if (data.runs.length > 1) {
    data.runs.forEach(function (r, i) {
      picker.appendChild(el("option", "", r.name + " \u2014 " + formatTime(r.start) + " (" + r.nodes.length + " events)"));
      picker.lastChild.value = String(i);
    });
    picker.hidden = false;
    picker.addEventListener("change", function () { showRun(Number(picker.value)); });
  }

  // Opens the folds above a row, chooses it and scrolls it into view.
  function goTo(index) {
    for (var p = nodes[index].p; p !== null && p !== undefined; p = nodes[p].p) collapsed[p] = 0;
    layout();
    select(index);
    scrollToRow(index);
  }

  // Find: rows whose name, key or id contain the text are marked; Enter goes to the next
  // one (Shift+Enter the previous), opening the folds above it.
  var finder = byId("find");
  var findCount = byId("find-count");
  var matches = [];
  var matchAt = -1;
  function updateMatches() {
    var query = finder.value.trim().toLowerCase();
    matched = new Uint8Array(nodes.length);
    matches = [];
    matchAt = -1;
    if (query) {
      for (var i = 0; i < nodes.length; i++) {
        var node = nodes[i];
        if (node.n.toLowerCase().indexOf(query) >= 0 || (node.y || "").toLowerCase().indexOf(query) >= 0 ||
            node.i.toLowerCase().indexOf(query) >= 0) {
          matched[i] = 1;
          matches.push(i);
        }
      }
    }
    findCount.textContent = query ? (matches.length ? grouped(matches.length) + " found" : "none found") : "";
    drawRows();
  }
  finder.addEventListener("input", updateMatches);
  finder.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { finder.value = ""; updateMatches(); finder.blur(); return; }
    if (event.key !== "Enter" || !matches.length) return;
    event.preventDefault();
    matchAt = (matchAt + (event.shiftKey ? matches.length - 1 : 1)) % matches.length;
    findCount.textContent = grouped(matchAt + 1) + " of " + grouped(matches.length);
    goTo(matches[matchAt]);
  });

  // A link can point at one event: page.html#event=<id> opens the path to it and its
  // details, page.html#zoom=<id> also fits the timeline to it.
  function reveal(id, zoom) {
    for (var r = 0; r < data.runs.length; r++) {
      var found = data.runs[r].nodes.findIndex(function (node) { return node.i === id; });
      if (found < 0) continue;
      if (data.runs[r] !== run) { picker.value = String(r); showRun(r); }
      goTo(found);
      if (zoom) zoomTo(found);
      return;
    }
  }

  showRun(0);
  var wanted = /^#(event|zoom)=(.+)$/.exec(window.location.hash);
  if (wanted) reveal(decodeURIComponent(wanted[2]), wanted[1] === "zoom");
})();
