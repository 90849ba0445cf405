// The HTML report's drawings (docs/html.md): a Lamport diagram of the
// messages, the history per client and figures over time, all drawn from the
// JSON in <script id="data">. No network, no library: SVG built by hand.
// Errors are counted (window errors, rejected promises, console.error) and
// said in the status element at the end of the page, which a test reads
// from the dumped DOM.
(function () {
  "use strict";
  var errors = [];
  var drawn = { done: false, arrows: 0, operations: 0, plots: 0 };
  function showStatus() {
    var el = document.getElementById("status");
    if (!el) return;
    el.textContent = (drawn.done ? "drawn: " : "not drawn: ") + drawn.arrows + " arrows, " +
      drawn.operations + " operations, " + drawn.plots + " plots, " + errors.length + " errors" +
      (errors.length ? "\n" + errors.join("\n") : "");
  }
  window.addEventListener("error", function (e) {
    errors.push("error: " + (e.message || e));
    showStatus();
  });
  window.addEventListener("unhandledrejection", function (e) {
    errors.push("unhandled rejection: " + e.reason);
    showStatus();
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    showStatus();
    return consoleError.apply(console, arguments);
  };

  var D = JSON.parse(document.getElementById("data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  // At most this many arrows are drawn in one view (evenly chosen); zooming
  // in shows every message of a shorter span.
  var DRAW_MAX = 4000;
  var ROW = 30, TOP = 24, LEFT = 64, RIGHT = 16;

  function el(name, attrs, parent, text) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function tip(e, text) { el("title", {}, e, text); return e; }
  function ms(ns) {
    if (ns === 0) return "0 ms";
    var v = ns / 1e6;
    return (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3)) + " ms";
  }
  function niceStep(span, count) {
    var raw = span / count, p = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
  }
  function width() {
    var w = document.body.clientWidth - 20;
    return Math.max(700, w);
  }

  // Which nodes are shown (the checkboxes), and the time shown [v0, v1].
  var shown = D.nodes.map(function () { return true; });
  var v0 = D.from_ns, v1 = Math.max(D.to_ns, D.from_ns + 1);
  var ROLE_COLOURS = { leader: "#d49a00", candidate: "#8e44ad", coordinator: "#d49a00", primary: "#d49a00" };

  // Crashes and pauses as bands on the node's lifeline, until it restarts
  // or resumes (or the end of the run).
  var downBands = [];
  (function () {
    var open = {};
    D.faults.forEach(function (f) {
      var t = f[0], action = f[1], what = f[2];
      if (action === "crash" || action === "pause") {
        if (!(what in open)) open[what] = [t, action];
      } else if ((action === "restart" || action === "resume") && what in open) {
        downBands.push([open[what][0], t, what, open[what][1]]);
        delete open[what];
      }
    });
    for (var what in open) downBands.push([open[what][0], D.to_ns, what, open[what][1]]);
  })();
  function nodeIndex(name) { return D.nodes.indexOf(name); }

  function axis(svg, x, y0, y1, w) {
    var step = niceStep(v1 - v0, Math.max(2, Math.floor(w / 110)));
    // Whole seconds when the ticks are a second apart or more.
    function label(t) { return step >= 1e9 ? +(t / 1e9).toFixed(3) + " s" : ms(t); }
    for (var t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
      var X = x(t);
      el("line", { x1: X, x2: X, y1: y0, y2: y1, stroke: "#eee" }, svg);
      el("text", { x: X, y: y0 - 6, "text-anchor": X > LEFT + w - 40 ? "end" : "middle", fill: "#666" }, svg, label(t));
    }
  }

  // The lines for the faults' names under the diagram, and their height.
  var FAULT_ROWS = 4, FAULT_ROW = 13;

  function drawDiagram() {
    var svg = document.getElementById("diagram");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var rows = [], rowOf = {};
    D.nodes.forEach(function (n, i) { if (shown[i]) { rowOf[i] = rows.length; rows.push(i); } });
    // Below the lifelines, a line for the faults' names.
    var w = width(), h = TOP + rows.length * ROW + 26;
    svg.setAttribute("width", w);
    svg.setAttribute("height", h);
    var span = v1 - v0, plotW = w - LEFT - RIGHT;
    function x(t) { return LEFT + (t - v0) / span * plotW; }
    function y(i) { return TOP + rowOf[i] * ROW + ROW / 2; }
    var defs = el("defs", {}, svg);
    var m = el("marker", { id: "head", viewBox: "0 0 6 6", refX: 6, refY: 3, markerWidth: 6, markerHeight: 6, orient: "auto" }, defs);
    el("path", { d: "M0,0 L6,3 L0,6 z", fill: "#2e6fbd" }, m);
    axis(svg, x, TOP, h - 10, plotW);
    function clampX(t) { return Math.max(LEFT, Math.min(LEFT + plotW, x(t))); }
    D.partitions.forEach(function (p) {
      if (p[1] < v0 || p[0] > v1) return;
      tip(el("rect", { x: clampX(p[0]), y: TOP, width: Math.max(1, clampX(p[1]) - clampX(p[0])), height: rows.length * ROW, fill: "#f7c6c6", "fill-opacity": 0.35 }, svg),
        "partition in force " + ms(p[0]) + " .. " + ms(p[1]));
    });
    downBands.forEach(function (b) {
      var i = nodeIndex(b[2]);
      if (!(i in rowOf) || b[1] < v0 || b[0] > v1) return;
      tip(el("rect", { x: clampX(b[0]), y: y(i) - 8, width: Math.max(1, clampX(b[1]) - clampX(b[0])), height: 16, fill: "#999", "fill-opacity": 0.35 }, svg),
        b[2] + (b[3] === "crash" ? " crashed " : " paused ") + ms(b[0]) + " .. " + ms(b[1]));
    });
    rows.forEach(function (i) {
      var name = D.nodes[i];
      el("line", { x1: LEFT, x2: LEFT + plotW, y1: y(i), y2: y(i), stroke: name.charAt(0) === "c" ? "#bbb" : "#888" }, svg);
      el("text", { x: 6, y: y(i) + 4, "font-weight": "bold" }, svg, name);
    });
    // A fault's name under the lifelines: the faults of one instant share
    // one label ("crash n5, crash n1, heal"), a node's fault names it, and
    // labels that would overlap go to the next line down (at most
    // FAULT_ROWS; a label with no room left is not drawn, its line's tip
    // still says it).
    var groups = [], labelY = TOP + rows.length * ROW + 20;
    D.faults.forEach(function (f) {
      if (f[0] < v0 || f[0] > v1) return;
      tip(el("line", { x1: x(f[0]), x2: x(f[0]), y1: TOP - 4, y2: labelY - 4, stroke: "#c0392b", "stroke-dasharray": "4 3" }, svg),
        ms(f[0]) + " fault: " + f[1] + " " + f[2]);
      var name = D.nodes.indexOf(f[2]) >= 0 ? f[1] + " " + f[2] : f[1];
      var last = groups[groups.length - 1];
      if (last && last.t === f[0]) last.names.push(name);
      else groups.push({ t: f[0], names: [name] });
    });
    var rowEnds = [];
    groups.forEach(function (g) {
      var at = x(g.t) + 3;
      var text = el("text", { x: at, y: labelY, fill: "#c0392b", "class": "fault-label" }, svg, g.names.join(", "));
      var len = text.getComputedTextLength ? text.getComputedTextLength() : 0;
      if (!(len > 0)) len = text.textContent.length * 7;
      var r = 0;
      while (r < rowEnds.length && rowEnds[r] > at) r++;
      if (r >= FAULT_ROWS) { svg.removeChild(text); return; }
      rowEnds[r] = at + len + 6;
      text.setAttribute("y", labelY + r * FAULT_ROW);
      text.setAttribute("data-end", (at + len).toFixed(1));
    });
    h = Math.max(h, labelY + Math.max(0, rowEnds.length - 1) * FAULT_ROW + 6);
    svg.setAttribute("height", h);
    // The messages in view, both ends' nodes shown.
    var inView = [];
    D.messages.forEach(function (msg, k) {
      var end = msg[1] === null ? D.to_ns : msg[1];
      if (end < v0 || msg[0] > v1) return;
      if (!(msg[2] in rowOf) || !(msg[3] in rowOf)) return;
      inView.push(k);
    });
    var every = Math.max(1, Math.ceil(inView.length / DRAW_MAX));
    // Arrows that end outside the view are cut at its edges.
    var clip = el("clipPath", { id: "view" }, defs);
    el("rect", { x: LEFT, y: 0, width: plotW, height: h }, clip);
    var g = el("g", { "clip-path": "url(#view)" }, svg), arrows = 0;
    for (var j = 0; j < inView.length; j += every) {
      var msg = D.messages[inView[j]];
      var kind = D.kinds[msg[4]], from = D.nodes[msg[2]], to = D.nodes[msg[3]];
      var end = msg[1] === null ? D.to_ns : msg[1];
      var x1 = x(msg[0]), y1 = y(msg[2]), x2 = x(end), y2 = y(msg[3]);
      var title = "#" + msg[6] + " " + kind + " " + from + " → " + to + ", sent " + ms(msg[0]);
      if (msg[5] === 0) {
        tip(el("line", { x1: x1, y1: y1, x2: x2, y2: y2, stroke: "#2e6fbd", "stroke-width": 1, "marker-end": "url(#head)" }, g),
          title + ", delivered " + ms(end) + " (after " + ms(end - msg[0]) + ")");
      } else if (msg[5] === 1) {
        // A drop ends halfway to its receiver, with a cross.
        var xm = x2, ym = (y1 + y2) / 2;
        var d = el("g", {}, g);
        el("line", { x1: x1, y1: y1, x2: xm, y2: ym, stroke: "#c0392b", "stroke-width": 1 }, d);
        el("path", { d: "M" + (xm - 3) + "," + (ym - 3) + " l6,6 m0,-6 l-6,6", stroke: "#c0392b", "stroke-width": 1.5 }, d);
        tip(d, title + ", dropped " + ms(end));
      } else {
        tip(el("line", { x1: x1, y1: y1, x2: x2, y2: y2, stroke: "#999", "stroke-dasharray": "2 2" }, g),
          title + ", not delivered by the end of the run");
      }
      arrows++;
    }
    // A role's name replaces the last one written on the same lifeline when
    // it would overprint it (each marker still shows, with a tooltip).
    var lastLabel = {};
    D.roles.forEach(function (r) {
      if (r[0] < v0 || r[0] > v1 || !(r[1] in rowOf)) return;
      var X = x(r[0]), Y = y(r[1]);
      var c = ROLE_COLOURS[r[3]] || "#2c3e50";
      tip(el("path", { d: "M" + X + "," + (Y - 6) + " l5,6 l-5,6 l-5,-6 z", fill: c, stroke: "#fff" }, svg),
        ms(r[0]) + " " + D.nodes[r[1]] + ": " + r[2] + " → " + r[3]);
      var last = lastLabel[r[1]];
      if (last && X - last.x <= 70) {
        last.text.textContent = r[3];
        last.text.setAttribute("fill", c);
      } else {
        lastLabel[r[1]] = { x: X, text: el("text", { x: X + 5, y: Y - 7, fill: c }, svg, r[3]) };
      }
    });
    D.violations.forEach(function (v) {
      if (v[0] < v0 || v[0] > v1) return;
      tip(el("line", { x1: x(v[0]), x2: x(v[0]), y1: TOP - 4, y2: labelY - 4, stroke: "#9b1c1c", "stroke-width": 3 }, svg),
        ms(v[0]) + " invariant violated: " + v[1] + ": " + v[2]);
    });
    var note = "Showing " + ms(v0) + " .. " + ms(v1) + ": " + inView.length + " messages in view";
    if (every > 1) note += ", " + arrows + " of them drawn (one in every " + every + "): zoom in to see every one";
    note += ". ";
    if (D.messages.length < D.messages_total) {
      note += "The page holds the first " + D.messages.length + " of the " + D.messages_total +
        " messages sent in " + ms(D.from_ns) + " .. " + ms(D.to_ns) +
        " (at most " + D.max_messages + "): those sent up to " + ms(D.messages[D.messages.length - 1][0]) + "; write the page with --html-window FROM..TO for another part of the run.";
    } else {
      note += "The page holds all " + D.messages_total + " messages sent in " + ms(D.from_ns) + " .. " + ms(D.to_ns) + ".";
    }
    [["faults", "faults"], ["roles", "role changes"], ["violations", "invariant violations"]].forEach(function (m) {
      var kept = D[m[0]].length, total = D[m[0] + "_total"];
      if (kept < total) {
        note += " The page holds the first " + kept + " of the " + total + " " + m[1] + " (at most " + D.max_marks +
          "): those up to " + ms(D[m[0]][kept - 1][0]) + (m[0] === "faults" ? ", and the crashed or paused bands they make" : "") +
          "; write the page with --html-window FROM..TO for another part of the run.";
      }
    });
    document.getElementById("lamport-note").textContent = note;
    document.getElementById("t-from").value = +(v0 / 1e6).toFixed(3);
    document.getElementById("t-to").value = +(v1 / 1e6).toFixed(3);
    return arrows;
  }

  var OUTCOME_COLOURS = { ok: "#3c9d4e", fail: "#c0392b", info: "#e67e22", "": "#aaa" };

  function drawHistory() {
    var svg = document.getElementById("ops");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var clients = [], rowOf = {};
    D.operations.forEach(function (o) {
      if (!(o[0] in rowOf) && shown[o[0]]) { rowOf[o[0]] = -1; clients.push(o[0]); }
    });
    clients.sort(function (a, b) { return a - b; });
    clients.forEach(function (c, r) { rowOf[c] = r; });
    var w = width(), h = TOP + clients.length * ROW + 10;
    svg.setAttribute("width", w);
    svg.setAttribute("height", h);
    var span = v1 - v0, plotW = w - LEFT - RIGHT;
    function x(t) { return LEFT + (t - v0) / span * plotW; }
    axis(svg, x, TOP, h - 10, plotW);
    D.partitions.forEach(function (p) {
      if (p[1] < v0 || p[0] > v1) return;
      var a = Math.max(LEFT, x(p[0])), b = Math.min(LEFT + plotW, x(p[1]));
      el("rect", { x: a, y: TOP, width: Math.max(1, b - a), height: clients.length * ROW, fill: "#f7c6c6", "fill-opacity": 0.35 }, svg);
    });
    clients.forEach(function (c) {
      el("text", { x: 6, y: TOP + rowOf[c] * ROW + ROW / 2 + 4, "font-weight": "bold" }, svg, D.nodes[c]);
    });
    var count = 0;
    D.operations.forEach(function (o) {
      if (!(o[0] in rowOf)) return;
      var end = o[2] === null ? D.to_ns : o[2];
      if (end < v0 || o[1] > v1) return;
      var a = Math.max(LEFT, x(o[1])), b = Math.min(LEFT + plotW, x(end));
      var outcome = o[2] === null ? "" : o[3];
      var r = el("rect", { x: a, y: TOP + rowOf[o[0]] * ROW + 6, width: Math.max(1.5, b - a), height: ROW - 12,
        fill: OUTCOME_COLOURS[outcome] || "#888", stroke: "#fff", "stroke-width": 0.5 }, svg);
      // A bar wide enough says what it did, cut to its width with "…".
      var room = Math.floor((b - a - 6) / 6);
      if (room >= 6) {
        var label = o[4] + (o[5] ? " → " + o[5] : "");
        if (label.length > room) label = label.slice(0, room - 1) + "…";
        el("text", { x: a + 3, y: TOP + rowOf[o[0]] * ROW + ROW / 2 + 4, fill: "#fff", "pointer-events": "none" }, svg, label);
      }
      tip(r, D.nodes[o[0]] + " " + o[4] + (o[2] === null ? " (unfinished)" : " → " + outcome + (o[5] ? " " + o[5] : "")) +
        "\ninvoked " + ms(o[1]) + (o[2] === null ? "" : ", took " + ms(o[2] - o[1])));
      count++;
    });
    var blocked = null;
    if (D.blocked) {
      D.operations.forEach(function (o) { if (o[6] === D.blocked.op) blocked = o; });
    }
    if (blocked && blocked[0] in rowOf) {
      var bEnd = blocked[2] === null ? D.to_ns : blocked[2];
      if (bEnd >= v0 && blocked[1] <= v1) {
        var bx = Math.max(LEFT, x(blocked[1])), bw = Math.max(3, Math.min(LEFT + plotW, x(bEnd)) - bx);
        var by = TOP + rowOf[blocked[0]] * ROW;
        tip(el("rect", { x: bx - 2, y: by + 3, width: bw + 4, height: ROW - 6, fill: "none", stroke: "#000", "stroke-width": 2 }, svg),
          "not linearizable: " + D.blocked.what);
        el("path", { d: "M" + (bx + bw / 2 - 5) + "," + (by - 4) + " l10,0 l-5,7 z", fill: "#000" }, svg);
      }
    }
    var note = count + " operations in view (green ok, red fail, orange info: outcome unknown, grey unfinished); hover one for what it did.";
    if (D.operations.length < D.operations_total) {
      note += " The page holds the first " + D.operations.length + " of the " + D.operations_total +
        " operations invoked: those invoked up to " + ms(D.operations[D.operations.length - 1][1]) + ".";
    }
    if (blocked) {
      note += " Not linearizable: the operation marked ▼ (" + D.nodes[blocked[0]] + " " + blocked[4] +
        " → " + blocked[5] + ", invoked " + ms(blocked[1]) + ") could not be placed in any order consistent with " +
        "real time; on key " + D.blocked.key + " it could have seen only " + D.blocked.could_have_seen.join(", ") + ".";
    }
    document.getElementById("history-note").textContent = note;
    return count;
  }

  // One small plot: values per bucket (null: no value), over the window.
  function plot(parent, name, unit, points) {
    var div = document.createElement("div");
    div.className = "plot";
    var h3 = document.createElement("h3");
    h3.textContent = name + (unit ? " (" + unit + ")" : "");
    div.appendChild(h3);
    var W = 440, H = 130, L = 48, B = 18;
    var svg = el("svg", { width: W, height: H }, div);
    var t0 = D.from_ns, t1 = Math.max(D.to_ns, t0 + 1);
    var max = 0;
    points.forEach(function (p) { if (p[1] !== null && p[1] > max) max = p[1]; });
    if (max === 0) max = 1;
    function x(t) { return L + (t - t0) / (t1 - t0) * (W - L - 6); }
    function y(v) { return 6 + (1 - v / max) * (H - B - 6); }
    D.partitions.forEach(function (p) {
      if (p[1] < t0 || p[0] > t1) return;
      el("rect", { x: x(Math.max(t0, p[0])), y: 6, width: Math.max(1, x(Math.min(t1, p[1])) - x(Math.max(t0, p[0]))), height: H - B - 6, fill: "#f7c6c6", "fill-opacity": 0.5 }, svg);
    });
    el("line", { x1: L, x2: W - 6, y1: H - B, y2: H - B, stroke: "#888" }, svg);
    el("line", { x1: L, x2: L, y1: 6, y2: H - B, stroke: "#888" }, svg);
    el("text", { x: L - 4, y: 14, "text-anchor": "end" }, svg, +max.toPrecision(3));
    el("text", { x: L - 4, y: H - B, "text-anchor": "end" }, svg, "0");
    el("text", { x: L, y: H - 4 }, svg, ms(t0));
    el("text", { x: W - 6, y: H - 4, "text-anchor": "end" }, svg, ms(t1));
    // Runs of values as lines; a value with no value beside it (a lone
    // point, which a path would not draw) as a dot.
    var d = "", dots = [];
    points.forEach(function (p, k) {
      if (p[1] === null) return;
      var before = k > 0 && points[k - 1][1] !== null;
      var after = k + 1 < points.length && points[k + 1][1] !== null;
      if (!before && !after) { dots.push(p); return; }
      d += (before ? " L" : " M") + x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1);
    });
    if (d) tip(el("path", { d: d, fill: "none", stroke: "#2e6fbd", "stroke-width": 1.5 }, svg), name);
    dots.forEach(function (p) {
      tip(el("circle", { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 2, fill: "#2e6fbd" }, svg), name);
    });
    parent.appendChild(div);
  }

  // The plots count in at most this many buckets: the page's 250-500
  // buckets, merged, so that a short run's bucket holds enough operations
  // to say something (4 s in 500 buckets is 0.3 operations a bucket).
  var PLOT_BUCKETS = 100;

  // D.buckets over the window, `factor` of them merged into one so that at
  // most `most` are left: counts and sums added, the queue's peak the
  // largest; `spans[k]` is how many of D's buckets bucket k holds.
  function mergedBuckets(most) {
    var b = D.buckets;
    var n = Math.min(b.ok.length, Math.floor((D.to_ns - D.from_ns) / b.width_ns) + 1);
    var factor = Math.max(1, Math.ceil(n / most));
    var out = { width_ns: b.width_ns * factor, base_ns: b.width_ns, factor: factor, spans: [] };
    var sums = ["ok", "failed", "latency_sum_ns", "latency_n", "sent", "dropped"];
    sums.concat(["in_flight_max"]).forEach(function (c) { out[c] = []; });
    for (var k = 0; k < n; k += factor) {
      var end = Math.min(n, k + factor);
      sums.forEach(function (c) {
        var total = 0;
        for (var i = k; i < end; i++) total += b[c][i];
        out[c].push(total);
      });
      var peak = 0;
      for (var j = k; j < end; j++) peak = Math.max(peak, b.in_flight_max[j]);
      out.in_flight_max.push(peak);
      out.spans.push(end - k);
    }
    return out;
  }

  function drawPlots() {
    var parent = document.getElementById("plots");
    while (parent.firstChild) parent.removeChild(parent.firstChild);
    var b = mergedBuckets(PLOT_BUCKETS), n = b.ok.length;
    // The middle of bucket k (the last may hold fewer of D's buckets).
    function mid(k) { return D.from_ns + (k * b.factor + b.spans[k] / 2) * b.base_ns; }
    function per(col, k) { return [mid(k), col[k] / (b.spans[k] * b.base_ns / 1e9)]; }
    function rate(col) { var out = []; for (var k = 0; k < n; k++) out.push(per(col, k)); return out; }
    var latency = [];
    for (var k = 0; k < n; k++) {
      latency.push([mid(k), b.latency_n[k] ? b.latency_sum_ns[k] / b.latency_n[k] / 1e6 : null]);
    }
    var availability = [], inFlight = [];
    for (var q = 0; q < n; q++) {
      var done = b.ok[q] + b.failed[q];
      availability.push([mid(q), done ? 100 * b.ok[q] / done : null]);
      inFlight.push([mid(q), b.in_flight_max[q]]);
    }
    var count = 0;
    plot(parent, "availability: completed operations ok", "%", availability); count++;
    plot(parent, "goodput: operations ok", "/s", rate(b.ok)); count++;
    plot(parent, "operations failed or unknown", "/s", rate(b.failed)); count++;
    plot(parent, "mean latency of completed operations", "ms", latency); count++;
    plot(parent, "messages sent", "/s", rate(b.sent)); count++;
    plot(parent, "messages dropped", "/s", rate(b.dropped)); count++;
    plot(parent, "most messages in flight at once (the network's queue)", "", inFlight); count++;
    D.series.forEach(function (s) {
      var scale = s.unit === "duration" ? 1e-6 : s.unit === "ratio" ? 100 : 1;
      var unit = s.unit === "duration" ? "ms" : s.unit === "ratio" ? "%" : s.unit === "rate" ? "/s" : "";
      plot(parent, s.name, unit, s.points.map(function (p) { return [p[0], p[1] * scale]; }));
      count++;
    });
    document.getElementById("metrics-note").textContent = "Counted in " + n + " buckets of " + ms(b.width_ns) +
      " over " + ms(D.from_ns) + " .. " + ms(D.to_ns) + "; partitions shaded. " +
      (D.series.length ? "The last " + D.series.length + " plot(s) are the protocol's own time series." :
        "The protocol reports no time series in this run.");
    return count;
  }

  function redraw() {
    drawn.arrows = drawDiagram();
    drawn.operations = drawHistory();
  }

  function setView(a, b) {
    var min = D.from_ns, max = Math.max(D.to_ns, D.from_ns + 1);
    var span = Math.max(1000, Math.min(b - a, max - min));
    a = Math.max(min, Math.min(a, max - span));
    v0 = a;
    v1 = a + span;
    redraw();
    showStatus();
  }
  function zoom(factor, centre) {
    setView(centre - (centre - v0) * factor, centre + (v1 - centre) * factor);
  }

  // The node checkboxes.
  var filter = document.getElementById("node-filter");
  filter.appendChild(document.createTextNode("nodes: "));
  D.nodes.forEach(function (n, i) {
    var label = document.createElement("label");
    var box = document.createElement("input");
    box.type = "checkbox";
    box.checked = true;
    box.addEventListener("change", function () { shown[i] = box.checked; redraw(); showStatus(); });
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + n));
    filter.appendChild(label);
  });
  var legend = document.getElementById("legend");
  [["#2e6fbd", "message delivered (arrow: send → delivery)"], ["#c0392b", "message dropped (×)"],
   ["#999", "not delivered by the end"], ["#f7c6c6", "partition in force"], ["#bbb", "node crashed or paused"],
   ["#d49a00", "role change (◆, new role named)"]].forEach(function (l) {
    var s = document.createElement("span");
    var i = document.createElement("i");
    i.style.background = l[0];
    s.appendChild(i);
    s.appendChild(document.createTextNode(l[1]));
    legend.appendChild(s);
  });
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(0.5, (v0 + v1) / 2); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(2, (v0 + v1) / 2); });
  document.getElementById("zoom-all").addEventListener("click", function () { setView(D.from_ns, D.to_ns); });
  document.getElementById("t-apply").addEventListener("click", function () {
    var a = parseFloat(document.getElementById("t-from").value) * 1e6;
    var b = parseFloat(document.getElementById("t-to").value) * 1e6;
    if (isFinite(a) && isFinite(b) && b > a) setView(a, b);
  });
  ["diagram", "ops"].forEach(function (id) {
    var svg = document.getElementById(id);
    function timeAt(ev) {
      var r = svg.getBoundingClientRect();
      var f = (ev.clientX - r.left - LEFT) / (r.width - LEFT - RIGHT);
      return v0 + Math.max(0, Math.min(1, f)) * (v1 - v0);
    }
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      zoom(ev.deltaY < 0 ? 0.8 : 1.25, timeAt(ev));
    }, { passive: false });
    var drag = null;
    svg.addEventListener("mousedown", function (ev) { drag = { x: ev.clientX, a: v0, b: v1 }; });
    window.addEventListener("mouseup", function () { drag = null; });
    svg.addEventListener("mousemove", function (ev) {
      if (!drag) return;
      var r = svg.getBoundingClientRect();
      var dt = (ev.clientX - drag.x) / (r.width - LEFT - RIGHT) * (drag.b - drag.a);
      if (Math.abs(ev.clientX - drag.x) > 2) setView(drag.a - dt, drag.b - dt);
    });
  });

  // A link may name the view: `page.html#from=4900&to=5300&hide=c1,c2`
  // (milliseconds; nodes to hide), to point someone at a moment of the run.
  (function () {
    var want = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var kv = part.split("=");
      // A part that is not valid percent-encoding is ignored, not fatal.
      if (kv.length === 2) {
        try { want[kv[0]] = decodeURIComponent(kv[1]); } catch (e) { /* a malformed part */ }
      }
    });
    if (want.hide) {
      want.hide.split(",").forEach(function (name) {
        var i = D.nodes.indexOf(name);
        if (i >= 0) {
          shown[i] = false;
          filter.querySelectorAll("input")[i].checked = false;
        }
      });
    }
    var a = parseFloat(want.from) * 1e6, b = parseFloat(want.to) * 1e6;
    if (isFinite(a) && isFinite(b) && b > a) setView(a, b);
  })();
  redraw();
  drawn.plots = drawPlots();
  drawn.done = true;
  showStatus();
})();
