/* A small line chart in inline SVG: one line per series over shared time buckets. */
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#4aa3ff", "#ff5c5c", "#4cc38a", "#ffb347", "#b48cff", "#ff7fbf", "#5ad1d1", "#c0c65a",
                  "#ff8c69", "#9aa5b1"];

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function colorFor(index) { return COLORS[index % COLORS.length]; }

  function timeLabel(ts, span) {
    const d = new Date(ts * 1000);
    return span > 2 * 86400 ? d.toLocaleDateString([], { month: "short", day: "numeric" })
                            : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  /* buckets: [unix s]; series: {name: [count per bucket]} */
  function draw(container, buckets, series, bucketSeconds, label) {
    const W = 900, H = 240, L = 44, R = 12, T = 12, B = 26;
    const names = Object.keys(series);
    let max = 1;
    for (const name of names) for (const v of series[name]) max = Math.max(max, v);
    const n = Math.max(buckets.length, 2);
    const x = (i) => L + (i * (W - L - R)) / (n - 1);
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img",
                            "aria-label": "Errors per category over time", "data-hours": label || "" });
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4, yy = y(v);
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: yy, y2: yy, stroke: "#2a3541" }));
      svg.appendChild(el("text", { x: L - 6, y: yy + 4, "text-anchor": "end", fill: "#8b96a3", "font-size": 11 },
                         Number.isInteger(v) ? String(v) : v.toFixed(1)));
    }
    const span = buckets.length ? buckets[buckets.length - 1] - buckets[0] + bucketSeconds : 0;
    const ticks = Math.min(6, buckets.length);
    for (let k = 0; k < ticks; k++) {
      const i = Math.round((k * (buckets.length - 1)) / Math.max(1, ticks - 1));
      const anchor = k === 0 ? "start" : k === ticks - 1 ? "end" : "middle";  // keep the edge labels inside
      svg.appendChild(el("text", { x: x(i), y: H - 8, "text-anchor": anchor, fill: "#8b96a3", "font-size": 11 },
                         timeLabel(buckets[i], span)));
    }
    names.forEach((name, index) => {
      const points = series[name].map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      const line = el("polyline", { points, fill: "none", stroke: colorFor(index), "stroke-width": 2,
                                    "data-category": name });
      line.appendChild(el("title", {}, name));
      svg.appendChild(line);
    });
    if (!names.length) {
      svg.appendChild(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#8b96a3" },
                         "No errors in this period"));
    }
    container.replaceChildren(svg);
  }

  window.StreamfixChart = { draw, colorFor };
})();
