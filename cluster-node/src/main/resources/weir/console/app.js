// Weir operator console: plain JavaScript, no build step, no libraries, no CDN.
// Every figure comes from the management API (/v1/admin/...) with the admin token, which is kept in
// sessionStorage only (gone when the tab closes). Data is put in the page with textContent, never as HTML.
"use strict";

(function () {
  const TOKEN_KEY = "weir.adminToken";
  const REFRESH_MS = 3000;
  const TAIL_MAX = 200;
  const main = document.getElementById("main");
  const nav = document.getElementById("nav");
  const logoutButton = document.getElementById("logout");
  const notice = document.getElementById("notice");

  // ---- state of the current view: timers and streams to stop when leaving it ----
  let cleanups = [];
  function onLeave(fn) { cleanups.push(fn); }
  function leave() { cleanups.forEach((fn) => { try { fn(); } catch (e) { /* already stopped */ } }); cleanups = []; }

  // ---- DOM helpers ----
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function replace(el, ...children) { el.replaceChildren(); return append(el, children); }
  const SVG = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }

  // ---- the API ----
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  function token() { return sessionStorage.getItem(TOKEN_KEY); }
  // Ids come from the URL's hash or from the API and go into paths: one segment each, always encoded.
  const seg = encodeURIComponent;
  const ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;
  const conn = (id, rest) => "/v1/admin/connections/" + seg(id) + (rest || "");
  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + token() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let r;
    try {
      r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, "network_error", "The node did not answer (" + e.message + ").");
    }
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
    if (!r.ok) {
      const err = json && json.error ? json.error : { code: "http_" + r.status, message: text || r.statusText };
      if (r.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(err.message);
      }
      throw new ApiError(r.status, err.code, err.message);
    }
    return json;
  }
  function errorBox(e) {
    return h("div", { class: "error-box", role: "alert" },
      h("strong", {}, e.status ? "Error " + e.status + " " : "Error "),
      e.code ? h("code", {}, e.code) : null, e.code ? ": " : null, e.message);
  }
  function say(text) { notice.textContent = text; setTimeout(() => { if (notice.textContent === text) notice.textContent = ""; }, 4000); }

  // ---- formatting ----
  function ago(iso) {
    if (!iso) return "never";
    const secs = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (secs < 5) return "just now";
    if (secs < 60) return secs + " s ago";
    if (secs < 3600) return Math.round(secs / 60) + " min ago";
    if (secs < 86400) return Math.round(secs / 3600) + " h ago";
    return Math.round(secs / 86400) + " d ago";
  }
  function time(iso, none) {
    if (!iso) return none || "—";
    return h("time", { datetime: iso, title: iso }, ago(iso));
  }
  function num(n) { return n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"); }
  function bytes(n) {
    if (n === null || n === undefined) return "—";
    const u = ["B", "KB", "MB", "GB", "TB"];
    let i = 0, v = Number(n);
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i === 0 ? v : v.toFixed(1)) + " " + u[i];
  }
  function stateBadge(state) {
    const cls = { active: "ok", complete: "ok", Up: "ok", healthy: "ok", retrying: "warn", in_progress: "warn",
      paused: "bad", failed: "bad", failing: "bad", unknown: "idle", idle: "idle" }[state] || "idle";
    return h("span", { class: "badge " + cls }, String(state).replace("_", " "));
  }
  /** Fresh when the last load is within two sync intervals plus a batch interval (a sync may be running). */
  function freshness(conn, status) {
    const last = status.last_sync_at;
    const allowed = (conn.sync_interval_minutes * 60 * 2 + conn.batch_interval_seconds + 30) * 1000;
    const stale = !last ? status.accepted_total > 0 : Date.now() - Date.parse(last) > allowed;
    return { stale, allowedSeconds: allowed / 1000 };
  }
  function lastLoadedEvent(status) {
    const l = (status.recent_loads || []).find((x) => !x.error && x.events > 0);
    return l ? l.at : null;
  }

  // ---- charts: inline SVG ----
  function sparkline(values, label) {
    const w = 120, hgt = 28, max = Math.max(1, ...values);
    const bw = w / Math.max(1, values.length);
    const svg = s("svg", { class: "spark", width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, role: "img", "aria-label": label });
    svg.append(s("title", {}, label));
    values.forEach((v, i) => {
      const bh = v === 0 ? 0 : Math.max(1.5, (v / max) * (hgt - 2));
      svg.append(s("rect", { x: (i * bw).toFixed(2), y: (hgt - bh).toFixed(2), width: Math.max(0.8, bw - 0.6).toFixed(2), height: bh.toFixed(2), fill: "#1d4ed8" }));
    });
    svg.append(s("line", { x1: 0, y1: hgt - 0.5, x2: w, y2: hgt - 0.5, stroke: "#d0d7de" }));
    return svg;
  }
  function chart(title, minutes, key, unit, colour) {
    const values = minutes.map((m) => m[key]);
    const w = 360, hgt = 120, pad = 22, max = Math.max(1, ...values);
    const total = values.reduce((a, b) => a + b, 0);
    const last = values.length ? values[values.length - 1] : 0;
    const label = `${title}: ${num(last)} ${unit} this minute, ${key === "load_lag_seconds" ? "max " + num(max) : num(total) + " in the last hour"}`;
    const svg = s("svg", { class: "chart", viewBox: `0 0 ${w} ${hgt}`, role: "img", "aria-label": label });
    svg.append(s("title", {}, label));
    const bw = (w - pad) / Math.max(1, values.length);
    values.forEach((v, i) => {
      const bh = v === 0 ? 0 : Math.max(1.5, (v / max) * (hgt - 28));
      svg.append(s("rect", { x: (pad + i * bw).toFixed(2), y: (hgt - 14 - bh).toFixed(2), width: Math.max(1, bw - 1).toFixed(2), height: bh.toFixed(2), fill: colour }));
    });
    svg.append(s("line", { x1: pad, y1: hgt - 14, x2: w, y2: hgt - 14, stroke: "#8c959f" }));
    svg.append(s("text", { x: 0, y: 12, class: "axis" }, num(max)));
    svg.append(s("text", { x: pad, y: hgt - 2, class: "axis" }, "-60 min"));
    svg.append(s("text", { x: w - 24, y: hgt - 2, class: "axis" }, "now"));
    return h("div", { class: "figure chart-box", "data-chart": key },
      h("h3", {}, title), h("div", { class: "muted" }, label.slice(title.length + 2)), svg);
  }

  // ---- copying ----
  async function copy(text, what) {
    try {
      if (navigator.clipboard && window.isSecureContext) await navigator.clipboard.writeText(text);
      else {
        const ta = h("textarea", { class: "visually-hidden", "aria-hidden": "true" });
        ta.value = text; document.body.append(ta); ta.select(); document.execCommand("copy"); ta.remove();
      }
      say(what + " copied to the clipboard.");
    } catch (e) { say("Could not copy: " + e.message); }
  }
  function copyRow(label, value) {
    return h("div", { class: "copy-row" },
      h("span", { class: "visually-hidden" }, label),
      h("code", {}, value),
      h("button", { type: "button", class: "small secondary", "aria-label": "Copy " + label, onclick: () => copy(value, label) }, "Copy"));
  }
  function curlFor(c) {
    const u = c.urls || {};
    if (c.kind === "webhook" && u.webhook)
      return `curl -X POST ${u.webhook} -H 'Content-Type: application/json' -d '{"event":"signup","user":"ada"}'`;
    if (c.kind === "segment" && u.track)
      return `curl -X POST ${u.track} -u '${c.write_key}:' -H 'Content-Type: application/json' -d '{"userId":"ada","event":"Signed Up","properties":{"plan":"pro"}}'`;
    if (c.kind === "snowplow" && u.pixel)
      return `curl '${u.pixel}?e=se&se_ca=demo&se_ac=click&uid=ada&aid=${c.app_id || ""}'`;
    return null;
  }
  function ingestion(c) {
    const u = c.urls || {};
    const rows = [];
    const main = u.webhook || u.endpoint || u.tp2 || null;
    if (u.webhook) rows.push(copyRow("Webhook URL", u.webhook));
    if (u.endpoint) rows.push(copyRow("Segment endpoint", u.endpoint));
    if (u.tp2) rows.push(copyRow("Snowplow tp2 URL", u.tp2));
    if (c.kind === "segment" && c.write_key) rows.push(h("div", { class: "muted" }, "Write key (HTTP Basic user name, empty password):"), copyRow("Write key", c.write_key));
    if (c.kind === "snowplow" && c.app_id) rows.push(h("div", { class: "muted" }, "app_id: " + c.app_id));
    const curl = curlFor(c);
    if (curl) rows.push(h("div", { class: "muted" }, "Try it:"), copyRow("curl command", curl));
    if (!main && !curl) rows.push(h("p", { class: "muted" }, "This " + c.kind + " connection pulls its data; it has no ingestion URL."));
    return rows;
  }

  // ---- stream sources (kafka, kinesis): the connection's source settings and where its readers are ----
  const STREAM_KINDS = ["kafka", "kinesis"];
  /** One line for the connections list: the topics or the stream a connection reads. */
  function sourceSummary(c) {
    const src = c.source || {};
    if (c.kind === "kafka" && Array.isArray(src.topics) && src.topics.length) return (src.topics.length === 1 ? "topic " : "topics ") + src.topics.join(", ");
    if (c.kind === "kinesis" && src.stream) return "stream " + src.stream;
    return null;
  }
  /** Settings as the API returns them (secrets already "********"), nested objects as dotted keys. */
  function flatSettings(obj, prefix, out) {
    for (const [k, v] of Object.entries(obj || {})) {
      const key = prefix ? prefix + "." + k : k;
      if (v && typeof v === "object" && !Array.isArray(v)) flatSettings(v, key, out);
      else if (v !== null && v !== undefined && v !== "") out.push([key, Array.isArray(v) ? v.join(", ") : String(v)]);
    }
    return out;
  }
  function sourceSettings(c) {
    const rows = flatSettings(c.source, "", []);
    return h("div", { class: "summary-panel" },
      h("h3", {}, "Source settings"),
      rows.length ? h("dl", { id: "source-settings" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, h("code", {}, v))]))
        : h("p", { class: "muted" }, "No source settings."),
      h("p", { class: "hint" }, "Read-only here: change them with PATCH /v1/admin/connections/" + c.id + " (a secret shown as ******** keeps its stored value)."));
  }
  function millis(ms) {
    if (ms === null || ms === undefined) return "—";
    if (ms < 1000) return ms + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
    if (ms < 3600000) return Math.round(ms / 60000) + " min";
    return (ms / 3600000).toFixed(1) + " h";
  }
  /** A long position (a Kinesis sequence number) shortened, the whole of it in the title. */
  function position(p) {
    if (p === null || p === undefined || p === "") return "—";
    const text = String(p);
    return h("code", { title: text }, text.length > 16 ? "…" + text.slice(-12) : text);
  }
  function kafkaRowState(p) {
    if (p.lag === null || p.lag === undefined) return ["unknown", "idle"];
    if (p.committed_offset === null || p.committed_offset === undefined) return p.end_offset ? ["no commit yet", "warn"] : ["empty", "idle"];
    return p.lag === 0 ? ["caught up", "ok"] : ["behind", "warn"];
  }
  function kinesisRowState(s) {
    if (s.last_error) return ["failing", "bad"];
    if (s.ended) return ["ended", "idle"];
    if (s.waiting_for_parent) return ["waiting for parent", "warn"];
    if (s.reading) return ["reading", "ok"];
    return [s.closed ? "closed" : "not read", "idle"];
  }
  function badge(text, cls) { return h("span", { class: "badge " + cls }, text); }
  /** The status's source object as a table of partitions or shards with a total line (or why there is none). */
  function sourceStatus(kind, src) {
    if (!src) return [h("p", { class: "muted", id: "source-total" }, "No source status from this node yet.")];
    const out = [];
    if (src.error) out.push(h("div", { class: "error-box", role: "alert", id: "source-error" }, src.error));
    const head = (...cols) => h("thead", {}, h("tr", {}, cols.map(([t, cls]) => h("th", { scope: "col", class: cls || null }, t))));
    if (kind === "kafka") {
      const parts = src.partitions || [];
      out.push(h("p", { id: "source-total" },
        h("strong", {}, "Total lag " + num(src.lag)), " across " + parts.length + (parts.length === 1 ? " partition" : " partitions"),
        " · group ", h("code", {}, src.group_id || "—"),
        " · ", src.consuming_here ? "this node consumes" : "not consumed by this node",
        src.last_error ? h("span", { class: "reason" }, src.last_error) : null));
      out.push(h("div", { class: "table-wrap" }, h("table", { id: "source-table" },
        h("caption", { class: "visually-hidden" }, "Partitions: committed offset, end offset and lag"),
        head(["Partition"], ["Committed offset", "num"], ["End offset", "num hide-narrow"], ["Lag", "num"], ["State"], ["Last error", "hide-narrow"]),
        h("tbody", {}, parts.length ? parts.map((p) => {
          const [state, cls] = kafkaRowState(p);
          return h("tr", {}, h("th", { scope: "row" }, h("code", {}, p.topic + "/" + p.partition)),
            h("td", { class: "num" }, num(p.committed_offset)), h("td", { class: "num hide-narrow" }, num(p.end_offset)),
            h("td", { class: "num" }, num(p.lag)), h("td", {}, badge(state, cls)), h("td", { class: "hide-narrow" }, p.last_error || "—"));
        }) : emptyRow(6, src.error ? "No partitions: the brokers did not say (see above)." : "No partitions found for the topics yet.")))));
    } else {
      const shards = src.shards || [];
      const reading = shards.filter((x) => x.reading).length;
      const records = shards.reduce((a, x) => a + (x.records_total || 0), 0);
      out.push(h("p", { id: "source-total" },
        h("strong", {}, "Behind latest " + millis(src.millis_behind_latest)), " · " + shards.length + (shards.length === 1 ? " shard" : " shards") + ", " + reading + " reading",
        " · " + num(records) + " records read", " · stream ", h("code", {}, src.stream || "—"),
        src.last_error ? h("span", { class: "reason" }, src.last_error) : null));
      out.push(h("div", { class: "table-wrap" }, h("table", { id: "source-table" },
        h("caption", { class: "visually-hidden" }, "Shards: checkpoint, time behind the latest record, state"),
        head(["Shard"], ["Checkpoint"], ["Behind latest", "num"], ["State"], ["Records", "num hide-narrow"], ["Last error", "hide-narrow"]),
        h("tbody", {}, shards.length ? shards.map((x) => {
          const [state, cls] = kinesisRowState(x);
          return h("tr", {}, h("th", { scope: "row" }, h("code", {}, x.shard), x.parents && x.parents.length ? h("div", { class: "muted" }, "parent " + x.parents.join(", ")) : null),
            h("td", {}, position(x.checkpoint)), h("td", { class: "num" }, millis(x.millis_behind_latest)),
            h("td", {}, badge(state, cls)), h("td", { class: "num hide-narrow" }, num(x.records_total)), h("td", { class: "hide-narrow" }, x.last_error || "—"));
        }) : emptyRow(6, src.error ? "No shards: Kinesis did not say (see above)." : "The stream has no shards yet.")))));
    }
    return out;
  }

  // ---- confirmation dialog ----
  function confirmAction(title, text, okLabel) {
    const dlg = document.getElementById("confirm");
    document.getElementById("confirm-title").textContent = title;
    document.getElementById("confirm-text").textContent = text;
    document.getElementById("confirm-ok").textContent = okLabel;
    return new Promise((resolve) => {
      dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
      dlg.returnValue = "cancel";
      dlg.showModal();
      document.getElementById("confirm-cancel").focus();
    });
  }

  // ---- login ----
  function showLogin(message) {
    leave();
    nav.hidden = true; logoutButton.hidden = true;
    const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "current-password", required: true, "aria-describedby": "token-hint" });
    const errors = h("div", { id: "login-errors" });
    if (message) errors.append(errorBox({ status: 401, code: "unauthorized", message }));
    const form = h("form", { class: "panel login", "aria-labelledby": "login-title", onsubmit: async (ev) => {
      ev.preventDefault();
      replace(errors);
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      try {
        await api("GET", "/v1/admin/connections");
        if (!location.hash || location.hash === "#/login") location.hash = "#/connections";
        else route();
      } catch (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        // api() re-rendered the login on 401: put the message in the new form.
        const box = document.getElementById("login-errors") || errors;
        replace(box, errorBox(e));
        document.getElementById("token").focus();
      }
    } },
      h("h1", { id: "login-title" }, "Log in to the Weir console"),
      h("label", { for: "token" }, "Admin token"),
      input,
      h("p", { id: "token-hint", class: "hint" }, "The node's admin token (WEIR_ADMIN_TOKEN, or the file <data-dir>/admin-token in single-node mode). It stays in this browser tab only."),
      errors,
      h("button", { type: "submit", id: "login-submit" }, "Log in"));
    replace(main, form);
    input.focus();
  }

  // ---- views ----
  async function loadAll(paths) { return Promise.all(paths.map((p) => api("GET", p))); }
  function poll(fn) {
    let stopped = false, timer = null;
    const tick = async () => {
      if (stopped) return;
      try { await fn(); } catch (e) { if (e.status === 401) return; }
      if (!stopped) timer = setTimeout(tick, REFRESH_MS);
    };
    onLeave(() => { stopped = true; clearTimeout(timer); });
    return tick();
  }
  function emptyRow(cols, text) { return h("tr", {}, h("td", { colspan: cols, class: "empty" }, text)); }

  async function statusesOf(connections) {
    const out = {};
    await Promise.all(connections.map(async (c) => {
      try { out[c.id] = await api("GET", conn(c.id, "/status")); }
      catch (e) { out[c.id] = { state: "unknown", last_error: e.message, error: true }; }
    }));
    return out;
  }
  async function activityOf(connections) {
    const out = {};
    await Promise.all(connections.map(async (c) => {
      try { out[c.id] = await api("GET", conn(c.id, "/activity")); } catch (e) { out[c.id] = null; }
    }));
    return out;
  }

  async function connectionsView() {
    const body = h("tbody", {});
    const errors = h("div", {});
    replace(main,
      h("h1", {}, "Connections"),
      h("p", { class: "muted" }, "Is my data fresh? Freshness turns red when the last load is older than the sync interval allows. Figures refresh every 3 s."),
      errors,
      h("div", { class: "table-wrap" }, h("table", { id: "connections" },
        h("caption", { class: "visually-hidden" }, "Connections and their freshness"),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Connection"), h("th", { scope: "col" }, "Kind"),
          h("th", { scope: "col", class: "hide-narrow" }, "Destination"), h("th", { scope: "col" }, "State"),
          h("th", { scope: "col" }, "Freshness"), h("th", { scope: "col", class: "num" }, "Accepted"),
          h("th", { scope: "col", class: "num" }, "Buffered"), h("th", { scope: "col", class: "num hide-narrow" }, "Pending batches"),
          h("th", { scope: "col", class: "hide-narrow" }, "Events / min, last hour"), h("th", { scope: "col", class: "hide-narrow" }, "Ingestion"))),
        body)));
    // Rows are kept and their cells updated in place: an open "URLs and key" panel and the keyboard focus
    // survive the refresh.
    const rows = new Map();
    await poll(async () => {
      let list, dests;
      try { [list, dests] = await loadAll(["/v1/admin/connections", "/v1/admin/destinations"]); replace(errors); }
      catch (e) { replace(errors, errorBox(e)); throw e; }
      const names = Object.fromEntries(dests.destinations.map((d) => [d.id, d.name]));
      const conns = list.connections;
      const [statuses, activity] = await Promise.all([statusesOf(conns), activityOf(conns)]);
      if (!conns.length) { rows.clear(); replace(body, emptyRow(10, "No connections yet. Create one with POST /v1/admin/connections (see the README).")); return; }
      const order = conns.map((c) => {
        let r = rows.get(c.id);
        const key = JSON.stringify([c.urls, c.write_key, c.app_id]);
        if (!r) {
          r = { cells: Array.from({ length: 8 }, (_, i) => h("td", { class: ["", "hide-narrow", "state", "freshness", "num accepted", "num buffered", "num hide-narrow pending", "hide-narrow"][i] })) };
          r.head = h("th", { scope: "row" });
          r.ingest = h("td", { class: "hide-narrow" });
          r.tr = h("tr", { "data-connection": c.id }, r.head, r.cells, r.ingest);
          rows.set(c.id, r);
        }
        if (r.key !== key) {
          r.key = key;
          replace(r.ingest, h("details", {}, h("summary", {}, "URLs and key"), ingestion(c)));
        }
        r.tr.dataset.name = c.name;
        const st = statuses[c.id];
        const f = freshness(c, st);
        const minutes = activity[c.id] ? activity[c.id].minutes : [];
        const perMin = minutes.map((m) => m.accepted);
        const lastHour = perMin.reduce((a, b) => a + b, 0);
        const summary = sourceSummary(c);
        const contents = [
          [c.kind, summary ? h("div", { class: "muted source-summary" }, summary) : null],
          [names[c.destination_id] || c.destination_id],
          [stateBadge(st.state), st.last_error ? h("span", { class: "reason" }, st.last_error) : null],
          [h("div", { class: f.stale ? "stale" : "fresh", title: `Allowed: ${Math.round(f.allowedSeconds)} s` },
            "Last load: ", time(st.last_sync_at, "never"), f.stale ? " (stale)" : ""),
          h("div", { class: "muted" }, "Newest loaded: ", time(lastLoadedEvent(st))),
          h("div", { class: "muted" }, "Next sync: ", st.next_sync_at ? h("time", { datetime: st.next_sync_at }, st.next_sync_at.slice(11, 19) + " UTC") : "—")],
          [num(st.accepted_total)],
          [num(st.buffered_events)],
          [num(st.staged_batches_pending)],
          [sparkline(perMin, `${c.name}: ${lastHour} events in the last hour on this node`), h("div", { class: "muted" }, num(lastHour) + " in the last hour")],
        ];
        replace(r.head, h("a", { href: `#/connections/${seg(c.id)}` }, c.name), h("div", { class: "muted hide-narrow" }, h("code", {}, c.id)));
        contents.forEach((cell, i) => replace(r.cells[i], cell));
        return r.tr;
      });
      for (const id of [...rows.keys()]) if (!conns.find((c) => c.id === id)) rows.delete(id);
      const current = [...body.children];
      if (current.length !== order.length || current.some((tr, i) => tr !== order[i])) replace(body, order);
    });
  }

  async function connectionView(id) {
    const errors = h("div", {});
    replace(main, h("p", {}, "Loading…"));
    let c;
    if (!ID_SHAPE.test(id)) { replace(main, h("h1", {}, "Connection"), errorBox(new ApiError(404, "not_found", "No connection has the id " + JSON.stringify(id) + ".")), h("a", { href: "#/connections" }, "Back to connections")); return; }
    try { c = await api("GET", conn(id)); }
    catch (e) { replace(main, h("h1", {}, "Connection"), errorBox(e), h("a", { href: "#/connections" }, "Back to connections")); return; }
    const title = h("h1", {}, c.name);
    const stateEl = h("div", { class: "actions" });
    const figures = h("div", { class: "grid", id: "figures" });
    const charts = h("div", { class: "grid", id: "charts" });
    const loads = h("tbody", {});
    const dead = h("div", { id: "dead-letters" });
    const streamed = STREAM_KINDS.includes(c.kind);
    const sourceNow = h("div", { id: "source" });
    const actionResult = h("div", { "aria-live": "polite" });
    const syncButton = h("button", { type: "button", id: "sync", onclick: async () => {
      if (!(await confirmAction("Sync now?", `Load everything buffered for ${c.name} into its destination now.`, "Sync now"))) return;
      replace(actionResult);
      try { await api("POST", conn(id, "/sync")); replace(actionResult, h("div", { class: "ok-box" }, "Sync started.")); }
      catch (e) { replace(actionResult, errorBox(e)); }
    } }, "Sync now");
    const resyncButton = h("button", { type: "button", id: "resync", class: "danger", onclick: async () => {
      if (!(await confirmAction("Resync from the archive?", `Drop the tables of ${c.name} in the destination and reload them from the staging archive. Rows are missing until the reload is done.`, "Resync"))) return;
      replace(actionResult);
      try { const r = await api("POST", conn(id, "/resync"), {}); replace(actionResult, h("div", { class: "ok-box" }, "Resync " + (r.id || "") + " queued.")); }
      catch (e) { replace(actionResult, errorBox(e)); }
    } }, "Resync…");

    replace(main,
      h("nav", { "aria-label": "Breadcrumb" }, h("a", { href: "#/connections" }, "Connections"), " / ", c.name),
      title,
      h("p", { class: "muted" }, c.kind + " connection ", h("code", {}, c.id), " · schema ", h("code", {}, c.schema || "—"), c.table ? [" · table ", h("code", {}, c.table)] : null),
      stateEl,
      errors,
      h("div", { class: "actions" }, syncButton, resyncButton, h("a", { class: "button secondary", href: `#/connections/${seg(id)}/tail`, id: "open-tail" }, "Live tail")),
      actionResult,
      h("h2", {}, "Now"), figures,
      h("h2", {}, "Last hour on this node"), charts,
      h("h2", {}, "Last loads"),
      h("div", { class: "table-wrap" }, h("table", { id: "loads" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, "Outcome"), h("th", { scope: "col", class: "num" }, "Batches"),
          h("th", { scope: "col", class: "num" }, "Events"), h("th", { scope: "col", class: "num" }, "New rows"), h("th", { scope: "col", class: "num hide-narrow" }, "Rejected rows"), h("th", { scope: "col", class: "num hide-narrow" }, "Took"))),
        loads)),
      streamed ? [h("h2", { id: "source-title" }, "Source (" + (c.kind === "kafka" ? "Kafka" : "Kinesis") + ")"),
        h("section", { "aria-labelledby": "source-title" }, sourceNow, h("div", { class: "panel" }, sourceSettings(c)))] : null,
      h("h2", {}, "Recent dead letters"), dead,
      h("h2", {}, "Ingestion"), h("div", { class: "panel" }, ingestion(c)),
      h("h2", { id: "settings-title" }, "Settings"), settingsForm(c, title));

    await poll(async () => {
      let st, act, dl;
      try {
        [st, act, dl] = await loadAll([conn(id, "/status"), conn(id, "/activity"), conn(id, "/dead-letters?limit=20")]);
        replace(errors);
      } catch (e) { replace(errors, errorBox(e)); throw e; }
      const f = freshness(c, st);
      if (streamed) replace(sourceNow, sourceStatus(c.kind, st.source));
      replace(stateEl, stateBadge(st.state), st.last_error ? h("span", { class: "reason" }, st.last_error) : null);
      const fig = (label, value, extra) => h("div", { class: "figure" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), extra ? h("div", { class: "muted" }, extra) : null);
      replace(figures,
        fig("Last load", h("span", { class: f.stale ? "stale" : "fresh", id: "last-load" }, time(st.last_sync_at, "never")), "next: " + (st.next_sync_at ? st.next_sync_at.slice(11, 19) + " UTC" : "—")),
        fig("Accepted events", h("span", { id: "accepted-total" }, num(st.accepted_total)), "loaded: " + num(st.loaded_events_total)),
        fig("Buffered events", h("span", { id: "buffered" }, num(st.buffered_events)), "last flush: " + ago(st.last_flush_at)),
        fig("Pending batches", num(st.staged_batches_pending), "rows loaded: " + num(st.loaded_rows_total)),
        fig("Dead letters", h("span", { id: "dead-total" }, num(st.dead_letters_total)), st.resyncs_pending ? st.resyncs_pending + " resync(s) pending" : null));
      const m = act.minutes;
      replace(charts,
        chart("Ingest rate", m, "accepted", "events", "#1d4ed8"),
        chart("Loaded", m, "loaded", "events", "#116329"),
        chart("Load lag", m, "load_lag_seconds", "s", "#7d4e00"),
        chart("Retries (node, all stages)", m, "retries", "retries", "#a40e26"));
      const rl = st.recent_loads || [];
      replace(loads, rl.length ? rl.map((l) => h("tr", {},
        h("td", {}, time(l.at)), h("td", {}, l.error ? [stateBadge("failed"), h("span", { class: "reason" }, l.error)] : stateBadge("complete")),
        h("td", { class: "num" }, num(l.batches)), h("td", { class: "num" }, num(l.events)), h("td", { class: "num" }, num(l.rows_inserted)),
        h("td", { class: "num hide-narrow" }, num(l.rows_rejected)), h("td", { class: "num hide-narrow" }, l.duration_ms + " ms")))
        : emptyRow(7, "No load since this node's coordinator started. Loads run every " + c.sync_interval_minutes + " min, or use Sync now."));
      const items = dl.dead_letters;
      replace(dead, items.length ? h("div", { class: "table-wrap" }, h("table", { id: "dead-letter-table" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Received"), h("th", { scope: "col" }, "Reason"), h("th", { scope: "col" }, "Payload"))),
        h("tbody", {}, items.map((d) => h("tr", {},
          h("td", {}, time(d.received_at)),
          h("td", {}, h("code", {}, d.code), h("div", { class: "dead-message" }, d.message)),
          h("td", {}, h("pre", { class: "payload" }, d.payload)))))))
        : h("div", { class: "panel empty" }, "No dead letters. Events a parser or the warehouse refuses show up here with their reason."));
    });
  }

  function settingsForm(c, title) {
    const fields = [
      ["name", "Name", "text", c.name, null],
      ["batch_size", "Batch size (events)", "number", c.batch_size, "A buffer flushes at this many events…"],
      ["batch_interval_seconds", "Batch interval (seconds)", "number", c.batch_interval_seconds, "…or after this long."],
      ["sync_interval_minutes", "Sync interval (minutes)", "number", c.sync_interval_minutes, "How often staged batches are loaded."],
    ];
    if (c.kind === "webhook") {
      fields.push(["id_field", "Id field", "text", c.id_field || "", "The field whose value is event_id (empty: a hash of the event)."]);
      fields.push(["signing_secret", "Signing secret", "password", "", c.signing_secret ? "Set (shown as ********). Type a new one to replace it." : "Not set. Requests must be signed once it is."]);
    }
    if (c.kind === "snowplow") fields.push(["app_id", "Snowplow app_id", "text", c.app_id || "", "Events with this aid come to this connection."]);
    const result = h("div", { "aria-live": "polite", id: "settings-result" });
    const inputs = {};
    const form = h("form", { class: "panel", id: "settings", "aria-labelledby": "settings-title", onsubmit: async (ev) => {
      ev.preventDefault();
      const patch = {};
      for (const [key, , type, initial] of fields) {
        const v = inputs[key].value;
        if (type === "password") { if (v !== "") patch[key] = v; continue; }
        if (type === "number") { if (Number(v) !== Number(initial)) patch[key] = Number(v); continue; }
        if (v !== String(initial)) patch[key] = v === "" ? null : v;
      }
      if (!Object.keys(patch).length) { replace(result, h("div", { class: "ok-box" }, "Nothing changed.")); return; }
      try {
        const updated = await api("PATCH", conn(c.id), patch);
        Object.assign(c, updated);
        fields.forEach((f) => { if (f[2] !== "password") f[3] = updated[f[0]] === null || updated[f[0]] === undefined ? "" : updated[f[0]]; });
        if (inputs.signing_secret) { inputs.signing_secret.value = ""; inputs.signing_secret.placeholder = updated.signing_secret || ""; }
        title.textContent = updated.name;
        replace(result, h("div", { class: "ok-box", role: "status" }, "Saved: " + Object.keys(patch).join(", ") + "."));
      } catch (e) { replace(result, errorBox(e)); }
    } },
      h("div", { class: "form-grid" }, fields.map(([key, label, type, value, hint]) => {
        const input = h("input", { id: "setting-" + key, name: key, type, "aria-describedby": hint ? "hint-" + key : null,
          placeholder: type === "password" && c.signing_secret ? c.signing_secret : null, min: type === "number" ? "1" : null, step: type === "number" ? "any" : null,
          autocomplete: type === "password" ? "new-password" : "off" });
        input.value = value === null || value === undefined ? "" : value;
        inputs[key] = input;
        return h("div", {}, h("label", { for: "setting-" + key }, label), input, hint ? h("div", { class: "hint", id: "hint-" + key }, hint) : null);
      })),
      h("div", { class: "actions" }, h("button", { type: "submit", id: "save-settings" }, "Save settings"), h("span", { class: "hint" }, "Batching and sync settings apply without a restart.")),
      result);
    return form;
  }

  function tailView(id) {
    const list = h("ol", { class: "tail-list", id: "tail", "aria-label": "Accepted events, newest first" });
    const stateText = h("span", { id: "tail-state" }, "Connecting…");
    const counter = h("span", { id: "tail-count" }, "0 events");
    const droppedText = h("span", { id: "tail-dropped", class: "muted" });
    const errors = h("div", {});
    const filter = h("input", { id: "tail-filter", type: "search", placeholder: "e.g. signup, user_id, track", "aria-describedby": "tail-filter-hint" });
    let paused = false, seen = 0, held = [];
    const events = [];
    const pauseButton = h("button", { type: "button", id: "tail-pause", "aria-pressed": "false", onclick: () => {
      paused = !paused;
      pauseButton.setAttribute("aria-pressed", String(paused));
      pauseButton.textContent = paused ? "Resume" : "Pause";
      if (!paused) { held.forEach(show); held = []; }
      stateText.textContent = paused ? "Paused (new events are held, at most " + TAIL_MAX + ")" : "Live";
    } }, "Pause");
    const matches = (e) => { const q = filter.value.trim().toLowerCase(); return !q || e.text.toLowerCase().includes(q); };
    filter.addEventListener("input", () => { for (const e of events) e.li.hidden = !matches(e); });
    function show(e) {
      const li = h("li", { "data-event-id": e.event_id },
        h("details", {}, h("summary", {}, h("span", { class: "t" }, e.received_at.slice(11, 23)), h("code", {}, e.table), h("span", {}, e.label), h("span", { class: "muted" }, e.event_id),
          e.cut ? h("span", { class: "muted", title: "The row's JSON is longer than the tail shows: its first 8,192 characters." }, "(cut)") : null),
          h("pre", {}, e.cut ? e.row + " …" : JSON.stringify(e.row, null, 2))));
      e.li = li;
      li.hidden = !matches(e);
      list.prepend(li);
      events.unshift(e);
      while (events.length > TAIL_MAX) events.pop().li.remove();
    }
    replace(main,
      h("nav", { "aria-label": "Breadcrumb" }, h("a", { href: "#/connections" }, "Connections"), " / ", h("a", { href: `#/connections/${seg(id)}`, id: "tail-connection" }, id), " / Live tail"),
      h("h1", {}, "Live tail"),
      h("p", { class: "muted" }, "The events every member of the cluster accepts for the connection (written to the journal, answered 2xx), as they arrive. A browser or a link between members that cannot keep up loses events; ingestion never waits for it."),
      errors,
      h("div", { class: "panel" },
        h("div", { class: "filters" },
          h("div", {}, h("label", { for: "tail-filter" }, "Filter"), filter, h("div", { class: "hint", id: "tail-filter-hint" }, "Shows events whose JSON contains this text.")),
          h("div", { class: "actions", "aria-live": "polite" }, pauseButton, stateText, " · ", counter, droppedText))),
      h("div", { class: "panel" }, list, h("p", { class: "empty", id: "tail-empty" }, "Waiting for events… send one with the curl on the connection page.")));

    if (!ID_SHAPE.test(id)) { stateText.textContent = "Closed"; replace(errors, errorBox(new ApiError(404, "not_found", "No connection has the id " + JSON.stringify(id) + "."))); return; }
    api("GET", conn(id)).then((c) => {
      document.getElementById("tail-connection").textContent = c.name;
    }, () => { /* the tail's own answer says why */ });
    const abort = new AbortController();
    onLeave(() => abort.abort());
    (async () => {
      try {
        const r = await fetch(conn(id, "/tail"), { headers: { Authorization: "Bearer " + token() }, signal: abort.signal, cache: "no-store" });
        if (!r.ok) {
          let err = { code: "http_" + r.status, message: r.statusText };
          try { err = (await r.json()).error; } catch (e) { /* not JSON */ }
          if (r.status === 401) { sessionStorage.removeItem(TOKEN_KEY); showLogin(err.message); return; }
          stateText.textContent = "Closed"; replace(errors, errorBox(new ApiError(r.status, err.code, err.message))); return;
        }
        const reader = r.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let nl;
          while ((nl = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, nl); buffer = buffer.slice(nl + 1);
            if (!line.trim()) continue;
            const m = JSON.parse(line);
            if (m.type === "open") { if (!paused) stateText.textContent = "Live"; continue; }
            if (m.type === "keepalive") { droppedText.textContent = m.dropped ? " · " + m.dropped + " dropped (browser or cluster link too slow)" : ""; continue; }
            if (m.type !== "event") continue;
            seen++;
            counter.textContent = seen + (seen === 1 ? " event" : " events");
            const empty = document.getElementById("tail-empty"); if (empty) empty.remove();
            // A row's JSON longer than the tail holds comes cut, as the text it starts with.
            const cut = typeof m.row === "string";
            const row = cut ? m.row : m.row || {};
            const e = { event_id: m.event_id, table: m.table, received_at: m.received_at, row, cut,
              label: row.event || (row.data && (row.data.event || row.data.type)) || row.type || "", text: line };
            if (paused) { held.push(e); if (held.length > TAIL_MAX) held.shift(); }
            else show(e);
          }
        }
        stateText.textContent = "Closed by the node; reload to reopen.";
      } catch (e) {
        if (abort.signal.aborted) return;
        stateText.textContent = "Disconnected";
        replace(errors, errorBox(new ApiError(0, "tail_closed", "The tail stopped: " + e.message)));
      }
    })();
  }

  async function destinationsView() {
    const body = h("tbody", {});
    const errors = h("div", {});
    replace(main, h("h1", {}, "Destinations"),
      h("p", { class: "muted" }, "Health comes from the loads of the connections that use each destination."),
      errors,
      h("div", { class: "table-wrap" }, h("table", { id: "destinations" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Destination"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Health"),
          h("th", { scope: "col" }, "Last error"), h("th", { scope: "col", class: "hide-narrow" }, "Connections"), h("th", { scope: "col", class: "hide-narrow" }, "Last load"))),
        body)));
    let drawn = null;
    await poll(async () => {
      let dests, conns;
      try { [dests, conns] = await loadAll(["/v1/admin/destinations", "/v1/admin/connections"]); replace(errors); }
      catch (e) { replace(errors, errorBox(e)); throw e; }
      const statuses = await statusesOf(conns.connections);
      const sig = JSON.stringify([dests, conns, statuses]);
      if (sig === drawn) return; // unchanged: not redrawn, the focus stays
      drawn = sig;
      if (!dests.destinations.length) { replace(body, emptyRow(6, "No destinations yet. Create one with POST /v1/admin/destinations.")); return; }
      replace(body, dests.destinations.map((d) => {
        const users = conns.connections.filter((c) => c.destination_id === d.id);
        const sts = users.map((c) => statuses[c.id]);
        const paused = sts.find((x) => x.state === "paused");
        const failing = sts.find((x) => x.last_error);
        const health = !users.length ? "idle" : paused ? "paused" : failing ? "failing" : "healthy";
        const last = sts.map((x) => x.last_sync_at).filter(Boolean).sort().pop();
        return h("tr", { "data-destination": d.id },
          h("th", { scope: "row" }, d.name, h("div", { class: "muted hide-narrow" }, h("code", {}, d.id))),
          h("td", {}, d.type, d.config && d.config.staging ? h("div", { class: "muted" }, "staging: " + d.config.staging.type) : null),
          h("td", {}, stateBadge(health)),
          h("td", {}, (paused || failing) ? h("span", { class: "reason" }, (paused || failing).last_error) : h("span", { class: "muted" }, "none")),
          h("td", { class: "hide-narrow" }, users.length ? users.map((c, i) => [i ? ", " : "", h("a", { href: `#/connections/${seg(c.id)}` }, c.name)]) : "none"),
          h("td", { class: "hide-narrow" }, time(last)));
      }));
    });
  }

  async function exportsView() {
    const errors = h("div", {});
    const body = h("tbody", {});
    const panel = h("aside", { class: "panel summary-panel", "aria-labelledby": "summary-title", id: "export-summary" });
    const mk = (id, label, options) => {
      const sel = h("select", { id }, options.map(([v, t]) => h("option", { value: v }, t)));
      return [h("div", {}, h("label", { for: id }, label), sel), sel];
    };
    const [statusBox, statusSel] = mk("filter-status", "Status", [["", "Any status"], ["in_progress", "In progress"], ["complete", "Complete"], ["failed", "Failed"]]);
    const [typeBox, typeSel] = mk("filter-type", "Type", [["", "Any type"], ["one_time", "One time"], ["recurring", "Recurring"], ["test", "Test"]]);
    const [connBox, connSel] = mk("filter-connection", "Connection", [["", "Any connection"]]);
    const search = h("input", { id: "filter-name", type: "search", placeholder: "Export name" });
    let selected = null, data = null;
    replace(main, h("h1", {}, "Data Sync exports"),
      h("p", { class: "muted" }, "Exports of connections' events to a data lake (Pendo Data Sync layout)."),
      errors,
      h("div", { class: "filters", role: "search", "aria-label": "Filter exports" }, h("div", {}, h("label", { for: "filter-name" }, "Name"), search), statusBox, typeBox, connBox),
      h("div", { class: "split" },
        h("div", { class: "table-wrap" }, h("table", { id: "exports" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Connection"), h("th", { scope: "col" }, "Status"),
            h("th", { scope: "col", class: "hide-narrow" }, "Type"), h("th", { scope: "col", class: "hide-narrow" }, "Created"), h("th", { scope: "col" }, "Last successful sync"))),
          body)),
        panel));
    function render() {
      if (!data) return;
      const [exps, conns] = data;
      const names = Object.fromEntries(conns.connections.map((c) => [c.id, c.name]));
      const current = connSel.value;
      replace(connSel, h("option", { value: "" }, "Any connection"), conns.connections.map((c) => h("option", { value: c.id }, c.name)));
      connSel.value = current;
      const q = search.value.trim().toLowerCase();
      const rows = exps.exports.filter((x) => (!statusSel.value || x.status === statusSel.value) && (!typeSel.value || x.type === typeSel.value)
        && (!connSel.value || x.connection_id === connSel.value) && (!q || (x.name || "").toLowerCase().includes(q)));
      const totalSize = rows.reduce((a, x) => a + (x.storage_size || 0), 0);
      if (!exps.exports.length) replace(body, emptyRow(6, "No Data Sync exports yet. Create one with POST /v1/admin/exports."));
      else if (!rows.length) replace(body, emptyRow(6, "No export matches these filters."));
      else replace(body, rows.map((x) => h("tr", { class: selected === x.id ? "selected" : null },
        h("th", { scope: "row" }, h("button", { type: "button", class: "small secondary", "aria-pressed": String(selected === x.id), onclick: () => { selected = x.id; render(); } }, x.name || x.id)),
        h("td", {}, names[x.connection_id] || x.connection_id), h("td", {}, stateBadge(x.status)),
        h("td", { class: "hide-narrow" }, x.type.replace("_", " ")), h("td", { class: "hide-narrow" }, time(x.created_at)), h("td", {}, time(x.last_successful_at)))));
      const x = rows.find((r) => r.id === selected);
      replace(panel, h("h2", { id: "summary-title" }, x ? x.name || x.id : "Summary"),
        x ? h("dl", {},
          h("dt", {}, "Status"), h("dd", {}, stateBadge(x.status)),
          h("dt", {}, "Size"), h("dd", {}, bytes(x.storage_size)),
          h("dt", {}, "Messages"), h("dd", {}, x.message || "none"),
          h("dt", {}, "Runs"), h("dd", {}, num(x.runs_completed)),
          h("dt", {}, "Counter"), h("dd", {}, x.counter === null ? "—" : num(x.counter)),
          h("dt", {}, "Progress"), h("dd", {}, x.progress === null || x.progress === undefined ? "—" : String(x.progress)),
          h("dt", {}, "Location"), h("dd", {}, x.root_url ? h("code", {}, x.root_url) : "—"),
          h("dt", {}, "Period"), h("dd", {}, (x.from || "start") + " → " + (x.to || "ongoing")))
          : h("dl", {}, h("dt", {}, "Exports shown"), h("dd", {}, num(rows.length) + " of " + num(exps.exports.length)),
            h("dt", {}, "Total size"), h("dd", {}, bytes(totalSize)),
            h("dt", {}, "Failed"), h("dd", {}, num(rows.filter((r) => r.status === "failed").length)),
            h("dt", {}, "Messages"), h("dd", {}, rows.filter((r) => r.message).map((r) => (r.name || r.id) + ": " + r.message).join("; ") || "none")));
    }
    [statusSel, typeSel, connSel].forEach((el) => el.addEventListener("change", render));
    search.addEventListener("input", render);
    await poll(async () => {
      let next;
      try { next = await loadAll(["/v1/admin/exports", "/v1/admin/connections"]); replace(errors); }
      catch (e) { replace(errors, errorBox(e)); throw e; }
      // Unchanged data is not redrawn: the keyboard focus stays where it is.
      if (data && JSON.stringify(next) === JSON.stringify(data)) return;
      data = next;
      render();
    });
  }

  async function connectorsView() {
    const errors = h("div", {});
    const jars = h("tbody", {});
    const syncs = h("tbody", {});
    replace(main, h("h1", {}, "Connectors"), errors,
      h("h2", {}, "Uploaded connector jars"),
      h("div", { class: "table-wrap" }, h("table", { id: "connector-jars" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Jar (sha-256)"), h("th", { scope: "col" }, "Classes"), h("th", { scope: "col", class: "num" }, "Size"), h("th", { scope: "col" }, "Uploaded"))), jars)),
      h("h2", {}, "Connector connections and their last syncs"),
      h("div", { class: "table-wrap" }, h("table", { id: "connector-syncs" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Connection"), h("th", { scope: "col" }, "Class"), h("th", { scope: "col" }, "State"),
          h("th", { scope: "col" }, "Last sync"), h("th", { scope: "col", class: "num" }, "Syncs"), h("th", { scope: "col" }, "Next sync"))), syncs)));
    await poll(async () => {
      let js, conns;
      try { [js, conns] = await loadAll(["/v1/admin/connectors", "/v1/admin/connections"]); replace(errors); }
      catch (e) { replace(errors, errorBox(e)); throw e; }
      replace(jars, js.connectors.length ? js.connectors.map((j) => h("tr", {}, h("th", { scope: "row" }, h("code", {}, j.id.slice(0, 16) + "…")),
        h("td", {}, j.classes.join(", ")), h("td", { class: "num" }, bytes(j.size_bytes)), h("td", {}, time(j.uploaded_at))))
        : emptyRow(4, "No connector uploaded. POST a jar to /v1/admin/connectors (Content-Type: application/java-archive)."));
      const cc = conns.connections.filter((c) => c.kind === "connector");
      const statuses = await statusesOf(cc);
      replace(syncs, cc.length ? cc.map((c) => {
        const st = statuses[c.id], k = st.connector || {};
        return h("tr", {}, h("th", { scope: "row" }, h("a", { href: `#/connections/${seg(c.id)}` }, c.name)),
          h("td", {}, h("code", {}, c.connector ? c.connector.class : "—")),
          h("td", {}, stateBadge(k.running ? "in_progress" : st.state), (k.last_error || st.last_error) ? h("span", { class: "reason" }, k.last_error || st.last_error) : null),
          h("td", {}, time(k.last_sync_at)), h("td", { class: "num" }, num(k.syncs_total)), h("td", {}, k.next_sync_at ? k.next_sync_at.slice(11, 19) + " UTC" : "—"));
      }) : emptyRow(6, "No connector connections. Create one with kind \"connector\" once a jar is uploaded."));
    });
  }

  async function clusterView() {
    const errors = h("div", {});
    const info = h("div", { class: "grid" });
    const members = h("tbody", {});
    const shards = h("tbody", {});
    replace(main, h("h1", {}, "Cluster"), errors, info,
      h("h2", {}, "Members"),
      h("div", { class: "table-wrap" }, h("table", { id: "members" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Address"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Reachable"), h("th", { scope: "col", class: "hide-narrow" }, "Roles"))), members)),
      h("h2", {}, "Shards per member"),
      h("div", { class: "table-wrap" }, h("table", { id: "shards" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Member"), h("th", { scope: "col" }, "Entity type"), h("th", { scope: "col", class: "num" }, "Shards"), h("th", { scope: "col", class: "num" }, "Entities"))), shards)));
    await poll(async () => {
      let c;
      try { c = await api("GET", "/v1/admin/cluster"); replace(errors); }
      catch (e) { replace(errors, errorBox(e)); throw e; }
      replace(info,
        h("div", { class: "figure" }, h("div", { class: "label" }, "This node"), h("div", {}, h("code", {}, c.self_address))),
        h("div", { class: "figure" }, h("div", { class: "label" }, "Leader"), h("div", {}, h("code", {}, c.leader || "none"))),
        h("div", { class: "figure" }, h("div", { class: "label" }, "Members"), h("div", { class: "value" }, num(c.members.length))));
      replace(members, c.members.map((m) => h("tr", {}, h("th", { scope: "row" }, h("code", {}, m.address)), h("td", {}, stateBadge(m.status)),
        h("td", {}, m.reachable ? "yes" : h("span", { class: "stale" }, "unreachable")), h("td", { class: "hide-narrow" }, m.roles.join(", ") || "—"))));
      const rows = [];
      for (const [member, types] of Object.entries(c.shards)) for (const [type, t] of Object.entries(types))
        rows.push(h("tr", {}, h("th", { scope: "row" }, h("code", {}, member)), h("td", {}, type), h("td", { class: "num" }, num(t.shards)), h("td", { class: "num" }, num(t.entities))));
      replace(shards, rows.length ? rows : emptyRow(4, "No shard allocated yet."));
    });
  }

  // ---- routing ----
  function route() {
    leave();
    if (!token()) { showLogin(); return; }
    nav.hidden = false; logoutButton.hidden = false;
    const parts = (location.hash || "#/connections").replace(/^#\/?/, "").split("/").map((p) => { try { return decodeURIComponent(p); } catch (e) { return p; } });
    const section = parts[0] || "connections";
    for (const a of nav.querySelectorAll("a")) {
      if (a.dataset.section === section) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    const views = {
      connections: () => parts[1] ? (parts[2] === "tail" ? tailView(parts[1]) : connectionView(parts[1])) : connectionsView(),
      login: () => { location.hash = "#/connections"; },
      destinations: destinationsView, exports: exportsView, connectors: connectorsView, cluster: clusterView,
    };
    const view = views[section];
    if (!view) { replace(main, h("h1", {}, "Not found"), h("p", {}, "No such page. ", h("a", { href: "#/connections" }, "Go to connections."))); return; }
    Promise.resolve(view()).catch((e) => { if (e instanceof ApiError && e.status === 401) return; replace(main, errorBox(e)); });
    document.title = "Weir console · " + section;
  }
  window.addEventListener("hashchange", () => { route(); main.focus({ preventScroll: true }); });
  logoutButton.addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); location.hash = "#/login"; showLogin(); });
  route();
})();
