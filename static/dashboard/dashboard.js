/* Stock dashboard: fetches /dashboard/data.json and draws two SVG charts and the low-stock table.
 * Hand-written on purpose: no library, no build step, nothing loaded from outside the site.
 * The charts use a fixed viewBox and scale with their container. */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var WIDTH = 760;
  var HEIGHT = 300;
  var MARGIN = { top: 40, right: 18, bottom: 50, left: 78 };
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var X_LABELS = 8; // at most this many dates under a chart, so they never overlap

  function svg(name, attrs, parent) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function text(parent, x, y, content, attrs) {
    var node = svg("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    node.textContent = content;
    return node;
  }

  function tooltip(node, content) {
    svg("title", {}, node).textContent = content;
  }

  function shortDate(iso) {
    var parts = iso.split("-");
    return Number(parts[2]) + " " + MONTHS[Number(parts[1]) - 1];
  }

  var currency = ""; // ISO 4217 code from the data (settings.STOCKROOM_CURRENCY)

  function formatMoney(value) {
    var number = Number(value);
    if (currency) {
      try {
        return number.toLocaleString(undefined, { style: "currency", currency: currency,
                                                  minimumFractionDigits: 2, maximumFractionDigits: 2 });
      } catch (error) { // a code the browser does not know: the number, then the code
        return number.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) +
          " " + currency;
      }
    }
    return number.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function formatInt(value) {
    return Number(value).toLocaleString();
  }

  function formatCompact(value) {
    var abs = Math.abs(value);
    if (abs >= 1e9) { return trim(value / 1e9) + "G"; }
    if (abs >= 1e6) { return trim(value / 1e6) + "M"; }
    if (abs >= 1e4) { return trim(value / 1e3) + "k"; }
    return trim(value);
  }

  function trim(value) {
    return String(Math.round(value * 100) / 100);
  }

  // Ticks at a "nice" step (1, 2, 2.5 or 5 times a power of ten) covering [low, high].
  function niceScale(low, high, count) {
    if (high === low) { high = low + 1; }
    var raw = (high - low) / count;
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var fraction = raw / power;
    var step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10) * power;
    var first = Math.floor(low / step) * step;
    var last = Math.ceil(high / step) * step;
    var ticks = [];
    for (var tick = first; tick <= last + step / 2; tick += step) { ticks.push(Math.round(tick / step) * step); }
    return { min: first, max: last, ticks: ticks };
  }

  /* The frame shared by both charts: grid, both axes with labels and titles, and the legend.
   * Returns scales: x(i) is the centre of day i's band, y(v) the height of value v. */
  function frame(container, options) {
    var root = svg("svg", {
      viewBox: "0 0 " + WIDTH + " " + HEIGHT,
      role: "img",
      "aria-label": options.label,
      class: "dash-svg",
      preserveAspectRatio: "xMidYMid meet",
    });
    var plotWidth = WIDTH - MARGIN.left - MARGIN.right;
    var plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    var days = options.dates.length;
    var band = plotWidth / Math.max(days, 1);
    var scale = niceScale(Math.min(0, options.min), Math.max(0, options.max), 5);
    var x = function (i) { return MARGIN.left + band * (i + 0.5); };
    var y = function (v) { return MARGIN.top + plotHeight * (1 - (v - scale.min) / (scale.max - scale.min)); };

    var grid = svg("g", { class: "grid" }, root);
    var yAxis = svg("g", { class: "axis axis-y" }, root);
    scale.ticks.forEach(function (tick) {
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(tick), y2: y(tick) }, grid);
      text(yAxis, MARGIN.left - 8, y(tick) + 4, formatCompact(tick), { "text-anchor": "end" });
    });
    svg("line", { x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + plotHeight,
                  class: "axis-line" }, yAxis);
    text(yAxis, 16, MARGIN.top + plotHeight / 2, options.yTitle, {
      class: "axis-title", "text-anchor": "middle",
      transform: "rotate(-90 16 " + (MARGIN.top + plotHeight / 2) + ")",
    });

    var xAxis = svg("g", { class: "axis axis-x" }, root);
    svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(0), y2: y(0), class: "axis-line" }, xAxis);
    var every = Math.max(1, Math.ceil(days / X_LABELS));
    options.dates.forEach(function (iso, i) {
      if ((days - 1 - i) % every === 0) { // count back from today so the newest day is always labelled
        svg("line", { x1: x(i), x2: x(i), y1: MARGIN.top + plotHeight, y2: MARGIN.top + plotHeight + 5 }, xAxis);
        text(xAxis, x(i), MARGIN.top + plotHeight + 18, shortDate(iso), { "text-anchor": "middle" });
      }
    });
    text(xAxis, MARGIN.left + plotWidth / 2, HEIGHT - 8, options.xTitle, {
      class: "axis-title", "text-anchor": "middle",
    });

    // Right-aligned above the plot, in series order (so it also reads in order).
    var legend = svg("g", { class: "legend" }, root);
    var widths = options.series.map(function (series) { return 18 + series.label.length * 7 + 16; });
    var offset = WIDTH - MARGIN.right - widths.reduce(function (a, b) { return a + b; }, 0);
    options.series.forEach(function (series, i) {
      var item = svg("g", { class: "legend-item" }, legend);
      svg("rect", { x: offset, y: 8, width: 12, height: 12, rx: 2, class: "swatch " + series.className }, item);
      text(item, offset + 18, 18, series.label);
      offset += widths[i];
    });

    container.replaceChildren(root);
    return { root: root, x: x, y: y, band: band, baseline: y(Math.max(scale.min, 0)) };
  }

  function drawValueChart(container, points) {
    var values = points.map(function (p) { return Number(p.value); });
    var chart = frame(container, {
      label: "Stock value at the end of each day",
      dates: points.map(function (p) { return p.date; }),
      min: Math.min.apply(null, values),
      max: Math.max.apply(null, values),
      yTitle: currency ? "Stock value (" + currency + ")" : "Stock value",
      xTitle: "Day",
      series: [{ label: "Stock value (end of day)", className: "series-value" }],
    });
    var coords = values.map(function (v, i) { return [chart.x(i), chart.y(v)]; });
    var line = coords.map(function (c) { return c[0].toFixed(1) + "," + c[1].toFixed(1); }).join(" ");
    if (coords.length) {
      var first = coords[0];
      var last = coords[coords.length - 1];
      svg("path", {
        class: "area series-value",
        d: "M" + first[0].toFixed(1) + "," + chart.baseline.toFixed(1) + " L" + line.replace(/ /g, " L") +
           " L" + last[0].toFixed(1) + "," + chart.baseline.toFixed(1) + " Z",
      }, chart.root);
    }
    svg("polyline", { class: "line series-value", points: line }, chart.root);
    var dots = svg("g", { class: "points" }, chart.root);
    points.forEach(function (p, i) {
      var dot = svg("circle", { class: "point series-value", cx: coords[i][0], cy: coords[i][1], r: 3.5,
                                "data-date": p.date, "data-value": p.value }, dots);
      tooltip(dot, shortDate(p.date) + ": " + formatMoney(p.value));
    });
  }

  function drawFlowChart(container, days) {
    var highest = Math.max.apply(null, days.map(function (d) { return Math.max(d.in, d.out); }));
    var chart = frame(container, {
      label: "Units moved in and out per day",
      dates: days.map(function (d) { return d.date; }),
      min: 0,
      max: highest,
      yTitle: "Units",
      xTitle: "Day",
      series: [{ label: "In", className: "series-in" }, { label: "Out", className: "series-out" }],
    });
    var width = Math.max(1, chart.band * 0.38);
    var bars = svg("g", { class: "bars" }, chart.root);
    days.forEach(function (d, i) {
      [["in", -width, "series-in"], ["out", 0, "series-out"]].forEach(function (spec) {
        var value = d[spec[0]];
        var top = chart.y(value);
        var bar = svg("rect", {
          class: "bar bar-" + spec[0] + " " + spec[2],
          x: (chart.x(i) + spec[1]).toFixed(1),
          y: top.toFixed(1),
          width: width.toFixed(1),
          height: Math.max(0, chart.baseline - top).toFixed(1),
          "data-date": d.date,
          "data-value": value,
        }, bars);
        tooltip(bar, shortDate(d.date) + ": " + formatInt(value) + " " + spec[0]);
      });
    });
  }

  function cell(row, content, className, href) {
    var td = document.createElement("td");
    if (href) {
      var link = document.createElement("a");
      link.href = href;
      link.textContent = content;
      td.appendChild(link);
    } else {
      td.textContent = content;
    }
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function emptyRow(body, columns, message) {
    var td = document.createElement("td");
    td.colSpan = columns;
    td.className = "empty";
    td.textContent = message;
    body.insertRow().appendChild(td);
  }

  function fillLowStock(table, note, items, total) {
    var body = table.tBodies[0];
    body.replaceChildren();
    if (!items.length) { emptyRow(body, 7, "No item is at or below its reorder point."); }
    items.forEach(function (item) {
      var row = body.insertRow();
      row.className = "low-row" + (item.available <= 0 ? " out" : "");
      row.dataset.sku = item.sku;
      cell(row, item.location.code);
      cell(row, item.sku, "sku", item.url);
      cell(row, item.name, "", item.url);
      cell(row, formatInt(item.count_on_hand), "num");
      cell(row, formatInt(item.quantity_allocated), "num");
      cell(row, formatInt(item.available), "num");
      cell(row, formatInt(item.reorder_point), "num");
    });
    note.textContent = total > items.length ? "Showing the " + items.length + " most urgent of " + total + "." : "";
  }

  function fillToday(table, summary, today) {
    var body = table.tBodies[0];
    body.replaceChildren();
    if (!today.movements.length) { emptyRow(body, 7, "Nothing has moved today."); }
    today.movements.forEach(function (m) {
      var row = body.insertRow();
      row.className = "today-row " + (m.quantity > 0 ? "moved-in" : "moved-out");
      row.dataset.sku = m.sku;
      cell(row, m.time, "time", m.url);
      cell(row, m.action_label);
      cell(row, m.sku, "sku");
      cell(row, m.name);
      cell(row, m.location.code);
      cell(row, (m.quantity > 0 ? "+" : "") + formatInt(m.quantity), "num");
      cell(row, m.user || "–");
    });
    var text = formatInt(today.count) + (today.count === 1 ? " movement" : " movements") + " dated today: " +
      formatInt(today.units_in) + " units in, " + formatInt(today.units_out) + " out.";
    if (today.count > today.movements.length) { text += " The newest " + today.movements.length + " are listed."; }
    summary.textContent = text;
  }

  function render(root, data) {
    currency = data.currency || "";
    fillToday(document.getElementById("today"), document.getElementById("today-summary"), data.today);
    document.getElementById("kpi-value").textContent = formatMoney(data.overview.total_stock_value);
    document.getElementById("kpi-units").textContent = formatInt(data.overview.total_units);
    document.getElementById("kpi-low").textContent = formatInt(data.overview.low_stock_items);
    document.getElementById("kpi-out").textContent = formatInt(data.overview.out_of_stock_items);
    drawValueChart(document.getElementById("value-chart"), data.stock_value);
    drawFlowChart(document.getElementById("flow-chart"), data.movements);
    fillLowStock(document.getElementById("low-stock"), document.getElementById("low-stock-note"),
                 data.low_stock, data.overview.low_stock_items);
    var where = data.location ? data.location.name : "all locations";
    document.getElementById("dash-status").textContent =
      "From " + shortDate(data.first_day) + " to " + shortDate(data.last_day) + ", " + where + ".";
    root.dataset.state = "ready";
  }

  function fail(root, message) {
    var status = document.getElementById("dash-status");
    status.textContent = message;
    status.classList.add("errornote");
    root.dataset.state = "error";
  }

  function start() {
    // Picking a location shows it at once; the Apply button stays for keyboards and no-script browsers.
    var picker = document.getElementById("dash-location");
    if (picker && picker.form) {
      picker.addEventListener("change", function () { picker.form.requestSubmit(); });
    }
    var root = document.getElementById("dashboard");
    if (!root || !root.dataset.url) { return; }
    fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.error || ("The server answered " + response.status + ".")); }
          return body;
        });
      })
      .then(function (data) { render(root, data); })
      .catch(function (error) { fail(root, "Could not load the dashboard: " + error.message); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
