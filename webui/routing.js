// Routing screen: the show's audio configuration (show.audio). The bus x
// output crosspoint matrix (a tap routes a bus channel to an output at 0 dB
// or removes it; an active crosspoint's gain is set in place), the physical
// outputs (format, level, meter), the busses (level, choke, PFL, meters),
// master and monitor levels and what the monitor hears. Edits go to
// /api/audio/... (docs/PROTOCOL.md); every tablet follows through the `edit`
// message (onShow). Meters are updated from onLive only while visible.

import { el } from "./dom.js";
import { FADER_MIN_DB as FADER_MIN, fmtDb, meterFraction as meterFrac, throttled, faderDb } from "./levels.js";

const BUSSES = ["A", "B", "C", "D", "audition"];
const CHANNELS = ["L", "R"];
const LEVEL_MAX = 12;
const GAIN_MIN = -60;          // crosspoint gains
const GAIN_MAX = 12;
const SEND_MS = 100;           // at most ~10 PATCHes a second while dragging
const TOUCHED_MS = 1000;       // a control just moved by the user ignores echoes this long

const busName = (b) => (b === "audition" ? "Audition" : `Bus ${b}`);
const busShort = (b) => (b === "audition" ? "Aud" : b);

/** A horizontal meter with one bar per channel: RMS bar, peak tick; transforms only. */
class Meter {
  constructor(channels, label) {
    this.el = el("div", { className: "rt-meter", role: "img", ariaLabel: label });
    this.chans = [];
    for (let i = 0; i < channels; ++i) {
      const rms = el("div", { className: "rt-rms" });
      const pk = el("div", { className: "rt-pk" });
      this.el.append(el("div", { className: "rt-ch" }, rms, pk));
      this.chans.push({ rms, pk, r: -1, p: -1 });
    }
  }
  set(list) {
    this.chans.forEach((c, i) => {
      const m = list?.[i];
      const r = Math.round(meterFrac(m?.rms_db) * 200) / 200;
      const p = Math.round(meterFrac(m?.peak_db) * 200) / 200;
      if (r !== c.r) { c.r = r; c.rms.style.transform = `scaleX(${r})`; }
      if (p !== c.p) { c.p = p; c.pk.style.transform = `translateX(${(p - 1) * 100}%)`; }
    });
  }
}

export class RoutingScreen {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.visible = false;
    this.locked = false;
    this.audio = null;
    this.builtFor = -1;     // the number of outputs the DOM was built for
    root.classList.add("routing");
    this.status = el("p", { className: "muted" }, "Waiting for the show from the box…");
    this.cards = el("div", { className: "rt-cards" });
    root.append(this.status, this.cards);
  }

  show() {
    this.visible = true;
    this.render(this.ctx.model.show?.audio);
  }

  hide() { this.visible = false; }

  onShow(show) { this.render(show?.audio); }

  onLive(live) {
    const m = live?.meters;
    if (!this.visible || !m || !this.meters) return;
    for (const b of BUSSES) this.meters.busses[b]?.set(m.busses?.[b]);
    this.meters.outputs.forEach((mt, i) => mt.set(m.outputs ? [m.outputs[i]] : null));
    this.meters.monitor.set(m.monitor);
  }

  onLock(locked) {
    this.locked = !!locked;
    for (const c of this.cards.querySelectorAll("button, input, select")) c.disabled = this.locked;
  }

  // ------------------------------------------------------------ render --

  render(audio) {
    if (!audio) return;
    this.audio = audio;
    this.status.hidden = true;
    const n = (audio.outputs || []).length;
    if (n !== this.builtFor) this.build(audio.outputs || []);
    this.update(audio);
  }

  build(outputs) {
    this.builtFor = outputs.length;
    this.xps = new Map();   // "A/L/3" -> {btn, gain}
    this.ctl = { outputs: [], busses: {} };
    this.meters = { outputs: [], busses: {}, monitor: new Meter(2, "Monitor meter") };
    this.cards.replaceChildren(this.buildMatrix(outputs), this.buildOutputs(outputs),
      el("div", { className: "rt-col" }, this.buildBusses(), this.buildMaster()));
    this.onLock(this.locked || this.ctx.locked);
  }

  buildMatrix(outputs) {
    const head = el("tr", {}, el("th", { scope: "col" }, "Bus"));
    for (const o of outputs) {
      head.append(el("th", { scope: "col", className: "rt-oh" },
        el("span", { className: "rt-on" }, String(o.output)), el("span", { className: "rt-oname" }, o.name || "")));
    }
    const body = el("tbody");
    for (const b of BUSSES) {
      for (const ch of CHANNELS) {
        const tr = el("tr", { dataset: { bus: b, ch } },
          el("th", { scope: "row", ariaLabel: `${busName(b)} ${ch}` }, `${busShort(b)} ${ch}`));
        for (const o of outputs) {
          const what = `${busName(b)} ${ch} to output ${o.output}`;
          const btn = el("button", { type: "button", className: "xp", ariaPressed: "false", ariaLabel: what,
            dataset: { bus: b, ch, out: String(o.output) } });
          const gain = el("input", {
            type: "number", className: "xg", min: GAIN_MIN, max: GAIN_MAX, step: 0.5,
            inputMode: "decimal", ariaLabel: `Gain of ${what} (dB)`,
          });
          btn.addEventListener("click", () => {
            const on = btn.getAttribute("aria-pressed") === "true";
            this.setCrosspoint(b, ch, o.output, on ? null : 0);
          });
          gain.addEventListener("change", () => {
            const v = Number(gain.value);
            if (gain.value.trim() === "" || !Number.isFinite(v) || v < GAIN_MIN || v > GAIN_MAX) {
              this.ctx.toast(`gain_db: ${what}: from ${GAIN_MIN} to +${GAIN_MAX} dB`, "warn");
              this.update(this.audio);
              return;
            }
            this.setCrosspoint(b, ch, o.output, v);
          });
          this.xps.set(`${b}/${ch}/${o.output}`, { btn, gain });
          tr.append(el("td", {}, el("div", { className: "xcell" }, btn, gain)));
        }
        body.append(tr);
      }
    }
    return el("section", { className: "card rt-matrix", ariaLabel: "Routing matrix" },
      el("h2", {}, "Matrix"),
      el("p", { className: "muted rt-hint" },
        `Tap a crosspoint to send a bus channel to an output (0 dB); tap again to remove it. Gain ${GAIN_MIN} to +${GAIN_MAX} dB.`),
      el("div", { className: "rt-scroll" }, el("table", { className: "tbl rt-x" }, el("thead", {}, head), body)));
  }

  buildOutputs(outputs) {
    const list = el("div", { className: "rt-list" });
    for (const o of outputs) {
      const n = o.output;
      const fmt = el("select", { className: "in", ariaLabel: `Output ${n} format` },
        el("option", { value: "mono" }, "mono"), el("option", { value: "stereo" }, "stereo"));
      fmt.addEventListener("change", () => this.patch(`/api/audio/outputs/${n}`, { format: fmt.value }));
      const level = this.levelControl(`Output ${n} level`, (db) => this.patch(`/api/audio/outputs/${n}`, { level_db: db }));
      const meter = new Meter(1, `Output ${n} meter`);
      const name = el("span", { className: "rt-name" }, el("b", {}, String(n)), " ", el("span", {}, o.name || ""));
      list.append(el("div", { className: "rt-line", dataset: { output: String(n) } }, name, fmt, level.wrap, meter.el));
      this.ctl.outputs.push({ fmt, level, name });
      this.meters.outputs.push(meter);
    }
    return el("section", { className: "card", ariaLabel: "Outputs" }, el("h2", {}, "Outputs"), list);
  }

  buildBusses() {
    const list = el("div", { className: "rt-list", dataset: { kind: "busses" } });
    for (const b of BUSSES) {
      const path = `/api/audio/busses/${b}`;
      const level = this.levelControl(`${busName(b)} level`, (db) => this.patch(path, { level_db: db }));
      const toggle = (key, text, title) => {
        const t = el("button", { type: "button", className: "btn tog", ariaPressed: "false", title }, text);
        t.addEventListener("click", () => this.patch(path, { [key]: t.getAttribute("aria-pressed") !== "true" }));
        return t;
      };
      // The engine always sends the audition bus to the monitor; its pfl flag changes nothing.
      const choke = b === "audition" ? null : toggle("choke", "Choke", `${busName(b)}: a new clip fades out the playing one`);
      const pfl = b === "audition" ? null : toggle("pfl", "PFL", `${busName(b)} to the monitor`);
      if (choke) choke.setAttribute("aria-label", `${busName(b)} choke`);
      if (pfl) pfl.setAttribute("aria-label", `${busName(b)} PFL (to the monitor)`);
      const meter = new Meter(2, `${busName(b)} meter`);
      const line = el("div", { className: "rt-line", dataset: { bus: b } },
        el("span", { className: "rt-name" }, el("b", {}, busName(b))), level.wrap);
      if (choke) line.append(choke, pfl);
      else line.append(el("span", { className: "muted rt-always" }, "always to monitor"));
      line.append(meter.el);
      list.append(line);
      this.ctl.busses[b] = { level, choke, pfl };
      this.meters.busses[b] = meter;
    }
    return el("section", { className: "card", ariaLabel: "Busses" }, el("h2", {}, "Busses"), list);
  }

  buildMaster() {
    this.ctl.master = this.levelControl("Master level", (db) => this.patch("/api/audio", { master_db: db }));
    this.ctl.monitor = this.levelControl("Monitor level", (db) => this.patch("/api/audio", { monitor_db: db }));
    this.ctl.hears = el("span", { className: "rt-hears" });
    return el("section", { className: "card", ariaLabel: "Master and monitor" },
      el("h2", {}, "Master and monitor"),
      el("div", { className: "rt-list" },
        el("div", { className: "rt-line" }, el("span", { className: "rt-name" }, el("b", {}, "Master")), this.ctl.master.wrap),
        el("div", { className: "rt-line" }, el("span", { className: "rt-name" }, el("b", {}, "Monitor")), this.ctl.monitor.wrap,
          this.meters.monitor.el),
        el("p", { className: "rt-monsrc" }, el("span", { className: "muted" }, "The monitor hears: "), this.ctl.hears),
        el("p", { className: "muted rt-hint" }, "PFL on a bus (above) sends it to the monitor; the audition bus always is.")));
  }

  /** A level fader (range + value); the bottom of its travel is off. */
  levelControl(label, send) {
    const range = el("input", { type: "range", min: FADER_MIN, max: LEVEL_MAX, step: 0.5, ariaLabel: label });
    const val = el("output", { className: "rt-val" });
    const push = throttled(send, SEND_MS);
    const db = () => faderDb(Number(range.value));
    range.addEventListener("input", () => {
      range._touched = performance.now();
      val.textContent = fmtDb(db());
      push(db());
    });
    range.addEventListener("change", () => { range._touched = performance.now(); push(db()); });
    return {
      wrap: el("span", { className: "rt-level" }, range, val),
      set(v) {
        if (performance.now() - (range._touched || -1e9) < TOUCHED_MS) return;
        const x = typeof v === "number" ? Math.max(FADER_MIN, Math.min(LEVEL_MAX, v)) : 0;
        if (Number(range.value) !== x) range.value = String(x);
        const t = fmtDb(v);
        if (val.textContent !== t) val.textContent = t;
      },
      release() { range._touched = 0; },
    };
  }

  update(audio) {
    if (!audio) return;
    const on = new Map();
    for (const x of audio.routing || []) on.set(`${x.bus}/${x.channel}/${x.output}`, x.gain_db);
    for (const [key, { btn, gain }] of this.xps) {
      const g = on.get(key);
      const active = g !== undefined && g !== null;
      btn.setAttribute("aria-pressed", String(active));
      btn.textContent = active ? "●" : "";
      gain.hidden = !active;
      if (document.activeElement !== gain) gain.value = active ? String(g) : "";
    }
    (audio.outputs || []).forEach((o, i) => {
      const c = this.ctl.outputs[i];
      if (!c) return;
      if (document.activeElement !== c.fmt) c.fmt.value = o.format === "mono" ? "mono" : "stereo";
      c.level.set(o.level_db);
      c.name.lastChild.textContent = o.name || "";
    });
    const hears = [];
    for (const b of BUSSES) {
      const s = audio.busses?.[b] || {};
      const c = this.ctl.busses[b];
      c.level.set(s.level_db);
      if (c.choke) c.choke.setAttribute("aria-pressed", String(!!s.choke));
      if (c.pfl) c.pfl.setAttribute("aria-pressed", String(!!s.pfl));
      if (b === "audition" || s.pfl) hears.push(busName(b));
    }
    this.ctl.master.set(audio.master_db);
    this.ctl.monitor.set(audio.monitor_db);
    this.ctl.hears.textContent = hears.join(", ");
  }

  // ------------------------------------------------------------- edits --

  async setCrosspoint(bus, channel, output, gain) {
    const x = this.xps.get(`${bus}/${channel}/${output}`);
    if (x) { // at once; the box's answer (or the edit message) settles it
      x.btn.setAttribute("aria-pressed", String(gain !== null));
      x.btn.textContent = gain !== null ? "●" : "";
      x.gain.hidden = gain === null;
    }
    await this.patch("/api/audio/routing", { bus, channel, output, gain_db: gain }, "PUT");
  }

  /** An edit of the audio configuration; a refusal (toast) puts the stored values back. */
  async patch(path, body, method = "PATCH") {
    const r = await this.ctx.edit(method, path, body);
    const model = this.ctx.model;
    if (!r) {
      this.releaseAll();
      this.update(this.audio);
    } else if (r.body?.audio && (r.body.revision ?? 0) >= (model.revision ?? 0)) {
      // Newer than what the WebSocket brought so far: show it now.
      this.audio = r.body.audio;
      this.update(r.body.audio);
    }
    return r;
  }

  releaseAll() {
    for (const c of this.ctl.outputs) c.level.release();
    for (const c of Object.values(this.ctl.busses)) c.level.release();
    this.ctl.master.release();
    this.ctl.monitor.release();
  }
}
