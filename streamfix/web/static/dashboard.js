/* The dashboard: reads /error-monitor/* and renders it with textContent only (log text is untrusted). */
"use strict";
(function () {
  const API = "/error-monitor";
  const TOKEN_KEY = "streamfix.apiToken";
  const REFRESH_MS = 10000;
  const $ = (id) => document.getElementById(id);
  let timer = null;
  let categoryOrder = [];
  let refreshes = 0;

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  function headers() {
    const t = token();
    return t ? { Authorization: `Bearer ${t}` } : {};
  }

  async function call(path, method) {
    const resp = await fetch(API + path, { method: method || "GET", headers: headers() });
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok) {
      const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : "";
      throw new Error(`${resp.status} ${(body && body.error) || resp.statusText}${detail ? ": " + detail : ""}`);
    }
    return body;
  }

  function node(tag, text, cls) {
    const n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = String(text);
    if (cls) n.className = cls;
    return n;
  }

  /* epoch seconds (the *_epoch fields; the ISO 8601 fields are for people and other clients) */
  function when(ts) { return ts ? new Date(ts * 1000).toLocaleString() : "–"; }

  function where(e) {
    if (!e.file) return "–";
    const file = String(e.file).split("/").slice(-2).join("/");
    return `${file}:${e.line ?? "?"}${e.function ? " in " + e.function : ""}`;
  }

  function say(text, isError) {
    const s = $("action-status");
    s.textContent = text;
    s.className = isError ? "error" : "";
  }

  let trendsByFp = {};

  function sparkline(points) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("viewBox", "0 0 60 16");
    svg.setAttribute("width", "60");
    svg.setAttribute("height", "16");
    const max = Math.max(1, ...points);
    const step = points.length > 1 ? 60 / (points.length - 1) : 60;
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map((v, i) => `${(i * step).toFixed(1)},${(15 - (v / max) * 14).toFixed(1)}`).join(" "));
    svg.append(line);
    return svg;
  }

  function trendCell(e) {
    const td = node("td", null, "trend");
    const t = trendsByFp[e.fingerprint];
    if (!t) { td.textContent = "–"; return td; }
    const arrow = { rising: "↑", falling: "↓", steady: "→" }[t.trend] || "";
    const label = node("span", `${arrow} ${t.trend}${t.spike ? " · spike" : ""}`, `trend-${t.trend}`);
    label.title = `rate ${t.rate}, baseline ${t.baseline}, spike score ${t.spike_score}`;
    td.append(sparkline(t.sparkline || []), label);
    return td;
  }

  function errorRow(e) {
    const tr = node("tr", null, "pattern");
    tr.dataset.fingerprint = e.fingerprint;
    const first = node("td");
    first.append(node("span", e.severity, `sev ${e.severity}`), node("strong", e.error_type),
                 node("span", e.message, "msg"));
    tr.append(first, node("td", where(e)), node("td", e.count), trendCell(e), node("td", when(e.last_seen_epoch)));
    const actions = node("td");
    if (e.fixable) {
      const button = node("button", "Generate fix", "generate-fix");
      button.type = "button";
      button.dataset.fingerprint = e.fingerprint;
      button.addEventListener("click", (ev) => { ev.stopPropagation(); generateFix(e.fingerprint, button); });
      actions.append(button);
    }
    tr.append(actions);
    tr.addEventListener("click", () => showDetail(e.fingerprint));
    return tr;
  }

  function fill(tableId, rows, empty, columns) {
    const body = $(tableId).querySelector("tbody");
    if (!rows.length) {
      const tr = node("tr");
      const td = node("td", empty, "muted");
      td.colSpan = columns;
      tr.append(td);
      body.replaceChildren(tr);
      return;
    }
    body.replaceChildren(...rows);
  }

  function fixRow(f) {
    const tr = node("tr");
    tr.dataset.fixId = f.fix_id;
    const pr = node("td");
    if (f.pr_url && /^https?:\/\//.test(f.pr_url)) {
      const a = node("a", f.pr_number ? `#${f.pr_number}` : "pull request");
      a.href = f.pr_url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      pr.append(a);
    } else {
      pr.textContent = "–";
    }
    const attempt = f.attempt && f.attempt > 1 ? ` · attempt ${f.attempt}` : "";
    tr.append(node("td", f.fix_id + attempt), node("td", `${f.error_type || ""} ${f.category ? "(" + f.category + ")" : ""}`),
              node("td", f.status, `status ${f.status}`), pr, node("td", when(f.updated_at_epoch)));
    return tr;
  }

  function pct(x) { return `${Math.round(x * 100)} %`; }

  function effectRow(model, s) {
    const tr = node("tr");
    const rate = s.rate === null ? "–" : `${pct(s.rate)} (${pct(s.low)}–${pct(s.high)})`;
    tr.append(node("td", model), node("td", s.fixes), node("td", s.judged), node("td", s.stopped), node("td", rate));
    return tr;
  }

  function renderEffect(effect) {
    const all = effect.overall;
    $("card-effective").textContent = all.judged ? `${all.stopped}/${all.judged}` : "–";
    const rows = Object.entries(effect.by.model).map(([model, s]) => effectRow(model, s));
    fill("effect-table", rows, "No merged fix yet", 5);
  }

  function renderChart(timeline, hours) {
    const names = Object.keys(timeline.series);
    for (const name of names) if (!categoryOrder.includes(name)) categoryOrder.push(name);
    const ordered = {};
    for (const name of categoryOrder) if (timeline.series[name]) ordered[name] = timeline.series[name];
    window.StreamfixChart.draw($("chart"), timeline.buckets_epoch, ordered, timeline.bucket_seconds, hours);
    const legend = Object.keys(ordered).map((name) => {
      const li = node("li");
      const sw = node("span", null, "swatch");
      sw.style.background = window.StreamfixChart.colorFor(Object.keys(ordered).indexOf(name));
      const total = ordered[name].reduce((a, b) => a + b, 0);
      li.append(sw, node("span", `${name}: ${total}`));
      return li;
    });
    $("categories").replaceChildren(...legend);
  }

  async function refresh() {
    const hours = $("hours").value;
    try {
      const [dash, timeline, fixes, trends, effect] = await Promise.all([
        call(`/dashboard?hours=${hours}`), call(`/errors/timeline?hours=${hours}`), call("/fixes/generated?limit=50"),
        call(`/errors/trends?hours=${hours}`), call("/fixes/effectiveness"),
      ]);
      trendsByFp = Object.fromEntries(trends.patterns.map((t) => [t.fingerprint, t]));
      $("card-total").textContent = dash.summary.total_patterns;
      $("card-critical").textContent = dash.summary.critical_errors;
      $("card-fixable").textContent = dash.summary.fixable_errors;
      $("card-fixes").textContent = dash.summary.generated_fixes;
      fill("critical-table", dash.recent_critical.map(errorRow), "No critical errors in this period", 6);
      fill("fixable-table", dash.recent_fixable.map(errorRow), "No fixable errors in this period", 6);
      fill("fixes-table", fixes.fixes.map(fixRow), "No fixes yet", 5);
      renderEffect(effect);
      renderChart(timeline, hours);
      $("status-line").textContent = `Updated ${new Date().toLocaleTimeString()}`;
      document.body.dataset.loaded = "true";
      document.body.dataset.refreshes = String(++refreshes);
    } catch (err) {
      $("status-line").textContent = `Could not load: ${err.message}`;
    }
  }

  async function showDetail(fingerprint) {
    try {
      const d = await call(`/patterns/${encodeURIComponent(fingerprint)}`);
      $("detail-title").textContent = `${d.error.error_type}: ${d.error.message}`;
      const state = d.fix_state ? ` · fix: ${d.fix_state.status}` : "";
      $("detail-meta").textContent = `${d.error.status} · ${d.error.category} · ${d.error.severity} · ${d.error.count} occurrences · ` +
        `${(d.error.services || []).join(", ") || "no service"} · ${d.error.fingerprint}${state}`;
      $("detail-traceback").textContent = d.traceback || "(no sample traceback)";
      $("detail").hidden = false;
    } catch (err) {
      say(`Could not load the pattern: ${err.message}`, true);
    }
  }

  async function generateFix(fingerprint, button) {
    if (!token()) {
      say("Enter the API token first (STREAMFIX_API_TOKEN of the worker).", true);
      return;
    }
    button.disabled = true;
    try {
      const r = await call(`/fixes/generate-for-error?error_id=${encodeURIComponent(fingerprint)}&create_pr=true`, "POST");
      say(`Fix requested: ${r.request_ids.join(", ")}`, false);
    } catch (err) {
      say(`Fix request failed: ${err.message}`, true);
    } finally {
      button.disabled = false;
    }
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = $("auto-refresh").checked ? setInterval(refresh, REFRESH_MS) : null;
  }

  function showTokenState() {
    $("token-state").textContent = token() ? "token set for this tab" : "no token (read-only)";
  }

  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("token").value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
    $("token").value = "";
    showTokenState();
    refresh();
  });
  $("refresh").addEventListener("click", refresh);
  $("hours").addEventListener("change", refresh);
  $("auto-refresh").addEventListener("change", schedule);
  $("detail-close").addEventListener("click", () => { $("detail").hidden = true; });
  showTokenState();
  refresh();
  schedule();
})();
