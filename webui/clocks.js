// Clocks screen: the show's time sources (settings section `time_sources`).
// The sources in priority order (drag the handle, or the up/down buttons:
// the first is stored as `primary`, the second as `fallback`), each with its
// own settings in place, failover and lock tolerance, and what the engine
// measures (live.clock, when the engine reports it): state and quality per
// source, and offset, drift and jitter over the last two minutes on a canvas.
// Without live.clock the screen says so and plots nothing.

import { el } from "./dom.js";

const SOURCES = ["internal", "ptp", "ltc", "mtc", "midi_clock"];
const NAMES = { internal: "Internal", ptp: "PTP", ltc: "LTC", mtc: "MTC", midi_clock: "MIDI clock" };
const ABOUT = {
  internal: "The box's own audio clock",
  ptp: "IEEE 1588 over the network",
  ltc: "Linear timecode on an audio input",
  mtc: "MIDI timecode",
  midi_clock: "MIDI beat clock",
};
// Which settings belong to which source; the others apply to all.
const MEMBERS = {
  internal: [], ptp: ["ptp_interface", "ptp_domain"], ltc: ["ltc_fps", "ltc_input_gain_db"],
  mtc: ["midi_port"], midi_clock: ["midi_port"],
};
const GENERAL = ["failover_ms", "lock_tolerance_us"];
const LABELS = {
  ptp_interface: "Network interface", ptp_domain: "PTP domain", ltc_fps: "Frame rate",
  ltc_input_gain_db: "Input gain (dB)", midi_port: "MIDI port", failover_ms: "Fail over after (ms)",
  lock_tolerance_us: "Lock tolerance (µs)",
};
const WINDOW_MS = 120000;  // the plot shows the last two minutes
const SAMPLE_MS = 250;     // at most 4 samples a second are kept per source
const DRAW_MS = 250;
const NO_CLOCK = "No time-source measurements from the engine on this build";
const PLOTS = [
  { key: "o", title: "Offset (µs)", color: "#7cc4ff", zero: true },
  { key: "d", title: "Drift (ppb)", color: "#fbbf24", zero: true },
  { key: "j", title: "Jitter (µs)", color: "#34d399", zero: false },
];

function fmtNs(ns) {
  if (typeof ns !== "number" || !Number.isFinite(ns)) return "–";
  const a = Math.abs(ns);
  if (a < 1e3) return `${Math.round(ns)} ns`;
  if (a < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

function fmtQuality(q) {
  if (typeof q === "number") return q >= 0 && q <= 1 ? `${Math.round(q * 100)}%` : String(q);
  return q == null ? "" : String(q);
}

export class ClocksScreen {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.visible = false;
    this.locked = false;
    this.schema = null;
    this.values = null;          // the stored time_sources settings
    this.order = [...SOURCES];   // as shown
    this.items = new Map();      // source -> {li, rank, state, info, up, down}
    this.fields = new Map();     // member -> [input...]
    this.clock = null;           // the last live.clock, or null
    this.samples = new Map();    // source -> [{t, o, d, j}]
    this.drawTimer = 0;
    root.classList.add("clocks");
    this.err = el("p", { className: "err", role: "alert", hidden: true });
    this.cards = el("div", { className: "ck-cards" });
    root.append(this.err, this.cards);
    this.buildMeasure();
  }

  async show() {
    this.visible = true;
    this.applyClock();
    this.draw();
    const r = await this.ctx.api("GET", "/api/settings");
    if (r.status !== 200 || !r.body?.schema?.time_sources) {
      const e = r.body?.error;
      this.err.textContent = `Cannot read the time-source settings: ${e?.reason || (r.status ? "HTTP " + r.status : "the box cannot be reached")}`;
      this.err.hidden = false;
      return;
    }
    this.err.hidden = true;
    this.schema = r.body.schema.time_sources;
    if (!this.items.size) this.build();
    this.setValues(this.ctx.model.settings?.time_sources || r.body.settings?.time_sources);
  }

  hide() {
    this.visible = false;
    clearTimeout(this.drawTimer);
    this.drawTimer = 0;
  }

  onShow(show) {
    const v = this.ctx.model.settings?.time_sources || show?.settings?.time_sources;
    if (v && this.items.size) this.setValues(v);
    else if (v) this.values = v;
  }

  onLive(live) {
    const c = live?.clock && typeof live.clock === "object" ? live.clock : null;
    const had = !!this.clock;
    this.clock = c;
    if (c) this.record(c);
    if (!this.visible) return;
    if (c || had) this.applyClock();
    if (c && !this.drawTimer) this.drawTimer = setTimeout(() => { this.drawTimer = 0; this.draw(); }, DRAW_MS);
  }

  onLock(locked) {
    this.locked = !!locked;
    for (const c of this.cards.querySelectorAll("button, input, select")) {
      if (c.classList.contains("ck-plotsel")) continue; // choosing what to look at is not an edit
      c.disabled = this.locked;
    }
    if (!this.locked) this.renderOrder();
  }

  // ------------------------------------------------------------- build --

  build() {
    this.list = el("ol", { className: "ck-list", ariaLabel: "Time sources in priority order" });
    for (const s of SOURCES) this.list.append(this.buildItem(s));
    this.setupDrag();
    const general = el("div", { className: "ck-fields" });
    for (const m of GENERAL) general.append(this.field(m));
    this.cards.replaceChildren(
      el("section", { className: "card ck-sources", ariaLabel: "Time sources" },
        el("h2", {}, "Time sources"),
        el("p", { className: "muted ck-hint" },
          "In priority order: drag a source by its handle or use the arrows. The first is the primary, the second the fallback; the others follow in their usual order."),
        this.list),
      el("div", { className: "ck-col" },
        el("section", { className: "card", ariaLabel: "Failover" }, el("h2", {}, "Failover"), general),
        this.measure));
    this.onLock(this.locked || this.ctx.locked);
  }

  buildItem(s) {
    const handle = el("button", { type: "button", className: "ck-handle", ariaLabel: `Drag ${NAMES[s]} to reorder` }, "⠿");
    handle.dataset.source = s;
    const up = el("button", { type: "button", className: "btn ck-move", ariaLabel: `Move ${NAMES[s]} up` }, "▲");
    const down = el("button", { type: "button", className: "btn ck-move", ariaLabel: `Move ${NAMES[s]} down` }, "▼");
    up.addEventListener("click", () => this.move(s, -1));
    down.addEventListener("click", () => this.move(s, +1));
    const rank = el("span", { className: "ck-rank" });
    const state = el("span", { className: "ck-state" });
    const info = el("div", { className: "ck-info" });
    const fields = el("div", { className: "ck-fields" });
    for (const m of MEMBERS[s]) fields.append(this.field(m, s));
    if (!MEMBERS[s].length) fields.append(el("p", { className: "muted ck-none" }, "Nothing to set."));
    const li = el("li", { className: "ck-src", dataset: { source: s } },
      el("div", { className: "ck-head" }, handle, el("div", { className: "ck-title" },
        el("div", {}, rank, " ", el("b", {}, NAMES[s]), " ", state),
        el("div", { className: "muted ck-about" }, ABOUT[s]), info), up, down),
      fields);
    this.items.set(s, { li, rank, state, info, up, down });
    return li;
  }

  /** An input for one member of the section, with the schema's limits. */
  field(member, source = "") {
    const sch = this.schema[member] || {};
    let input;
    if (sch.type === "choice") {
      input = el("select", {});
      for (const v of sch.values || []) input.append(el("option", { value: v }, v));
    } else if (sch.type === "integer" || sch.type === "number") {
      input = el("input", { type: "number", inputMode: sch.type === "integer" ? "numeric" : "decimal",
        step: sch.type === "integer" ? 1 : 0.5 });
      if (sch.min != null) input.min = sch.min;
      if (sch.max != null) input.max = sch.max;
    } else {
      input = el("input", { type: "text", autocomplete: "off", spellcheck: false });
    }
    const limits = sch.min != null && sch.max != null ? ` ${sch.min} to ${sch.max}` : "";
    input.dataset.member = member;
    input.addEventListener("change", () => this.saveField(member, input));
    if (!this.fields.has(member)) this.fields.set(member, []);
    this.fields.get(member).push(input);
    const label = el("label", { className: "field" }, el("span", {}, LABELS[member] || member), input);
    if (limits) {
      input.title = `${LABELS[member] || member}:${limits}`;
      label.append(el("span", { className: "ck-lim muted" }, limits.trim()));
    }
    if (source) label.dataset.source = source;
    return label;
  }

  buildMeasure() {
    this.status = el("p", { className: "ck-status", role: "status" });
    this.plotSel = el("select", { className: "in ck-plotsel", ariaLabel: "Source to plot" },
      el("option", { value: "" }, "The source in use"),
      ...SOURCES.map((s) => el("option", { value: s }, NAMES[s])));
    this.plotSel.addEventListener("change", () => this.draw());
    this.canvas = el("canvas", { className: "ck-plot", role: "img",
      ariaLabel: "Offset, drift and jitter over the last two minutes" });
    // The bitmap follows the canvas's size on screen (layout, rotation).
    new ResizeObserver(() => this.draw()).observe(this.canvas);
    this.measure = el("section", { className: "card ck-measure", ariaLabel: "Measurements" },
      el("h2", {}, "Measurements"), this.status,
      el("label", { className: "field" }, el("span", {}, "Plot"), this.plotSel),
      el("div", { className: "ck-plotwrap" }, this.canvas));
    this.cards.append(this.measure);
  }

  // ----------------------------------------------------------- values --

  setValues(v) {
    if (!v) return;
    this.values = v;
    for (const [m, inputs] of this.fields) {
      for (const i of inputs) {
        if (document.activeElement === i) continue;
        const x = v[m];
        i.value = x == null ? "" : String(x);
      }
    }
    if (this.dragging) return; // the drag's end saves and shows the order
    this.order = orderOf(v);
    this.renderOrder();
  }

  renderOrder() {
    if (!this.list) return;
    const v = this.values || {};
    const noFallback = v.primary === v.fallback;
    this.order.forEach((s, i) => {
      const it = this.items.get(s);
      if (this.list.children[i] !== it.li) this.list.insertBefore(it.li, this.list.children[i] || null);
      const role = i === 0 ? "Primary" : i === 1 && !noFallback ? "Fallback" : "Not used";
      it.rank.textContent = `${i + 1} · ${role}`;
      it.li.dataset.role = role.toLowerCase().replace(/ /g, "-");
      it.up.disabled = this.locked || i === 0;
      it.down.disabled = this.locked || i === this.order.length - 1;
    });
    this.applyClock();
  }

  async saveField(member, input) {
    const sch = this.schema[member] || {};
    let value = input.value;
    if (sch.type === "integer" || sch.type === "number") {
      value = Number(input.value);
      const bad = input.value.trim() === "" || !Number.isFinite(value) ||
        (sch.type === "integer" && !Number.isInteger(value)) ||
        (sch.min != null && value < sch.min) || (sch.max != null && value > sch.max);
      if (bad) {
        this.ctx.toast(`time_sources.${member}: ${sch.type === "integer" ? "a whole number" : "a number"} from ${sch.min} to ${sch.max}`, "warn");
        this.setValues(this.values);
        return;
      }
    }
    const r = await this.ctx.edit("PATCH", "/api/settings/time_sources", { [member]: value });
    if (r?.body?.values) this.setValues(r.body.values);
    else this.setValues(this.values); // refused: the stored value again
  }

  // ---------------------------------------------------------- reorder --

  move(s, dir) {
    const i = this.order.indexOf(s);
    const j = i + dir;
    if (i < 0 || j < 0 || j >= this.order.length) return;
    const next = [...this.order];
    [next[i], next[j]] = [next[j], next[i]];
    this.save(next);
  }

  /** Stores a new order: primary = first, fallback = second. */
  async save(order) {
    const prev = this.order;
    this.order = order;
    this.renderOrder();
    const r = await this.ctx.edit("PATCH", "/api/settings/time_sources", { primary: order[0], fallback: order[1] });
    if (!r) {
      this.order = prev;
      this.renderOrder();
      return;
    }
    if (r.body?.values) {
      this.values = r.body.values;
      this.renderOrder(); // keeps the order as dragged until the next edit from the box
    }
  }

  /** Drag by the handle with any pointer (mouse, pen, touch). */
  setupDrag() {
    let drag = null;
    const end = (e, commit) => {
      if (!drag || e.pointerId !== drag.id) return;
      drag.li.classList.remove("dragging");
      this.dragging = false;
      const order = [...this.list.children].map((li) => li.dataset.source);
      const changed = order.join() !== this.order.join();
      drag = null;
      if (commit && changed) this.save(order);
      else this.setValues(this.values);
    };
    this.list.addEventListener("pointerdown", (e) => {
      const h = e.target.closest(".ck-handle");
      if (!h || h.disabled || this.locked || (e.pointerType === "mouse" && e.button !== 0)) return;
      e.preventDefault();
      const li = h.closest(".ck-src");
      drag = { id: e.pointerId, li };
      this.dragging = true;
      li.classList.add("dragging");
      this.list.setPointerCapture(e.pointerId);
    });
    this.list.addEventListener("pointermove", (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      // The dragged item goes where the pointer is among the others' midpoints.
      const others = [...this.list.children].filter((x) => x !== drag.li);
      let at = others.length;
      for (let k = 0; k < others.length; ++k) {
        const r = others[k].getBoundingClientRect();
        if (e.clientY < r.top + r.height / 2) { at = k; break; }
      }
      const ref = others[at] || null;
      if (drag.li.nextElementSibling !== ref || (ref === null && this.list.lastElementChild !== drag.li)) {
        this.list.insertBefore(drag.li, ref);
      }
    });
    this.list.addEventListener("pointerup", (e) => end(e, true));
    this.list.addEventListener("pointercancel", (e) => end(e, false));
  }

  // ------------------------------------------------------ measurements --

  record(c) {
    const now = performance.now();
    for (const s of Array.isArray(c.sources) ? c.sources : []) {
      if (!s || !s.name) continue;
      let a = this.samples.get(s.name);
      if (!a) this.samples.set(s.name, (a = []));
      if (a.length && now - a[a.length - 1].t < SAMPLE_MS) continue;
      a.push({
        t: now,
        o: typeof s.offset_ns === "number" ? s.offset_ns / 1000 : null,
        d: typeof s.drift_ppb === "number" ? s.drift_ppb : null,
        j: typeof s.jitter_ns === "number" ? s.jitter_ns / 1000 : null,
      });
      while (a.length && a[0].t < now - WINDOW_MS) a.shift();
    }
  }

  /** Status line and per-source state from live.clock (or says there is none). */
  applyClock() {
    const c = this.clock;
    const text = c ? `In use: ${NAMES[c.source] || c.source || "?"}, ${c.state || "no state"}` : NO_CLOCK;
    if (this.status.textContent !== text) this.status.textContent = text;
    this.status.dataset.state = c ? c.state || "" : "none";
    const by = new Map((c && Array.isArray(c.sources) ? c.sources : []).filter((s) => s && s.name).map((s) => [s.name, s]));
    for (const [name, it] of this.items) {
      const s = by.get(name);
      const st = s?.state || (c ? "not measured" : "no status");
      if (it.state.textContent !== st) it.state.textContent = st;
      it.state.dataset.state = s?.state || "none";
      const inUse = c && c.source === name;
      const info = s ? [inUse ? "active now" : "", s.quality != null ? `quality ${fmtQuality(s.quality)}` : "",
        s.offset_ns != null ? `offset ${fmtNs(s.offset_ns)}` : ""].filter(Boolean).join(" · ") : "";
      if (it.info.textContent !== info) it.info.textContent = info;
      it.li.classList.toggle("inuse", !!inUse);
    }
  }

  /** Three strips (offset, drift, jitter) over the last two minutes; only a frame without data. */
  draw() {
    const cv = this.canvas;
    if (!this.visible || !cv.isConnected) return;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(200, cv.clientWidth), h = Math.max(150, cv.clientHeight);
    if (cv.width !== Math.round(w * dpr) || cv.height !== Math.round(h * dpr)) {
      cv.width = Math.round(w * dpr);
      cv.height = Math.round(h * dpr);
    }
    const g = cv.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#0a0c0f";
    g.fillRect(0, 0, w, h);
    g.font = "13px system-ui, sans-serif";
    g.textBaseline = "middle";
    const left = 58, right = w - 10, top = 8, bottom = h - 36;
    const strip = (bottom - top) / PLOTS.length;
    const now = performance.now();
    const xOf = (t) => left + ((t - (now - WINDOW_MS)) / WINDOW_MS) * (right - left);
    const which = this.plotSel.value || this.clock?.source || "";
    const data = this.clock ? this.samples.get(which) || [] : [];
    PLOTS.forEach((p, k) => {
      const y0 = top + k * strip + 18, y1 = top + (k + 1) * strip - 6;
      const vals = data.map((s) => s[p.key]).filter((v) => typeof v === "number");
      let lo = Math.min(0, ...vals), hi = Math.max(p.zero ? 0 : 1, ...vals);
      if (!vals.length) { lo = p.zero ? -1 : 0; hi = 1; }
      if (hi - lo < 1e-9) { hi += 1; lo -= p.zero ? 1 : 0; }
      const pad = (hi - lo) * 0.08;
      if (vals.length) { hi += pad; if (lo < 0) lo -= pad; }
      const yOf = (v) => y1 - ((v - lo) / (hi - lo)) * (y1 - y0);
      g.strokeStyle = "#2c343e";
      g.lineWidth = 1;
      g.strokeRect(left + 0.5, y0 + 0.5, right - left, y1 - y0);
      if (lo < 0 && hi > 0) { // zero line
        g.beginPath();
        g.moveTo(left, Math.round(yOf(0)) + 0.5);
        g.lineTo(right, Math.round(yOf(0)) + 0.5);
        g.stroke();
      }
      g.fillStyle = p.color;
      g.textAlign = "left";
      g.fillText(p.title, left, y0 - 9);
      g.fillStyle = "#aab4bf";
      g.textAlign = "right";
      g.fillText(fmtAxis(hi), left - 6, y0 + 6);
      g.fillText(fmtAxis(lo), left - 6, y1 - 6);
      if (vals.length < 2) return;
      g.strokeStyle = p.color;
      g.lineWidth = 2;
      g.beginPath();
      let pen = false;
      for (const s of data) {
        const v = s[p.key];
        if (typeof v !== "number") { pen = false; continue; }
        const x = xOf(s.t), y = yOf(v);
        if (pen) g.lineTo(x, y); else g.moveTo(x, y);
        pen = true;
      }
      g.stroke();
    });
    // The time axis: seconds before now.
    g.fillStyle = "#aab4bf";
    g.textAlign = "center";
    for (let s = 120; s >= 0; s -= 30) {
      const x = left + ((WINDOW_MS - s * 1000) / WINDOW_MS) * (right - left);
      g.fillText(s ? `−${s}` : "now", Math.min(right - 14, Math.max(left + 10, x)), bottom + 8);
    }
    g.fillText("time (s)", (left + right) / 2, bottom + 26);
  }
}

function fmtAxis(v) {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(1) : v.toFixed(2);
}

/** The shown order from the stored settings: primary, fallback, then the rest. */
function orderOf(v) {
  const first = [v.primary, v.fallback].filter((s, i, a) => SOURCES.includes(s) && a.indexOf(s) === i);
  return [...first, ...SOURCES.filter((s) => !first.includes(s))];
}
