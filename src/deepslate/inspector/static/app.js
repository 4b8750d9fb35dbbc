// deepslate inspector: a one-page app over the JSON API under /api/ (no framework, no build step).
// Every value that comes from the store goes into the page as text (textContent, createElement),
// never as markup.
"use strict";

(() => {
  const STATUSES = ["running", "sleeping", "waiting", "done", "failed", "cancelled"];
  const LIVE = ["running", "sleeping", "waiting"];
  const POLL_MS = 1000;
  const TYPING_PAUSE_MS = 1500;
  const FLOWS_EVERY = 10;          // polls between two looks at the flow names

  const app = document.getElementById("app");
  const live = document.getElementById("live");
  const toasts = document.getElementById("toasts");

  // -- building the page -------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
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

  const SVG = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "text") el.textContent = v;
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat()) if (c) el.append(c);
    return el;
  }

  function statusClass(st) {
    return "st-" + (STATUSES.includes(st) ? st : "cancelled");
  }

  function badge(st) {
    return h("span", {class: "badge " + statusClass(st), text: st});
  }

  // -- formatting --------------------------------------------------------------------------------

  const pad2 = (n) => String(n).padStart(2, "0");

  function when(t) {
    if (t === null || t === undefined) return "–";
    const d = new Date(t * 1000);
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
      `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }

  function span(seconds) {
    const s = Math.max(0, Math.floor(seconds));      // a countdown shows 59 s, not 1 min, to go
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${pad2(s % 60)} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${pad2(Math.floor((s % 3600) / 60))} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  }

  function ago(t) {
    const d = Date.now() / 1000 - t;
    if (d < 1.5) return "just now";
    return span(d) + " ago";
  }

  function until(t) {
    const d = t - Date.now() / 1000;
    if (d >= 1) return "in " + span(d);
    return d > -2 ? "now" : "overdue by " + span(-d);      // a timer fires a moment after its time
  }

  function bytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1048576).toFixed(1)} MiB`;
  }

  const num = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : "–");

  function countdown(t) {
    return h("span", {class: "countdown", "data-until": t, text: until(t), title: when(t)});
  }

  // -- the API -------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, body) {
    const init = {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"};
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.headers["X-Deepslate-Action"] = "1";
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, "the inspector cannot be reached");
    }
    let data = null;
    try {
      data = await r.json();
    } catch (e) {
      data = null;
    }
    if (!r.ok) throw new ApiError(r.status, (data && data.error) || `${r.status} ${r.statusText}`);
    return data;
  }

  const isolatePath = (name) => "/api/isolates/" + encodeURIComponent(name);
  const isolateHash = (name) => "#/isolate/" + encodeURIComponent(name);

  function toast(message, bad) {
    const t = h("div", {class: "toast" + (bad ? " bad" : ""), text: message});
    toasts.append(t);
    setTimeout(() => t.remove(), bad ? 7000 : 3500);
  }

  function setLive(state, text) {
    live.className = "live " + state;
    live.textContent = text;
  }

  // -- routes ----------------------------------------------------------------------------------------

  function route() {
    const raw = location.hash.replace(/^#/, "") || "/";
    if (raw.startsWith("/isolate/")) {
      let name = null;
      try {
        name = decodeURIComponent(raw.slice("/isolate/".length));
      } catch (e) {
        name = null;
      }
      return {view: "detail", name};
    }
    const p = new URLSearchParams(raw.split("?")[1] || "");
    return {view: "list", status: p.get("status") || "", flow: p.get("flow") || "", q: p.get("q") || "",
            cursor: p.get("cursor") || ""};
  }

  function listHash(f) {
    const p = new URLSearchParams();
    for (const k of ["status", "flow", "q", "cursor"]) if (f[k]) p.set(k, f[k]);
    const q = p.toString();
    return "#/" + (q ? "?" + q : "");
  }

  // -- charts ------------------------------------------------------------------------------------------

  const CHART = {w: 560, h: 150, left: 44, right: 10, top: 10, bottom: 20};

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  function shortNum(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(v % 1e6 ? 1 : 0) + "M";
    if (v >= 1e4) return (v / 1e3).toFixed(0) + "k";
    return String(v >= 100 ? Math.round(v) : Math.round(v * 10) / 10);
  }

  // One SVG chart of ``series`` ([{key, values: [number|null]}]) over the samples' times.
  function chart(times, series, windowSeconds, area) {
    const {w, h: ht, left, right, top, bottom} = CHART;
    const now = times.length ? times[times.length - 1] : Date.now() / 1000;
    const t0 = now - windowSeconds;
    const x = (t) => left + ((t - t0) / windowSeconds) * (w - left - right);
    let max = 0;
    for (const sr of series) for (const v of sr.values) if (v !== null && v > max) max = v;
    max = niceMax(max);
    const y = (v) => top + (1 - v / max) * (ht - top - bottom);
    const parts = [];
    for (const f of [0, 0.5, 1]) {
      const yy = y(max * f);
      parts.push(s("line", {class: "axis", x1: left, x2: w - right, y1: yy, y2: yy}));
      parts.push(s("text", {class: "tick", x: left - 6, y: yy + 3, "text-anchor": "end", text: shortNum(max * f)}));
    }
    const ago = (sec) => (windowSeconds <= 120 ? `−${sec} s` : `−${sec / 60} min`);
    for (const [f, label] of [[0, ago(windowSeconds)], [0.5, ago(windowSeconds / 2)], [1, "now"]]) {
      parts.push(s("text", {class: "tick", x: left + f * (w - left - right), y: ht - 5,
                            "text-anchor": f === 0 ? "start" : f === 1 ? "end" : "middle", text: label}));
    }
    for (const sr of series) {
      let d = "";
      let fill = "";
      let pen = false;
      let first = null;
      let last = null;
      sr.values.forEach((v, i) => {
        if (v === null || times[i] < t0) {
          pen = false;
          return;
        }
        const px = x(times[i]).toFixed(1);
        const py = y(v).toFixed(1);
        d += (pen ? "L" : "M") + px + " " + py + " ";
        pen = true;
        if (first === null) first = px;
        last = px;
        fill += (fill ? "L" : "M") + px + " " + py + " ";
      });
      if (area && first !== null) {
        const base = y(0).toFixed(1);
        parts.push(s("path", {class: "area s-" + sr.key, d: fill + `L${last} ${base} L${first} ${base} Z`}));
      }
      if (d) parts.push(s("path", {class: "series s-" + sr.key, d}));
    }
    return s("svg", {viewBox: `0 0 ${w} ${ht}`, role: "img"}, parts);
  }

  // -- the isolate list ------------------------------------------------------------------------------------

  class ListView {
    constructor() {
      this.kind = "list";
      this.filters = {status: "", flow: "", q: "", cursor: ""};
      this.previous = [];          // cursors of the pages before this one (for "Newer")
      this.rows = new Map();       // name -> <tr>, kept across refreshes
      this.flows = [];
      this.polls = 0;
      this.typedAt = 0;
      this.hidden = new Set(["done", "cancelled"]);     // status series left out of the chart
      this.stats = null;
      this.build();
    }

    build() {
      this.totalEl = h("span", {class: "total"});
      this.chipsEl = h("div", {class: "chips"});
      this.stepsNow = h("div", {class: "now"});
      this.stepsChart = h("div", {class: "chart"});
      this.statusChart = h("div", {class: "chart"});
      this.legend = h("div", {class: "legend"});
      this.flowSel = h("select", {"aria-label": "flow", onchange: () => this.setFilter({flow: this.flowSel.value})},
                       h("option", {value: "", text: "All flows"}));
      this.search = h("input", {type: "search", placeholder: "Search names…", "aria-label": "search names",
                                oninput: () => this.typed()});
      this.showing = h("span", {class: "showing"});
      this.tbody = h("tbody");
      this.newer = h("button", {class: "btn", text: "← Newer", onclick: () => this.page(-1)});
      this.older = h("button", {class: "btn", text: "Older →", onclick: () => this.page(1)});
      this.pageLabel = h("span", {class: "muted"});
      this.el = h("section", {class: "list"},
        h("div", {class: "page-head"}, h("h1", {text: "Isolates"}), this.totalEl),
        this.chipsEl,
        h("div", {class: "grid2"},
          h("div", {class: "card"}, h("div", {class: "chart-head"}, h("h2", {text: "Steps per second"}), this.stepsNow),
            this.stepsChart),
          h("div", {class: "card"}, h("div", {class: "chart-head"}, h("h2", {text: "Isolates by status"})),
            this.statusChart, this.legend)),
        h("div", {class: "card flush"},
          h("div", {class: "toolbar"}, this.search, this.flowSel, h("span", {class: "spacer"}), this.showing),
          h("table", {id: "isolates"},
            h("thead", {}, h("tr", {},
              h("th", {text: "Name"}), h("th", {text: "Flow"}), h("th", {text: "Status"}),
              h("th", {class: "num", text: "Steps"}), h("th", {text: "Waits on / error"}), h("th", {text: "Updated"}))),
            this.tbody),
          h("div", {class: "pager"}, this.pageLabel, this.newer, this.older)));
      this.renderChips({});
    }

    mount(r) {
      app.replaceChildren(this.el);
      this.apply(r);
    }

    apply(r) {
      const changed = r.status !== this.filters.status || r.flow !== this.filters.flow || r.q !== this.filters.q;
      if (changed || !r.cursor) this.previous = [];
      this.filters = {status: r.status, flow: r.flow, q: r.q, cursor: r.cursor};
      if (document.activeElement !== this.search) this.search.value = r.q;
    }

    setFilter(change) {
      const f = Object.assign({}, this.filters, change, {cursor: ""});
      this.previous = [];
      location.hash = listHash(f);
    }

    typed() {
      this.typedAt = Date.now();
      clearTimeout(this.typing);
      this.typing = setTimeout(() => {
        const f = Object.assign({}, this.filters, {q: this.search.value.trim(), cursor: ""});
        this.previous = [];
        history.replaceState(null, "", listHash(f));
        this.filters = f;
        this.force = true;        // the search itself is not held back by the pause for typing
        tick();
      }, 300);
    }

    page(dir) {
      if (dir > 0 && this.next) {
        this.previous.push(this.filters.cursor);
        location.hash = listHash(Object.assign({}, this.filters, {cursor: this.next}));
      } else if (dir < 0) {
        location.hash = listHash(Object.assign({}, this.filters, {cursor: this.previous.pop() || ""}));
      }
    }

    paused() {
      return document.activeElement === this.search && Date.now() - this.typedAt < TYPING_PAUSE_MS;
    }

    // False when held back while the user types in the search box.
    async refresh() {
      const force = this.force;
      this.force = false;
      if (!force && this.paused()) {
        setLive("paused", "paused while you type");
        return false;
      }
      const f = this.filters;
      const p = new URLSearchParams();
      for (const k of ["status", "flow", "q", "cursor"]) if (f[k]) p.set(k, f[k]);
      const asked = JSON.stringify(f);
      const wantFlows = this.polls++ % FLOWS_EVERY === 0;
      const [list, stats, flows] = await Promise.all([
        api("/api/isolates?" + p.toString()), api("/api/stats"), wantFlows ? api("/api/flows") : null]);
      if (asked !== JSON.stringify(this.filters)) return;      // the filters changed meanwhile
      if (flows) this.renderFlows(flows.flows);
      this.renderChips(list.counts, list.total);
      this.renderRows(list.items);
      this.next = list.next;
      this.newer.disabled = !f.cursor;
      this.older.disabled = !list.next;
      // a page opened from its address does not know how many come before it
      this.pageLabel.textContent = !f.cursor ? "page 1" : this.previous.length ? `page ${this.previous.length + 1}` : "";
      this.showing.textContent = list.items.length
        ? `${list.items.length} shown` + (list.next ? ", more on the next page" : "") : "";
      this.stats = stats;
      this.renderCharts();
      return true;
    }

    renderFlows(names) {
      if (JSON.stringify(names) === JSON.stringify(this.flows)) return;
      this.flows = names;
      const opts = [h("option", {value: "", text: "All flows"})];
      for (const n of names) opts.push(h("option", {value: n, text: n}));
      if (this.filters.flow && !names.includes(this.filters.flow)) {
        opts.push(h("option", {value: this.filters.flow, text: this.filters.flow}));
      }
      this.flowSel.replaceChildren(...opts);
      this.flowSel.value = this.filters.flow;
    }

    renderChips(counts, total) {
      this.totalEl.textContent = total === undefined ? "" : `${num(total)} in the store`;
      const chips = [["", "All", total]].concat(STATUSES.map((st) => [st, st, counts[st] || 0]));
      if (!this.chips) {
        this.chips = new Map();
        for (const [st, label] of chips) {
          const n = h("span", {class: "n", text: "–"});
          const b = h("button", {class: "chip", "data-status": st || "all", onclick: () =>
            this.setFilter({status: this.filters.status === st ? "" : st})}, n, h("span", {class: "l", text: label}));
          this.chips.set(st, {b, n});
          this.chipsEl.append(b);
        }
      }
      for (const [st, , count] of chips) {
        const c = this.chips.get(st);
        c.n.textContent = count === undefined ? "–" : num(count);
        c.n.classList.toggle("nonzero", !!count);
        c.b.classList.toggle("active", this.filters.status === st);
      }
    }

    renderRows(items) {
      const seen = new Set();
      const order = [];
      for (const it of items) {
        seen.add(it.name);
        let tr = this.rows.get(it.name);
        if (!tr) {
          tr = this.row(it.name);
          this.rows.set(it.name, tr);
        }
        this.fill(tr, it);
        order.push(tr);
      }
      for (const [name, tr] of this.rows) if (!seen.has(name)) this.rows.delete(name);
      if (!items.length) {
        const f = this.filters;
        const filtered = f.status || f.flow || f.q;
        order.push(h("tr", {}, h("td", {class: "empty", colspan: 6,
          text: filtered ? "No isolates match these filters." : "No isolates yet. Spawn one and it shows here."})));
      }
      // moved rows only: untouched ones keep their place (and any selection in them)
      const current = Array.from(this.tbody.children);
      if (current.length !== order.length || current.some((tr, i) => tr !== order[i])) {
        this.tbody.replaceChildren(...order);
      }
    }

    row(name) {
      const link = h("a", {href: isolateHash(name), text: name});
      const tr = h("tr", {"data-name": name},
        h("td", {class: "name"}, link), h("td", {class: "flow"}), h("td", {class: "status"}),
        h("td", {class: "num steps"}), h("td", {class: "what"}), h("td", {class: "when"}));
      return tr;
    }

    fill(tr, it) {
      const [, flow, status, steps, what, upd] = tr.children;
      flow.textContent = it.flow;
      if (status.dataset.st !== it.status) {
        status.dataset.st = it.status;
        status.replaceChildren(badge(it.status));
      }
      steps.textContent = num(it.steps);
      let text = "";
      if (it.status === "failed") text = it.error || "failed";
      else if (it.status === "sleeping" && it.wake_at) text = "timer, wakes " + until(it.wake_at);
      else if (it.status === "waiting") {
        text = it.waiting_on || "waiting";
        if (it.wake_at) text += " · deadline " + until(it.wake_at);
      }
      what.textContent = text;
      what.title = text;
      what.classList.toggle("err", it.status === "failed");
      upd.textContent = ago(it.updated_at);
      upd.title = when(it.updated_at);
    }

    renderCharts() {
      const st = this.stats;
      if (!st) return;
      const samples = st.samples;
      const times = samples.map((x) => x.t);
      // the samples so far, on a scale of 1, 2, 5 or 10 minutes: a new inspector's first minute fills the chart
      const seen = times.length ? times[times.length - 1] - times[0] : 0;
      const windowSeconds = [60, 120, 300, 600].find((w) => seen <= w) || st.window * st.interval;
      const steps = samples.map((x) => x.steps_per_second);
      const lastRate = steps.filter((v) => v !== null).slice(-1)[0];
      this.stepsNow.replaceChildren(lastRate === undefined ? "–" : shortNum(lastRate), h("small", {text: " steps/s"}));
      this.stepsChart.replaceChildren(chart(times, [{key: "steps", values: steps}], windowSeconds, true));
      const series = STATUSES.filter((k) => !this.hidden.has(k))
        .map((k) => ({key: k, values: samples.map((x) => (x.statuses ? x.statuses[k] || 0 : null))}));
      this.statusChart.replaceChildren(chart(times, series, windowSeconds, false));
      const last = samples.length ? samples[samples.length - 1].statuses : {};
      this.legend.replaceChildren(...STATUSES.map((k) => {
        const b = h("button", {class: this.hidden.has(k) ? "off" : "", title: "show or hide",
                               onclick: () => {
                                 if (this.hidden.has(k)) this.hidden.delete(k);
                                 else this.hidden.add(k);
                                 this.renderCharts();
                               }},
                    h("i", {class: "c-" + k}), `${k} ${num(last[k] || 0)}`);
        b.firstChild.style.setProperty("--c", `var(--${k})`);
        return b;
      }));
    }
  }

  // -- values as trees -------------------------------------------------------------------------------------

  const MAX_STR = 400;

  function isRecord(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  // A value as the flow sees it: Python spellings for None, True and False.
  function scalar(v) {
    if (v === null) return h("span", {class: "v-none", text: "None"});
    if (typeof v === "boolean") return h("span", {class: "v-bool", text: v ? "True" : "False"});
    if (typeof v === "number") return h("span", {class: "v-num", text: String(v)});
    if (typeof v === "string") {
      const shown = JSON.stringify(v.length > MAX_STR ? v.slice(0, MAX_STR) : v);
      return h("span", {class: "v-str", text: shown},
        v.length > MAX_STR ? h("span", {class: "v-more", text: ` … ${num(v.length)} characters`}) : null);
    }
    return h("span", {text: String(v)});
  }

  function summaryOf(v) {
    if (Array.isArray(v)) return `list · ${v.length} item${v.length === 1 ? "" : "s"}`;
    if (typeof v.__dataclass__ === "string") {
      const cls = v.__dataclass__.split(":").pop();
      const n = Object.keys(v).length - 1;
      return `${cls} · ${n} field${n === 1 ? "" : "s"}`;
    }
    const n = Object.keys(v).length;
    return `dict · ${n} key${n === 1 ? "" : "s"}`;
  }

  class Tree {
    constructor() {
      this.open = new Map();       // path -> open, as the user left it
    }

    value(v, path, depth) {
      if (!Array.isArray(v) && !isRecord(v)) return scalar(v);
      const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x])
        : Object.entries(v).filter(([k]) => k !== "__dataclass__").map(([k, x]) =>
          [typeof v.__dataclass__ === "string" ? k : JSON.stringify(k), x]);
      const remembered = this.open.get(path);
      const open = remembered !== undefined ? remembered : depth === 0 && entries.length <= 8;
      const d = h("details", {class: "tree-node", "data-path": path, open},
        h("summary", {text: summaryOf(v)}));
      d.addEventListener("toggle", () => this.open.set(path, d.open));
      const kids = h("div", {class: "kids"});
      const limit = 200;
      for (const [k, x] of entries.slice(0, limit)) {
        kids.append(h("div", {class: "kid"}, h("span", {class: "kk", text: k + ":"}),
          h("span", {}, this.value(x, path + "/" + k, depth + 1))));
      }
      if (entries.length > limit) kids.append(h("div", {class: "v-more", text: `… ${entries.length - limit} more`}));
      d.append(kids);
      return d;
    }
  }

  // -- the isolate detail -----------------------------------------------------------------------------------

  // Source lines of flow ``fn`` around ``line`` from the detail's sources: [{n, text}] or null.
  function sourceLines(sources, fn) {
    const src = sources && sources[fn];
    if (!src || typeof src.text !== "string") return null;
    return src.text.replace(/\n$/, "").split("\n").map((text, i) => ({n: src.firstlineno + i, text}));
  }

  function codeBlock(lines, mark, markClass, col) {
    const box = h("div", {class: "code"});
    let target = null;
    for (const ln of lines) {
      const row = h("div", {class: "line" + (ln.n === mark ? " " + markClass : ""), "data-line": ln.n},
        h("span", {class: "ln", text: ln.n}), h("span", {class: "src", text: ln.text || " "}));
      box.append(row);
      if (ln.n === mark) {
        target = row;
        if (col && markClass === "faulty") {
          box.append(h("div", {class: "line"}, h("span", {class: "ln"}),
            h("span", {class: "src caret", text: " ".repeat(Math.max(0, col - 1)) + "^"})));
        }
      }
    }
    box._target = target;
    return box;
  }

  function scrollToMark(box) {
    const t = box._target;
    if (t) box.scrollTop = Math.max(0, t.offsetTop - box.clientHeight / 2 + t.offsetHeight / 2);
  }

  function waitText(d) {
    const w = d.wait;
    if (!w) return null;
    const parts = [];
    if (w.kind === "sleep") {
      parts.push(h("span", {class: "wait-kind", text: "a timer"}), " · wakes ", countdown(w.until));
    } else if (w.kind === "http_listen") {
      parts.push(h("span", {class: "wait-kind", text: "an HTTP message"}), " on ",
        h("code", {text: `${w.method || "?"} ${w.route || "?"}`}));
      if (w.until) parts.push(" · deadline ", countdown(w.until));
    } else {
      const names = {queue_get: "a queue item", queue_put: "room in a queue", lock_acquire: "a lock",
                     wg_wait: "a wait group (its children)", select: "the first of several events"};
      parts.push(h("span", {class: "wait-kind", text: names[w.kind] || w.kind}));
      if (w.detail) parts.push(" · ", h("code", {text: w.detail}));
      if (w.until) parts.push(" · deadline ", countdown(w.until));
    }
    return parts;
  }

  class DetailView {
    constructor(name) {
      this.kind = "detail";
      this.name = name;
      this.last = null;            // the last detail's JSON text: unchanged, nothing is redrawn
      this.data = null;
      this.sections = [];          // [{key, sig, el}] in page order
      this.tree = new Tree();
      this.busy = {};              // action -> a POST of it is under way
      this.build();
    }

    build() {
      const name = this.name === null ? "(not a name)" : this.name;
      this.statusEl = h("span");
      this.cancelBtn = h("button", {class: "btn danger", text: "Cancel", id: "cancel",
                                    onclick: () => this.cancel()});
      this.retryBtn = h("button", {class: "btn primary", text: "Retry", id: "retry", onclick: () => this.retry()});
      this.sendBtn = h("button", {class: "btn", text: "Send message…", id: "send-toggle",
                                  onclick: () => this.toggleSend()});
      this.body = h("div", {id: "sections"});
      this.form = this.sendForm();
      this.el = h("section", {class: "detail"},
        h("nav", {class: "crumbs"}, h("a", {href: "#/", text: "Isolates"}), h("span", {class: "sep", text: "›"}),
          h("span", {text: name})),
        h("div", {class: "detail-head"}, h("h1", {id: "isolate-name", text: name}), this.statusEl,
          h("div", {class: "actions"}, this.sendBtn, this.retryBtn, this.cancelBtn)),
        this.form, this.body);
      this.form.hidden = true;
      this.actionsState();
    }

    sendForm() {
      this.method = h("select", {id: "send-method"}, ["POST", "PUT", "PATCH", "DELETE", "GET"].map(
        (m) => h("option", {value: m, text: m})));
      this.routeIn = h("input", {id: "send-route", placeholder: "/route", oninput: () => { this.routeEdited = true; }});
      this.bodyIn = h("textarea", {id: "send-body", placeholder: "the message body, as text"});
      this.sendGo = h("button", {class: "btn primary", text: "Send", id: "send-go", onclick: () => this.send()});
      return h("div", {class: "card"}, h("h2", {text: "Send a message to http_listen"}),
        h("div", {class: "sendform"},
          h("label", {for: "send-method", text: "Method"}), h("div", {class: "row"}, this.method),
          h("label", {for: "send-route", text: "Route"}), this.routeIn,
          h("label", {for: "send-body", text: "Body"}), this.bodyIn,
          h("span"), h("div", {class: "row"}, this.sendGo,
            h("button", {class: "btn", text: "Close", onclick: () => this.toggleSend()}))));
    }

    mount() {
      app.replaceChildren(this.el);
    }

    // -- actions

    actionsState() {
      const d = this.data;
      const st = d ? d.status : null;
      const retryable = st === "failed" && d.snapshot_bytes > 0;
      this.cancelBtn.disabled = !!this.busy.cancel || !(LIVE.includes(st) || retryable);
      this.retryBtn.disabled = !!this.busy.retry || !retryable;
      this.sendBtn.disabled = !(LIVE.includes(st) || retryable);
      this.sendGo.disabled = !!this.busy.send;
      for (const [k, b] of [["cancel", this.cancelBtn], ["retry", this.retryBtn], ["send", this.sendGo]]) {
        b.classList.toggle("busy", !!this.busy[k]);
      }
    }

    async act(kind, verb, body, done) {
      if (this.busy[kind]) return;
      this.busy[kind] = true;          // before any await: a second click finds the button disabled
      this.actionsState();
      try {
        const r = await api(isolatePath(this.name) + "/" + verb, body);
        toast(done(r));
      } catch (e) {
        toast(e.message, true);
      } finally {
        this.busy[kind] = false;
        this.last = null;
        await this.refresh().catch(() => {});
        this.actionsState();
      }
    }

    cancel() {
      const b = this.cancelBtn;
      if (!b.classList.contains("confirm")) {      // first click arms it; a second one cancels
        b.classList.add("confirm");
        b.textContent = "Confirm cancel";
        clearTimeout(this.disarm);
        this.disarm = setTimeout(() => {
          b.classList.remove("confirm");
          b.textContent = "Cancel";
        }, 4000);
        return;
      }
      clearTimeout(this.disarm);
      b.classList.remove("confirm");
      b.textContent = "Cancel";
      this.act("cancel", "cancel", {}, () => `Cancelled ${this.name}`);
    }

    retry() {
      const failedAt = this.data ? this.data.updated_at : null;
      this.act("retry", "retry", {failed_at: failedAt}, () => `Retrying ${this.name}`);
    }

    toggleSend() {
      this.form.hidden = !this.form.hidden;
      if (!this.form.hidden) this.routeIn.focus();
    }

    send() {
      const body = {method: this.method.value, route: this.routeIn.value.trim(), body: this.bodyIn.value};
      this.act("send", "send", body, (r) => `Message ${r.id} committed for ${body.method} ${body.route}`);
    }

    // -- reading

    async refresh() {
      if (this.name === null) {
        this.body.replaceChildren(h("div", {class: "banner", text: "This address does not name an isolate."}));
        return;
      }
      let text;
      try {
        const r = await fetch(isolatePath(this.name), {headers: {"Accept": "application/json"},
                                                        credentials: "same-origin", cache: "no-store"});
        text = await r.text();
        if (!r.ok) {
          let msg = `${r.status} ${r.statusText}`;
          try {
            msg = JSON.parse(text).error || msg;
          } catch (e) { /* not JSON */ }
          throw new ApiError(r.status, msg);
        }
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          this.data = null;
          this.last = null;
          this.statusEl.replaceChildren();
          this.actionsState();
          this.sections = [];
          this.body.replaceChildren(h("div", {class: "banner", text: e.message}));
          return;
        }
        throw e instanceof ApiError ? e : new ApiError(0, "the inspector cannot be reached");
      }
      if (text === this.last) return;
      this.last = text;
      this.data = JSON.parse(text);
      this.render();
    }

    render() {
      const d = this.data;
      if (this.statusEl.dataset.st !== d.status) {
        this.statusEl.dataset.st = d.status;
        this.statusEl.replaceChildren(badge(d.status));
      }
      this.actionsState();
      if (d.wait && d.wait.kind === "http_listen" && !this.routeEdited && d.wait.route) {
        this.routeIn.value = d.wait.route;
        if (d.wait.method) this.method.value = d.wait.method;
      }
      const want = [];
      const add = (key, sig, build) => want.push({key, sig: JSON.stringify(sig), build});
      add("overview", [d.status, d.wait, d.flow, d.program, d.steps, d.snapshot_bytes, d.created_at, d.updated_at,
                       d.parent, d.children, d.detached, d.waiting_on], () => this.overview(d));
      // a running isolate's error column may hold a retry's note: only an ended one shows it
      if (d.error && (d.status === "failed" || d.status === "cancelled")) {
        add("error", [d.error, d.sources, d.status, d.snapshot_bytes > 0], () => this.errorCard(d));
      }
      if (d.status === "done") add("result", [d.result], () => this.resultCard(d));
      if (d.frames_error) add("frames-error", d.frames_error, () => h("div", {class: "banner",
        text: "The snapshot's frames cannot be read: " + d.frames_error}));
      d.frames.forEach((f, i) => {
        const last = i === d.frames.length - 1;
        add(`frame-${i}`, [d.program, f.function, f.filename, f.line, f.col, f.locals, f.types, f.registers, last,
                           d.frames.length], () => this.frameCard(d, f, i, last));
      });
      add("log", d.log, () => this.logCard(d));
      if (d.inbox && d.inbox.length) add("inbox", d.inbox, () => this.inboxCard(d));
      this.reconcile(want);
    }

    // Replace only the sections whose data changed; the rest keep their nodes (and the scroll
    // position of their code and log boxes).
    reconcile(want) {
      const sameKeys = want.length === this.sections.length && want.every((w, i) => w.key === this.sections[i].key);
      if (!sameKeys) {
        this.sections = want.map((w) => ({key: w.key, sig: w.sig, el: w.build()}));
        this.body.replaceChildren(...this.sections.map((x) => x.el));
        this.afterInsert(this.sections.map((x) => x.el));
        return;
      }
      const fresh = [];
      want.forEach((w, i) => {
        const have = this.sections[i];
        if (have.sig === w.sig) return;
        const el = w.build();
        have.el.replaceWith(el);
        this.sections[i] = {key: w.key, sig: w.sig, el};
        fresh.push(el);
      });
      this.afterInsert(fresh);
    }

    afterInsert(els) {
      for (const el of els) {
        for (const box of el.querySelectorAll(".code")) scrollToMark(box);
        for (const log of el.querySelectorAll(".log")) log.scrollTop = log.scrollHeight;
      }
    }

    overview(d) {
      const kv = [];
      const row = (k, wide, ...v) => kv.push(h("dt", {text: k}), h("dd", {class: wide ? "wide" : null}, ...v));
      const wait = waitText(d);
      if (wait) row("Waits on", true, ...wait);
      else if (d.waiting_on && LIVE.includes(d.status)) row("Waits on", true, h("code", {text: d.waiting_on}));
      row("Flow", false, h("code", {text: d.flow}));
      row("Steps", false, num(d.steps));
      row("Program", false, h("code", {text: d.program.slice(0, 16), title: d.program}));
      row("Snapshot", false, d.snapshot_bytes ? bytes(d.snapshot_bytes) : "none kept");
      row("Created", false, when(d.created_at), h("span", {class: "muted", text: "  (" + ago(d.created_at) + ")"}));
      row("Updated", false, when(d.updated_at), h("span", {class: "muted", text: "  (" + ago(d.updated_at) + ")"}));
      if (d.parent !== null && d.parent !== undefined) {
        row("Parent", true, h("span", {class: "links"}, h("a", {href: isolateHash(d.parent), text: d.parent})),
          d.detached ? h("span", {class: "muted", text: "detached: outlives it"}) : null);
      }
      if (d.children && d.children.length) {
        row("Children", true, h("span", {class: "links"},
          d.children.map((c) => h("a", {href: isolateHash(c), text: c}))));
      }
      return h("div", {class: "card", id: "overview"}, h("dl", {class: "kv"}, kv));
    }

    errorCard(d) {
      const e = d.error;
      const msg = typeof e === "object" && e !== null ? e.message : String(e);
      const card = h("div", {class: "card error-card", id: "error"}, h("h2", {text: "Error"}),
        h("pre", {class: "error-msg", text: msg || "(no message)"}));
      const frames = (e && Array.isArray(e.frames)) ? e.frames : [];
      for (const fr of frames) {
        const [fn, file, line, col] = fr;
        card.append(h("div", {class: "at"}, "at ", h("code", {text: fn}), " ", h("span", {text: `${file}:${line}`})));
        const lines = sourceLines(d.sources, fn);
        if (lines) {
          const near = lines.filter((l) => l.n >= line - 3 && l.n <= line + 2);
          card.append(codeBlock(near.length ? near : lines, line, "faulty", col));
        }
      }
      if (d.status === "failed") {
        card.append(h("p", {class: "note", text: d.snapshot_bytes
          ? "It kept its last good snapshot: once the cause is fixed, Retry resumes it from there."
          : "It kept no snapshot: it cannot be retried."}));
      }
      return card;
    }

    resultCard(d) {
      return h("div", {class: "card", id: "result"}, h("h2", {text: "Result"}),
        h("div", {class: "tree vars"}, this.tree.value(d.result, "result", 0)));
    }

    frameCard(d, f, i, last) {
      const head = h("div", {class: "frame-head"},
        h("span", {class: "fn", text: f.function}),
        f.filename ? h("span", {class: "where", text: `${f.filename}:${f.line}`}) : null,
        last ? h("span", {class: "tag cur", text: "current"}) : h("span", {class: "tag", text: `calls frame ${i + 1}`}));
      const card = h("div", {class: "card frame", "data-frame": i}, head);
      const lines = sourceLines(d.sources, f.function);
      if (lines) card.append(codeBlock(lines, f.line, "current", f.col));
      else if (f.registers) card.append(h("p", {class: "note", text: "The program is not in the store: raw registers."}));
      const vars = h("div", {class: "vars tree"});
      const names = Object.keys(f.locals || {});
      for (const k of names) {
        vars.append(h("div", {class: "var", "data-local": k}, h("span", {class: "k", text: k}),
          h("span", {class: "t", text: (f.types && f.types[k]) || ""}),
          h("span", {class: "v"}, this.tree.value(f.locals[k], `f${i}/${f.function}/${k}`, 0))));
      }
      if (f.registers) {
        vars.append(h("div", {class: "var"}, h("span", {class: "k", text: "registers"}), h("span", {class: "t"}),
          h("span", {class: "v"}, this.tree.value(f.registers, `f${i}/registers`, 0))));
      }
      if (!names.length && !f.registers) vars.append(h("p", {class: "note", text: "No locals at this line."}));
      card.append(h("div", {class: "locals"}, h("h3", {text: "Locals"}), vars));
      return card;
    }

    logCard(d) {
      const lines = d.log || [];
      return h("div", {class: "card", id: "log"}, h("h2", {text: "Log"}),
        lines.length ? h("pre", {class: "log", text: lines.join("\n")})
          : h("p", {class: "note", text: "Nothing printed yet (print() in a flow writes here)."}));
    }

    inboxCard(d) {
      const rows = d.inbox.map((m) => h("tr", {},
        h("td", {class: "num", text: m.id}), h("td", {class: "mono", text: m.isolate}),
        h("td", {}, h("code", {text: `${m.method} ${m.route}`})), h("td", {class: "num", text: bytes(m.bytes)}),
        h("td", {class: "what mono", text: m.head, title: m.head}), h("td", {class: "when", text: ago(m.created_at)})));
      return h("div", {class: "card flush", id: "inbox"},
        h("div", {class: "toolbar"}, h("h2", {text: "Inbox: messages not taken yet"})),
        h("table", {}, h("thead", {}, h("tr", {}, h("th", {class: "num", text: "#"}), h("th", {text: "Sent to"}),
          h("th", {text: "Route"}), h("th", {class: "num", text: "Size"}), h("th", {text: "Body"}),
          h("th", {text: "Received"}))), h("tbody", {}, rows)));
    }
  }

  // -- the page's life ---------------------------------------------------------------------------------------

  let view = null;
  let timer = null;
  let generation = 0;       // one chain of polls: a tick started later ends the earlier chain
  let blocked = false;      // a 401: nothing to poll until the token is given

  function show() {
    const r = route();
    blocked = false;
    if (r.view === "list") {
      if (view && view.kind === "list") view.apply(r);
      else {
        view = new ListView();
        view.mount(r);
      }
    } else {
      view = new DetailView(r.name);
      view.mount();
      window.scrollTo(0, 0);
    }
  }

  function needsToken() {
    blocked = true;
    setLive("off", "no token");
    app.replaceChildren(h("div", {class: "card"}, h("h1", {text: "This inspector asks for its token"}),
      h("p", {}, "Open it once as ", h("code", {text: location.origin + "/?token=<token>"}),
        ": the token is kept in a cookie and the address loses it again.")));
  }

  async function tick() {
    const mine = ++generation;
    clearTimeout(timer);
    if (view && !blocked && !document.hidden) {
      try {
        if ((await view.refresh()) !== false) setLive("on", "live");
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) needsToken();
        else setLive("off", e.message);
      }
    }
    if (mine === generation) timer = setTimeout(tick, POLL_MS);
  }

  // countdowns and "… ago" move every quarter second, between two polls
  setInterval(() => {
    for (const el of document.querySelectorAll(".countdown")) el.textContent = until(Number(el.dataset.until));
  }, 250);

  window.addEventListener("hashchange", () => {
    show();
    tick();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) tick();
  });
  show();
  tick();
})();
