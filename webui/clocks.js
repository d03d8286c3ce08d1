// Clocks screen: the show's time sources (settings section `time_sources`),
// the tempo (`transport`) and the time division (`time_division`).
//  - at the top, what the box follows now and the last switch (from live.clock);
//  - the five kinds of source in priority order (drag the handle, or the
//    up/down buttons; stored as `order`), each with its switch, its live
//    state and quality and its settings in place (quality limits folded);
//  - the four MIDI ports cuebox:sync_in_1..4 that MTC and MIDI clock arrive
//    on (equal priority, each with its own limits; stored in `midi_sources`);
//  - failover, the tempo and the time division;
//  - offset, drift and jitter of one source instance over two minutes.
// Every change is sent as it is (the box checks it); a refusal shows the
// box's reason at the field and the stored value comes back.
// Without live.clock the screen says so and plots nothing.

import { el } from "./dom.js";

const SOURCES = ["ptp", "ltc", "mtc", "midi_clock", "internal"]; // the schema's default order
const NAMES = { internal: "Internal", ptp: "PTP", ltc: "LTC", mtc: "MTC", midi_clock: "MIDI clock" };
const ABOUT = {
  internal: "The box's own audio clock: always the last resort",
  ptp: "IEEE 1588 over the network, through ptp4l",
  ltc: "Linear timecode on an audio input (cuebox:ltc_in)",
  mtc: "MIDI timecode on the MIDI ports below",
  midi_clock: "MIDI beat clock on the MIDI ports below",
};
const PORTS = 4; // cuebox:sync_in_1..4
// Per kind: its switch, the settings always shown, the lists (allow-lists)
// and the quality limits (folded away: set once, rarely looked at).
const KINDS = {
  internal: { main: [], limits: [] },
  ptp: {
    enable: "ptp_enabled",
    main: ["ptp_interface", "ptp_domain", "ptp_socket", "ptp_on_loss"],
    lists: ["ptp_allowed_grandmasters", "ptp_allowed_domains"],
    limits: ["ptp_max_offset_us", "ptp_max_drift_ppm", "ptp_max_jitter_us", "ptp_max_instability_ppm", "ptp_quality_threshold"],
  },
  ltc: {
    enable: "ltc_enabled",
    main: ["ltc_port", "ltc_fps", "ltc_buffer_ms", "ltc_lock_frames", "ltc_min_level_dbfs", "ltc_on_loss"],
    limits: ["ltc_max_drift_ppm", "ltc_max_jitter_us", "ltc_max_instability_ppm", "ltc_quality_threshold"],
  },
  mtc: { enable: "mtc_enabled", main: ["mtc_on_loss"], limits: [] },
  midi_clock: { enable: "midi_clock_enabled", main: ["midi_clock_on_loss"], limits: [] },
};
const PORT_LIMITS = ["max_drift_ppm", "max_jitter_us", "max_instability_ppm", "quality_threshold"];
const LABELS = {
  auto_failover: "Fail over automatically", failover_ms: "Keep a failing one (ms)",
  recover_ms: "Take back after (ms)",
  ptp_socket: "ptp4l socket", ptp_interface: "Network interface", ptp_domain: "Domain",
  ptp_allowed_grandmasters: "Allowed grandmasters", ptp_allowed_domains: "Allowed domains",
  ptp_max_offset_us: "Max offset (µs)",
  ltc_port: "Input (JACK port)", ltc_fps: "Frame rate", ltc_buffer_ms: "Buffer (ms)",
  ltc_lock_frames: "Lock after (frames)", ltc_min_level_dbfs: "Level floor (dBFS)",
  port: "Patched from (JACK port)", enabled: "On",
  tempo_bpm: "Tempo (BPM)", tempo_source: "Tempo from", clip_tempo_sync: "Clips follow the tempo",
  quantize: "Quantize starts", beats_per_bar: "Beats per bar", beat_unit: "Beat unit",
  snap_min_ms: "Skip a boundary closer than (ms)",
  fps_a: "Group A fps", fps_b: "Group B fps", fps_c: "Group C fps", fps_d: "Group D fps",
};
// Members shared by every kind, by the end of their name.
const SUFFIX = {
  max_drift_ppm: "Max drift (ppm)", max_jitter_us: "Max jitter (µs)", max_instability_ppm: "Max instability (ppm)",
  quality_threshold: "Quality threshold", on_loss: "When lost",
};
const CHOICES = {
  failover: "Fail over", freewheel: "Freewheel", auto: "Auto", "29.97df": "29.97 drop-frame",
  manual: "Set by hand", midi_clock: "MIDI clock", off: "Off", beat: "Beat", bar: "Bar", frame: "Frame",
};
const PLACEHOLDERS = {
  ltc_port: "as patched", port: "as patched",
  ptp_allowed_grandmasters: "any (001122.fffe.334455, …)", ptp_allowed_domains: "any (0, 1, …)",
};
// Ranges worth reading next to the label (the others are in the title).
const SHOW_RANGE = new Set(["ptp_domain", "ltc_buffer_ms", "ltc_lock_frames", "ltc_min_level_dbfs",
  "failover_ms", "recover_ms", "tempo_bpm", "beats_per_bar", "snap_min_ms", "quality_threshold"]);
const STATE_RANK = ["locked", "degraded", "freewheel", "acquiring", "lost", "refused", "absent", "off"];
const WINDOW_MS = 120000;  // the plot shows the last two minutes
const SAMPLE_MS = 250;     // at most 4 samples a second are kept per source
const DRAW_MS = 250;
const NO_CLOCK = "No time-source measurements from the engine";
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

const isNum = (x) => typeof x === "number" && Number.isFinite(x);

/** "mtc:2" -> "MTC port 2". */
function instName(name) {
  if (!name) return "?";
  const [k, p] = String(name).split(":");
  return `${NAMES[k] || k}${p ? ` port ${p}` : ""}`;
}

function labelOf(member) {
  if (LABELS[member]) return LABELS[member];
  for (const [end, text] of Object.entries(SUFFIX)) if (member.endsWith(end)) return text;
  return member;
}

/** When a switch happened: the time, with the date when not today. */
function fmtWhen(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso ? String(iso) : "";
  const t = d.toLocaleTimeString([], { hour12: false });
  return d.toDateString() === new Date().toDateString() ? t : `${d.toLocaleDateString()} ${t}`;
}

/** The kind's live details, one short line (what a tech checks first). */
function detailsOf(s) {
  if (!s || (s.kind !== "ptp" && ["off", "absent"].includes(s.state))) return ""; // nothing received
  const parts = [];
  switch (s.kind) {
    case "ptp":
      if (s.grandmaster) parts.push(`GM ${s.grandmaster}`);
      if (s.port_state) parts.push(String(s.port_state).toLowerCase());
      if (s.domain != null) parts.push(`domain ${s.domain}`);
      if (isNum(s.master_offset_ns)) parts.push(`offset ${fmtNs(s.master_offset_ns)}`);
      if (isNum(s.mean_path_delay_ns)) parts.push(`path ${fmtNs(s.mean_path_delay_ns)}`);
      if (isNum(s.steps_removed)) parts.push(`${s.steps_removed} step${s.steps_removed === 1 ? "" : "s"}`);
      break;
    case "ltc":
    case "mtc":
      if (s.timecode) parts.push(s.timecode);
      if (s.fps) parts.push(`${s.fps} fps`);
      if (isNum(s.level_dbfs)) parts.push(`${s.level_dbfs.toFixed(1)} dBFS`);
      if (s.dropouts) parts.push(`${s.dropouts} dropout${s.dropouts === 1 ? "" : "s"}`);
      if (s.jumps) parts.push(`${s.jumps} jump${s.jumps === 1 ? "" : "s"}`);
      break;
    case "midi_clock":
      if (isNum(s.bpm)) parts.push(`${s.bpm.toFixed(1)} BPM`);
      if (s.running != null) parts.push(s.running ? "running" : "stopped");
      break;
    default: break;
  }
  if (s.kind !== "ptp" && isNum(s.offset_ns)) parts.push(`offset ${fmtNs(s.offset_ns)}`);
  if (isNum(s.jitter_ns)) parts.push(`jitter ${fmtNs(s.jitter_ns)}`);
  return parts.join(" · ");
}

function setText(e, t) {
  if (e.textContent !== t) e.textContent = t;
}

/** A state badge: the text is the engine's word, its colour by data-state. */
function setBadge(b, state, fallback) {
  setText(b, state || fallback);
  const v = state || "none";
  if (b.dataset.state !== v) b.dataset.state = v;
}

export class ClocksScreen {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.visible = false;
    this.locked = false;
    this.built = false;
    this.schemas = {};           // section -> schema
    this.values = {};            // section -> stored values
    this.order = [...SOURCES];   // as shown
    this.items = new Map();      // kind -> {li, rank, state, quality, info, fault, up, down}
    this.ports = [];             // per MIDI port: {li, mtc, mtcInfo, clk, clkInfo}
    this.inputs = [];            // {section, member, port, input, err, sch}
    this.clock = null;           // the last live.clock, or null
    this.switchKey = undefined;  // the last switch seen (a new one is toasted)
    this.samples = new Map();    // instance name -> [{t, o, d, j}]
    this.plotNames = "";
    this.drawTimer = 0;
    root.classList.add("clocks");
    this.err = el("p", { className: "err", role: "alert", hidden: true });
    this.cards = el("div", { className: "ck-cards" });
    root.append(this.err, this.cards);
    this.buildNow();
    this.buildMeasure();
    this.cards.append(this.now, this.measure);
  }

  async show() {
    this.visible = true;
    this.applyClock();
    this.draw();
    this.loadHistory();
    const r = await this.ctx.api("GET", "/api/settings");
    if (r.status !== 200 || !r.body?.schema?.time_sources) {
      const e = r.body?.error;
      this.err.textContent = `Cannot read the time-source settings: ${e?.reason || (r.status ? "HTTP " + r.status : "the box cannot be reached")}`;
      this.err.hidden = false;
      return;
    }
    this.err.hidden = true;
    for (const s of ["time_sources", "transport", "time_division"]) {
      this.schemas[s] = r.body.schema[s] || {};
      const v = this.ctx.model.settings?.[s] || r.body.settings?.[s];
      if (v) this.values[s] = v;
    }
    if (!this.built) this.build();
    this.refresh();
    this.applyClock();
  }

  hide() {
    this.visible = false;
    clearTimeout(this.drawTimer);
    this.drawTimer = 0;
  }

  onShow(show) {
    const all = this.ctx.model.settings || show?.settings || {};
    for (const s of ["time_sources", "transport", "time_division"]) if (all[s]) this.values[s] = all[s];
    if (this.built) this.refresh();
  }

  onLive(live) {
    const c = live?.clock && typeof live.clock === "object" ? live.clock : null;
    const had = !!this.clock;
    this.clock = c;
    if (c) {
      this.record(c);
      this.noticeSwitch(c.last_switch);
    }
    if (!this.visible) return;
    if (c || had) this.applyClock();
    if (c && !this.drawTimer) this.drawTimer = setTimeout(() => { this.drawTimer = 0; this.draw(); }, DRAW_MS);
  }

  onLock(locked) {
    this.locked = !!locked;
    for (const c of this.root.querySelectorAll("button, input, select, textarea")) {
      if (c.classList.contains("ck-plotsel")) continue; // choosing what to look at is not an edit
      c.disabled = this.locked;
    }
    if (!this.locked) this.renderOrder();
  }

  /** A switch the box made: a toast on whatever screen is showing (the
   *  operator needs to know the show clock moved), once per switch. */
  noticeSwitch(sw) {
    const key = sw && sw.at ? `${sw.at}|${sw.from}|${sw.to}` : "";
    if (this.switchKey === undefined || key === this.switchKey) {
      this.switchKey = key; // the first state after loading is history, not news
      return;
    }
    this.switchKey = key;
    if (!key) return;
    if (this.visible) setTimeout(() => this.loadHistory(), 300); // phases 3 and 4 follow the switch
    this.ctx.toast(`Clock: ${instName(sw.from)} → ${instName(sw.to)}${sw.reason ? ` (${sw.reason})` : ""}`,
      sw.emergency ? "warn" : "info");
  }

  // ------------------------------------------------------------- build --

  buildNow() {
    this.status = el("p", { className: "ck-status", role: "status" });
    this.lastSwitch = el("p", { className: "ck-switch muted" });
    this.now = el("section", { className: "card ck-now", ariaLabel: "Clock now" }, this.status, this.lastSwitch);
  }

  build() {
    this.built = true;
    this.list = el("ol", { className: "ck-list", ariaLabel: "Time sources in priority order" });
    for (const s of SOURCES) this.list.append(this.buildItem(s));
    this.setupDrag();
    const portList = el("ol", { className: "ck-ports", ariaLabel: "MIDI ports" });
    for (let n = 1; n <= PORTS; ++n) portList.append(this.buildPort(n));
    const ts = "time_sources", tp = "transport", td = "time_division";
    this.tempoNow = el("p", { className: "ck-tempo" });
    this.cards.replaceChildren(
      this.now,
      el("div", { className: "ck-col" },
        el("section", { className: "card ck-sources", ariaLabel: "Time sources" },
          el("h2", {}, "Time sources"),
          el("p", { className: "muted ck-hint" },
            "In priority order: drag a source by its handle or use the arrows. The box follows the first usable one; its own clock (Internal) is the last resort, and sources below it are never used."),
          this.list)),
      el("div", { className: "ck-col" },
        this.measure,
        el("section", { className: "card", ariaLabel: "Failover" }, el("h2", {}, "Failover"),
          el("div", { className: "ck-grid" },
            this.field(ts, "auto_failover", { wide: true }), this.field(ts, "failover_ms"), this.field(ts, "recover_ms"))),
        el("section", { className: "card ck-tempocard", ariaLabel: "Tempo and time division" },
          el("h2", {}, "Tempo and time division"), this.tempoNow,
          el("div", { className: "ck-grid" },
            this.field(tp, "tempo_bpm"), this.field(tp, "tempo_source"), this.field(tp, "clip_tempo_sync", { wide: true }),
            this.field(td, "quantize"), this.field(td, "snap_min_ms"),
            this.field(td, "beats_per_bar"), this.field(td, "beat_unit")),
          el("h3", {}, "Frame rates of the clip groups"),
          el("div", { className: "ck-grid ck-fps" },
            ...["a", "b", "c", "d"].map((g) => this.field(td, `fps_${g}`))))),
      // Full width: four ports side by side on a tablet.
      el("section", { className: "card ck-midi", ariaLabel: "MIDI ports" },
        el("h2", {}, "MIDI ports"),
        el("p", { className: "muted ck-hint" },
          "MTC and MIDI clock arrive on cuebox:sync_in_1 to 4. The ports have equal priority; each is checked against its own limits."),
        portList));
    this.onLock(this.locked || this.ctx.locked);
  }

  buildItem(s) {
    const k = KINDS[s];
    const handle = el("button", { type: "button", className: "ck-handle", ariaLabel: `Drag ${NAMES[s]} to reorder` }, "⠿");
    handle.dataset.source = s;
    const up = el("button", { type: "button", className: "btn ck-move", ariaLabel: `Move ${NAMES[s]} up` }, "▲");
    const down = el("button", { type: "button", className: "btn ck-move", ariaLabel: `Move ${NAMES[s]} down` }, "▼");
    up.addEventListener("click", () => this.move(s, -1));
    down.addEventListener("click", () => this.move(s, +1));
    const rank = el("span", { className: "ck-rank" });
    const state = el("span", { className: "ck-state" });
    const quality = el("span", { className: "ck-q" });
    const info = el("div", { className: "ck-info" });
    const fault = el("div", { className: "ck-fault" });
    const sw = k.enable ? this.toggle("time_sources", k.enable, `${NAMES[s]} on`) : null;
    const body = el("div", { className: "ck-body" });
    if (k.main.length) body.append(el("div", { className: "ck-grid" }, ...k.main.map((m) => this.field("time_sources", m))));
    for (const m of k.lists || []) body.append(this.field("time_sources", m, { wide: true }));
    if (k.limits.length) body.append(this.limits(k.limits.map((m) => this.field("time_sources", m))));
    const li = el("li", { className: "ck-src", dataset: { source: s } },
      el("div", { className: "ck-head" }, handle,
        el("div", { className: "ck-title" },
          el("div", { className: "ck-line" }, rank, el("b", {}, NAMES[s]), state, quality),
          el("div", { className: "muted ck-about" }, ABOUT[s]), info, fault),
        sw || el("span", { className: "ck-swgap" }), el("div", { className: "ck-moves" }, up, down)),
      body.children.length ? body : null);
    this.items.set(s, { li, rank, state, quality, info, fault, up, down });
    return li;
  }

  buildPort(n) {
    const mtc = el("span", { className: "ck-state" }), clk = el("span", { className: "ck-state" });
    const mtcInfo = el("span", { className: "ck-pinfo" }), clkInfo = el("span", { className: "ck-pinfo" });
    const li = el("li", { className: "ck-port", dataset: { port: String(n) } },
      el("div", { className: "ck-line" }, el("b", {}, `Port ${n}`),
        this.toggle("time_sources", "enabled", `MIDI port ${n} on`, n)),
      el("div", { className: "muted ck-jack" }, `cuebox:sync_in_${n}`),
      el("div", { className: "ck-plive" },
        el("span", { className: "ck-pk" }, "MTC"), mtc, mtcInfo),
      el("div", { className: "ck-plive" },
        el("span", { className: "ck-pk" }, "Clock"), clk, clkInfo),
      this.field("time_sources", "port", { port: n, wide: true }),
      this.limits(PORT_LIMITS.map((m) => this.field("time_sources", m, { port: n }))));
    this.ports[n - 1] = { li, mtc, mtcInfo, clk, clkInfo };
    return li;
  }

  limits(fields) {
    return el("details", { className: "ck-limits" }, el("summary", {}, "Quality limits"),
      el("div", { className: "ck-grid" }, ...fields));
  }

  /** A switch (a checkbox) for an on/off member, without a field around it. */
  toggle(section, member, label, port = 0) {
    const input = el("input", { type: "checkbox", className: "ck-sw", ariaLabel: label });
    const sch = port ? {} : this.schemas[section]?.[member] || {};
    this.register({ section, member, port, input, err: null, sch: { ...sch, type: "boolean" } });
    return input;
  }

  /** A labelled input for one member, by its schema type. */
  field(section, member, { port = 0, wide = false } = {}) {
    const sch = port ? portSchema(member) : this.schemas[section]?.[member] || {};
    const label = labelOf(member);
    let input;
    if (sch.type === "boolean") {
      input = el("input", { type: "checkbox", className: "ck-sw" });
    } else if (sch.type === "choice") {
      input = el("select", {});
      for (const v of sch.values || []) input.append(el("option", { value: v }, CHOICES[v] || v));
    } else if (sch.type === "integer" || sch.type === "number") {
      // No min/max: an out-of-range value goes to the box, which says why.
      input = el("input", { type: "number", inputMode: sch.type === "integer" ? "numeric" : "decimal",
        step: sch.type === "integer" ? 1 : "any" });
    } else if (sch.type === "clock identities" || sch.type === "integers") {
      input = el("textarea", { rows: 2, autocomplete: "off", spellcheck: false });
    } else {
      input = el("input", { type: "text", autocomplete: "off", spellcheck: false });
    }
    if (PLACEHOLDERS[member]) input.placeholder = PLACEHOLDERS[member];
    const range = sch.min != null && sch.max != null ? `${sch.min}–${sch.max}` : "";
    if (range) input.title = `${label}: ${range}`;
    const err = el("span", { className: "ck-ferr", role: "alert", hidden: true });
    const name = el("span", { className: "ck-fl" }, label,
      range && SHOW_RANGE.has(member) ? el("small", {}, ` ${range}`) : null);
    const f = el("label", { className: `ck-f${sch.type === "boolean" ? " ck-flag" : ""}${wide ? " wide" : ""}` },
      ...(sch.type === "boolean" ? [input, name] : [name, input]), err);
    if (port) input.setAttribute("aria-label", `Port ${port}: ${label}`);
    this.register({ section, member, port, input, err, sch });
    return f;
  }

  register(entry) {
    const { input, section, member, port } = entry;
    input.dataset.section = section;
    input.dataset.member = member;
    if (port) input.dataset.port = String(port);
    input.addEventListener("change", () => this.commit(entry));
    // A refusal's message stays until the field is typed in again.
    if (entry.err) input.addEventListener("input", () => { entry.err.hidden = true; });
    this.inputs.push(entry);
  }

  // ----------------------------------------------------------- values --

  /** The stored values into every input (not the one being typed in, unless `force`). */
  refresh(force = null) {
    for (const e of this.inputs) {
      if (document.activeElement === e.input && e !== force) continue;
      const v = this.values[e.section];
      if (!v) continue;
      const x = e.port ? v.midi_sources?.[e.port - 1]?.[e.member] : v[e.member];
      if (e.sch.type === "boolean") e.input.checked = !!x;
      else if (Array.isArray(x)) e.input.value = x.join(e.sch.type === "integers" ? ", " : "\n"); // identities are long: one a line
      else e.input.value = x == null ? "" : String(x);
    }
    const ts = this.values.time_sources;
    for (const [s, it] of this.items) {
      const m = KINDS[s].enable;
      const on = !m || !ts || ts[m] !== false;
      if (it.li.dataset.enabled !== String(on)) it.li.dataset.enabled = String(on);
    }
    this.ports.forEach((p, i) => {
      const on = ts?.midi_sources?.[i]?.enabled !== false;
      if (p.li.dataset.enabled !== String(on)) p.li.dataset.enabled = String(on);
    });
    if (ts && !this.dragging) { // a drag's end saves and shows the order
      this.order = orderOf(ts);
      this.renderOrder();
    }
  }

  /** What an input holds, as the member's JSON value (unchecked: the box checks). */
  read(e) {
    const t = e.sch.type, raw = e.input.value;
    if (t === "boolean") return e.input.checked;
    if (t === "integer" || t === "number") return raw.trim() === "" ? null : Number(raw);
    if (t === "clock identities" || t === "integers") {
      const parts = raw.split(/[\s,]+/).filter(Boolean);
      return t === "integers" ? parts.map((p) => (/^[+-]?\d+(\.\d+)?$/.test(p) ? Number(p) : p)) : parts;
    }
    return e.sch.type === "choice" ? raw : raw.trim();
  }

  async commit(e) {
    let body;
    if (e.port) {
      // The box takes the four ports as one list: all four go, one changed.
      const cur = this.values.time_sources?.midi_sources || [];
      const list = Array.from({ length: PORTS }, (_, i) => ({ ...(cur[i] || {}) }));
      list[e.port - 1][e.member] = this.read(e);
      body = { midi_sources: list };
    } else {
      body = { [e.member]: this.read(e) };
    }
    await this.patch(e.section, body, e);
  }

  /** PATCHes a section; a refusal shows the box's reason (at the field when there is one). */
  async patch(section, body, e = null) {
    const r = await this.ctx.api("PATCH", `/api/settings/${section}`, body);
    if (r.status >= 200 && r.status < 300 && r.body?.values) {
      if (e?.err) e.err.hidden = true;
      this.values[section] = r.body.values;
      this.refresh();
      return true;
    }
    const x = r.body?.error || {};
    if (r.status === 423 || x.status === 423) this.ctx.toast("The show is locked: unlock it to edit", "error");
    else if (e?.err && x.reason) {
      e.err.textContent = `Refused: ${x.reason}`;
      e.err.hidden = false;
    } else {
      this.ctx.toast(`${x.field ? x.field + ": " : ""}${x.reason || (r.status ? `refused (HTTP ${r.status})` : "the box cannot be reached")}`, "error");
    }
    this.refresh(e); // the stored value again
    return false;
  }

  // ---------------------------------------------------------- reorder --

  renderOrder() {
    if (!this.list) return;
    const last = this.order.indexOf("internal");
    this.order.forEach((s, i) => {
      const it = this.items.get(s);
      if (this.list.children[i] !== it.li) this.list.insertBefore(it.li, this.list.children[i] || null);
      const role = s === "internal" ? "last-resort" : i > last ? "unused" : "used";
      setText(it.rank, role === "last-resort" ? `${i + 1} · Last resort` : role === "unused" ? "Not used" : String(i + 1));
      it.li.dataset.role = role;
      it.up.disabled = this.locked || i === 0;
      it.down.disabled = this.locked || i === this.order.length - 1;
    });
    this.applyClock();
  }

  move(s, dir) {
    const i = this.order.indexOf(s);
    const j = i + dir;
    if (i < 0 || j < 0 || j >= this.order.length) return;
    const next = [...this.order];
    [next[i], next[j]] = [next[j], next[i]];
    this.save(next);
  }

  /** Stores a new order: the whole list as shown, so what is below Internal stays unused. */
  async save(order) {
    const prev = this.order;
    this.order = order;
    this.renderOrder();
    if (!(await this.patch("time_sources", { order }))) {
      this.order = prev;
      this.renderOrder();
    }
  }

  /**
   * Drag by the handle with any pointer (mouse, pen, touch). While sorting
   * the list shows only the heads (the settings would make it taller than
   * the screen), kept so the dragged one stays under the pointer; near the
   * screen's top or bottom edge it scrolls.
   */
  setupDrag() {
    let drag = null;
    const scroller = this.root;
    /** Toggles the compact list without moving `li` on screen. */
    const compact = (li, on) => {
      const y = li.getBoundingClientRect().top;
      this.list.classList.toggle("sorting", on);
      scroller.scrollTop += li.getBoundingClientRect().top - y;
    };
    // The dragged item goes where the pointer is among the others' midpoints.
    const place = (y) => {
      const others = [...this.list.children].filter((x) => x !== drag.li);
      let at = others.length;
      for (let k = 0; k < others.length; ++k) {
        const r = others[k].getBoundingClientRect();
        if (y < r.top + r.height / 2) { at = k; break; }
      }
      const ref = others[at] || null;
      if (drag.li.nextElementSibling !== ref || (ref === null && this.list.lastElementChild !== drag.li)) {
        this.list.insertBefore(drag.li, ref);
      }
    };
    const tick = () => {
      if (!drag) return;
      drag.raf = 0;
      const r = scroller.getBoundingClientRect();
      const dy = drag.y < r.top + 48 ? -12 : drag.y > r.bottom - 48 ? 12 : 0;
      if (!dy) return;
      const was = scroller.scrollTop;
      scroller.scrollTop += dy;
      if (scroller.scrollTop === was) return;
      place(drag.y);
      drag.raf = requestAnimationFrame(tick);
    };
    const end = (e, commit) => {
      if (!drag || e.pointerId !== drag.id) return;
      cancelAnimationFrame(drag.raf);
      drag.li.classList.remove("dragging");
      compact(drag.li, false);
      this.dragging = false;
      const order = [...this.list.children].map((li) => li.dataset.source);
      const changed = order.join() !== this.order.join();
      drag = null;
      if (commit && changed) this.save(order);
      else this.refresh();
    };
    this.list.addEventListener("pointerdown", (e) => {
      const h = e.target.closest(".ck-handle");
      if (!h || h.disabled || this.locked || (e.pointerType === "mouse" && e.button !== 0)) return;
      e.preventDefault();
      const li = h.closest(".ck-src");
      drag = { id: e.pointerId, li, y: e.clientY, raf: 0 };
      this.dragging = true;
      li.classList.add("dragging");
      compact(li, true);
      this.list.setPointerCapture(e.pointerId);
    });
    this.list.addEventListener("pointermove", (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      drag.y = e.clientY;
      place(e.clientY);
      if (!drag.raf) drag.raf = requestAnimationFrame(tick);
    });
    this.list.addEventListener("pointerup", (e) => end(e, true));
    this.list.addEventListener("pointercancel", (e) => end(e, false));
  }

  // ------------------------------------------------------ measurements --

  buildMeasure() {
    this.plotSel = el("select", { className: "in ck-plotsel", ariaLabel: "Source to plot" },
      el("option", { value: "" }, "The source followed"));
    this.plotSel.addEventListener("change", () => this.draw());
    this.canvas = el("canvas", { className: "ck-plot", role: "img",
      ariaLabel: "Offset, drift and jitter over the last two minutes" });
    // The bitmap follows the canvas's size on screen (layout, rotation).
    new ResizeObserver(() => this.draw()).observe(this.canvas);
    this.measure = el("section", { className: "card ck-measure", ariaLabel: "Measurements" },
      el("div", { className: "ck-mhead" }, el("h2", {}, "Measurements"), this.plotSel),
      el("div", { className: "ck-plotwrap" }, this.canvas));
  }

  /** The plot's choices: every instance the engine reports (rebuilt when that set changes). */
  plotChoices(sources) {
    const names = sources.map((s) => s.name);
    const key = names.join();
    if (key === this.plotNames) return;
    this.plotNames = key;
    const keep = this.plotSel.value;
    this.plotSel.replaceChildren(el("option", { value: "" }, "The source followed"),
      ...names.map((n) => el("option", { value: n }, instName(n))));
    this.plotSel.value = names.includes(keep) ? keep : "";
  }

  /** The box's history (GET /api/clock/history): the plot's last two
   *  minutes for a screen opened late, and phases 3 and 4 of the switches
   *  (they are measured on the web side after the engine's event). */
  async loadHistory() {
    const r = await this.ctx.api("GET", "/api/clock/history");
    if (r.status !== 200 || !r.body) return;
    const toPerf = (t) => performance.now() - (Date.now() - t);
    for (const [name, list] of Object.entries(r.body.sources || {})) {
      const have = this.samples.get(name) || [];
      const first = have.length ? have[0].t : Infinity;
      const older = (Array.isArray(list) ? list : []).map((s) => ({
        t: toPerf(s.t),
        o: typeof s.offset_ns === "number" ? s.offset_ns / 1000 : null,
        d: typeof s.drift_ppb === "number" ? s.drift_ppb : null,
        j: typeof s.jitter_ns === "number" ? s.jitter_ns / 1000 : null,
      })).filter((s) => s.t < first && s.t > performance.now() - WINDOW_MS);
      this.samples.set(name, [...older, ...have]);
    }
    this.switchPhases = new Map((r.body.switches || []).map((s) => [`${s.at}|${s.from}|${s.to}`, s]));
    if (this.visible) { this.applyClock(); this.draw(); }
  }

  record(c) {
    const now = performance.now();
    for (const s of Array.isArray(c.sources) ? c.sources : []) {
      if (!s || !s.name) continue;
      let a = this.samples.get(s.name);
      if (!a) this.samples.set(s.name, (a = []));
      if (a.length && now - a[a.length - 1].t < SAMPLE_MS) continue;
      a.push({
        t: now,
        o: isNum(s.offset_ns) ? s.offset_ns / 1000 : null,
        d: isNum(s.drift_ppb) ? s.drift_ppb : null,
        j: isNum(s.jitter_ns) ? s.jitter_ns / 1000 : null,
      });
      while (a.length && a[0].t < now - WINDOW_MS) a.shift();
    }
  }

  /** Status, last switch, per-source and per-port state, tempo: from live.clock. */
  applyClock() {
    const c = this.clock;
    const sources = (c && Array.isArray(c.sources) ? c.sources : []).filter((s) => s && s.name);
    setText(this.status, c ? `Following ${instName(c.source)} · ${c.state || "no state"}` +
      (c.timecode_source && c.timecode_source !== c.source ? ` · timecode from ${instName(c.timecode_source)}` : "") : NO_CLOCK);
    const st = c ? c.state || "" : "none";
    if (this.status.dataset.state !== st) this.status.dataset.state = st;
    const sw = c?.last_switch;
    setText(this.lastSwitch, !c ? "" : !sw ? "No switch since the engine started." :
      `Last switch: ${instName(sw.from)} → ${instName(sw.to)}${sw.reason ? `, ${sw.reason}` : ""}, ${fmtWhen(sw.at)}` +
      (sw.emergency ? ` · emergency: phase 1 ${fmtUs(sw.phase1_us)}, phase 2 ${fmtUs(sw.phase2_us)}` +
        phases34(this.switchPhases?.get(`${sw.at}|${sw.from}|${sw.to}`)) : ""));
    this.lastSwitch.dataset.emergency = String(!!sw?.emergency);
    this.plotChoices(sources);
    if (!this.built) return;

    const followed = c ? String(c.source || "") : "";
    for (const [kind, it] of this.items) {
      const mine = sources.filter((s) => (s.kind || s.name.split(":")[0]) === kind);
      // A kind with several ports shows the one followed, else its best one.
      const s = mine.find((x) => x.name === followed) ||
        mine.slice().sort((a, b) => rankOf(a.state) - rankOf(b.state))[0];
      setBadge(it.state, s?.state, c ? "not reported" : "no status");
      // Quality means something only while there is a signal to judge.
      setText(it.quality, s && s.quality != null && !["off", "absent"].includes(s.state) ? `quality ${fmtQuality(s.quality)}` : "");
      const inUse = !!c && (c.kind === kind || followed.split(":")[0] === kind);
      const many = mine.length > 1 ? mine.filter((x) => x.state === "locked").length : 0;
      const heard = s && !["off", "absent"].includes(s.state);
      const info = [inUse ? "followed now" : "", mine.length > 1 && heard ? instName(s.name) : "", detailsOf(s),
        many > 1 ? `${many} ports locked` : ""].filter(Boolean).join(" · ");
      setText(it.info, info);
      setText(it.fault, [s?.fault, s?.error].filter(Boolean).join(" · "));
      it.li.classList.toggle("inuse", inUse);
    }
    const by = new Map(sources.map((s) => [s.name, s]));
    this.ports.forEach((p, i) => {
      const m = by.get(`mtc:${i + 1}`), k = by.get(`midi_clock:${i + 1}`);
      setBadge(p.mtc, m?.state, "–");
      setBadge(p.clk, k?.state, "–");
      setText(p.mtcInfo, [detailsOf(m), m?.fault].filter(Boolean).join(" · "));
      setText(p.clkInfo, [detailsOf(k), k?.fault].filter(Boolean).join(" · "));
      p.li.classList.toggle("inuse", followed === `mtc:${i + 1}` || followed === `midi_clock:${i + 1}`);
    });
    const t = c?.tempo;
    setText(this.tempoNow, t && isNum(t.bpm) ? `Now ${t.bpm.toFixed(1)} BPM · ${t.source === "midi_clock" ? "from MIDI clock" : "set by hand"}` : "");
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

/** ", phase 3 …, phase 4 …" from the box's history of a switch ("" unknown). */
function phases34(h) {
  if (!h || typeof h.phase3_us !== "number") return "";
  return `, phase 3 ${fmtUs(h.phase3_us)}, phase 4 ${fmtUs(h.phase4_us)}`;
}

function fmtUs(us) {
  return isNum(us) ? `${Math.round(us)} µs` : "–";
}

function rankOf(state) {
  const i = STATE_RANK.indexOf(state);
  return i < 0 ? STATE_RANK.length : i;
}

/** A MIDI port member's schema (the box declares the ports as one list). */
function portSchema(member) {
  if (member === "port") return { type: "text" };
  if (member === "enabled") return { type: "boolean" };
  if (member === "quality_threshold") return { type: "number", min: 0, max: 1 };
  return { type: "number" };
}

/**
 * The shown order from the stored one: the listed sources, then Internal
 * (the last resort even when not listed), then the unlisted ones, which
 * the box never uses, just as it never uses what is below Internal.
 */
function orderOf(v) {
  const listed = (Array.isArray(v.order) ? v.order : []).filter((s, i, a) => SOURCES.includes(s) && a.indexOf(s) === i);
  if (!listed.length) return [...SOURCES];
  if (!listed.includes("internal")) listed.push("internal");
  return [...listed, ...SOURCES.filter((s) => !listed.includes(s))];
}
