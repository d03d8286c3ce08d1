// The edit screen: the perform grid where a tap selects a cell instead of
// firing it, and an inspector beside it.
//  - an empty cell: pick a file from the show's media library (or drag one
//    from the list onto any empty cell) to make a clip there;
//  - a clip: every clip setting (label, colour, group, level, fades with their
//    curves and a drawn preview, crossfade, play mode and second press,
//    quantize, start at timecode, loop, tempo sync, pitch, normalize),
//    audition, and move / copy / swap / remove;
//  - the tab's grid size (clips outside a smaller grid are kept and come back)
//    and undo / redo.
// Every change is one HTTP edit; the box's answer comes back to every tablet
// as an `edit` or a fresh snapshot, which is what redraws the grid.

import { el, confirmDialog } from "./dom.js";

const COLORS = ["#3b82f6", "#22c55e", "#eab308", "#f97316", "#ef4444", "#a855f7", "#ec4899", "#14b8a6", "#64748b", "#f1f5f9"];
const CURVES = [["", "default"], ["linear", "linear"], ["equal_power", "equal power"], ["exponential", "exponential"], ["s_curve", "S-curve"]];
const PLAY_MODES = [["toggle", "toggle"], ["one_shot", "one shot"], ["retrigger", "retrigger"], ["gate", "gate (hold)"]];
const SECOND = [["stop", "stop"], ["fade_out", "fade out"], ["restart", "restart"], ["nothing", "nothing"]];
const QUANTIZE = [["", "Show default"], ["off", "Off"], ["beat", "Beat"], ["bar", "Bar"], ["frame", "Frame"]];

/** Gain of a fade-in at x in [0, 1], as the engine computes it (FadeCurve.h). */
export function curveGain(curve, x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  switch (curve) {
    case "equal_power": return Math.sin((x * Math.PI) / 2);
    case "exponential": return (Math.pow(10, -3 * (1 - x)) - 1e-3) / (1 - 1e-3);
    case "s_curve": return (1 - Math.cos(x * Math.PI)) / 2;
    default: return x;
  }
}

export class Editor {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.active = false;
    this.sel = null;   // {pane, page, tab, row, col, clip}
    this.op = null;    // {kind: "move"|"copy", from: sel}
    this.filter = "";
    this.drag = null;
    const $ = (id) => document.getElementById(id);
    this.rows = $("rows");
    this.cols = $("cols");
    $("undo").addEventListener("click", () => this.history("undo"));
    $("redo").addEventListener("click", () => this.history("redo"));
    $("resize").addEventListener("click", () => this.resize());
    this.render();
  }

  setActive(on) {
    this.active = on;
    this.op = null;
    if (!on) for (const p of this.ctx.panes) p.select(null);
    this.syncGridSize();
    this.render();
  }

  onLock(locked) {
    if (locked) this.setActive(false);
  }

  /** A fresh snapshot: the selection stays if its cell still exists. */
  snapshot() {
    if (this.sel) {
      const pane = this.ctx.panes[this.sel.pane];
      this.sel.clip = pane.page === this.sel.page && pane.tab === this.sel.tab ? pane.clipAt(this.sel.row, this.sel.col) : null;
      if (pane.page === this.sel.page && pane.tab === this.sel.tab) pane.select(this.sel.row, this.sel.col);
    }
    this.syncGridSize();
    if (this.active) this.render();
  }

  clipChanged(c) {
    if (this.active && this.sel && this.sel.clip === c.id && !this.root.contains(document.activeElement)) this.render();
  }

  paneChanged(pi) {
    if (this.sel && this.sel.pane === pi) this.setSel(null);
    this.syncGridSize();
    if (this.active) this.render();
  }

  syncGridSize() {
    const g = this.ctx.focusPane().tabData()?.grid;
    if (!g) return;
    if (document.activeElement !== this.rows) this.rows.value = String(g.rows);
    if (document.activeElement !== this.cols) this.cols.value = String(g.cols);
  }

  // ------------------------------------------------------------ actions --

  async cellTapped(pi, row, col) {
    const pane = this.ctx.panes[pi];
    const target = { pane: pi, page: pane.page, tab: pane.tab, row, col, clip: pane.clipAt(row, col) };
    if (this.op) {
      const op = this.op;
      this.op = null;
      if (op.kind === "move") await this.move(op.from, target);
      else await this.copy(op.from, target);
      return;
    }
    this.setSel(target);
    this.syncGridSize();
    this.render();
  }

  cellOf(s) {
    return { page: s.page, tab: s.tab, row: s.row, col: s.col };
  }

  async move(from, to) {
    if (from.page === to.page && from.tab === to.tab && from.row === to.row && from.col === to.col) return this.render();
    const r = await this.ctx.edit("POST", "/api/cells/move", { from: this.cellOf(from), to: this.cellOf(to) });
    if (r) {
      this.ctx.toast(to.clip != null ? "Swapped" : "Moved", "info");
      this.setSel({ ...to, clip: from.clip });
    }
    this.render();
  }

  async copy(from, to) {
    if (to.clip != null) {
      this.ctx.toast("Copy into an empty cell", "warn");
      return this.render();
    }
    const c = this.ctx.model.clips.get(from.clip);
    if (!c) return this.render();
    const body = { cell: this.cellOf(to) };
    if (c.media) body.media = c.media; else body.file = c.file;
    for (const k of ["label", "color", "group", "level_db", "fade_in_ms", "fade_out_ms", "fade_in_curve", "fade_out_curve",
      "crossfade_ms", "crossfade_curve", "play_mode", "second_press", "loop", "loop_count", "tempo_sync", "pitch_semitones", "bpm", "normalize", "quantize", "timecode"]) {
      if (c[k] !== undefined && c[k] !== null) body[k] = c[k];
    }
    const r = await this.ctx.edit("POST", "/api/clips", body);
    if (r) this.ctx.toast(`Copied “${c.label}”`, "info");
    this.render();
  }

  async assign(mediaId, target = this.sel) {
    if (!target || target.clip != null) return;
    const r = await this.ctx.edit("POST", "/api/clips", { media: mediaId, cell: this.cellOf(target) });
    if (r && this.sel === target) this.sel = { ...target, clip: r.body.clip?.id ?? null };
    this.render();
  }

  /** Selects a cell (its pane shows the highlight), or nothing. */
  setSel(s) {
    for (const p of this.ctx.panes) p.select(null);
    this.sel = s;
    if (s) {
      const pane = this.ctx.panes[s.pane];
      if (pane.page === s.page && pane.tab === s.tab) pane.select(s.row, s.col);
    }
  }

  async patch(member, value) {
    if (!this.sel || this.sel.clip == null) return;
    await this.ctx.edit("PATCH", `/api/clips/${this.sel.clip}`, { [member]: value });
  }

  async history(which) {
    const r = await this.ctx.api("POST", `/api/${which}`);
    if (r.status === 409) this.ctx.toast(which === "undo" ? "Nothing to undo" : "Nothing to redo", "warn");
    else if (r.status === 423) this.ctx.toast("The show is locked: unlock it to edit", "error");
    else if (r.status !== 200) this.ctx.toast(`${which}: ${r.body?.error?.reason || "HTTP " + r.status}`, "error");
  }

  async resize() {
    const pane = this.ctx.focusPane();
    const rows = Number(this.rows.value), cols = Number(this.cols.value);
    const r = await this.ctx.edit("PATCH", `/api/pages/${pane.page}/tabs/${pane.tab}`, { rows, cols });
    if (r) this.ctx.toast(`Grid is now ${rows} × ${cols}${this.hiddenAfter(pane, rows, cols)}`, "info");
  }

  hiddenAfter(pane, rows, cols) {
    const n = (pane.tabData()?.cells || []).filter((c) => c.row >= rows || c.col >= cols).length;
    return n ? ` — ${n} clip${n > 1 ? "s" : ""} outside are kept and come back when it grows` : "";
  }

  // ----------------------------------------------------------- rendering --

  render() {
    if (!this.active) {
      this.root.replaceChildren();
      return;
    }
    const s = this.sel;
    if (this.op) {
      this.root.replaceChildren(el("h2", { text: this.op.kind === "move" ? "Move or swap" : "Copy" }),
        el("p", { class: "muted", text: this.op.kind === "move"
          ? "Tap the cell to move the clip to (an occupied cell swaps)." : "Tap an empty cell for the copy." }),
        el("button", { class: "btn", type: "button", onclick: () => { this.op = null; this.render(); } }, "Cancel"));
      return;
    }
    if (!s) {
      this.root.replaceChildren(el("h2", { text: "Edit" }),
        el("p", { class: "muted", text: "Tap a cell to edit its clip, or an empty cell to put a file from the library there. Files can also be dragged from the library onto an empty cell." }),
        this.library(null));
      return;
    }
    const clip = s.clip != null ? this.ctx.model.clips.get(s.clip) : null;
    if (!clip) {
      this.root.replaceChildren(el("h2", { text: `Empty cell ${s.row + 1}·${s.col + 1}` }), this.library(s));
      return;
    }
    this.root.replaceChildren(...this.inspector(clip));
  }

  library(target) {
    const media = (this.ctx.model.show?.media || []).slice().sort((a, b) => a.name.localeCompare(b.name));
    const wrap = el("div", { class: "edlib" });
    const search = el("input", { class: "in", type: "search", placeholder: "Filter the library", "aria-label": "Filter the library", value: this.filter });
    const list = el("ul", { class: "edlist", "aria-label": "Media library" });
    const fill = () => {
      const q = this.filter.toLowerCase();
      list.replaceChildren(...media.filter((m) => !q || m.name.toLowerCase().includes(q)).map((m) => {
        const li = el("li", { class: "edmedia", "data-media": m.id },
          el("span", { class: "mname", text: m.name }),
          el("span", { class: "muted", text: m.duration_s ? `${m.duration_s.toFixed(1)} s` : "" }));
        if (target) li.append(el("button", { class: "btn", type: "button", onclick: () => this.assign(m.id, target) }, "Put here"));
        li.addEventListener("pointerdown", (e) => this.startDrag(e, m));
        return li;
      }));
      if (!list.children.length) list.append(el("li", { class: "muted", text: media.length ? "No match" : "The library is empty: import files on the Media screen." }));
    };
    search.addEventListener("input", () => { this.filter = search.value; fill(); });
    fill();
    wrap.append(el("h3", { text: "Library" }), search, list);
    return wrap;
  }

  // Drag a library file onto an empty cell (pointer events: touch, pen, mouse).
  startDrag(e, m) {
    if (e.target.closest("button")) return;
    const x0 = e.clientX, y0 = e.clientY;
    let ghost = null;
    const move = (ev) => {
      if (!ghost && Math.hypot(ev.clientX - x0, ev.clientY - y0) < 10) return;
      if (!ghost) {
        ghost = el("div", { class: "dragghost", text: m.name });
        document.body.append(ghost);
      }
      ghost.style.transform = `translate(${ev.clientX + 8}px, ${ev.clientY + 8}px)`;
    };
    const up = (ev) => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      window.removeEventListener("pointercancel", up);
      if (!ghost) return;
      ghost.remove();
      const cell = document.elementFromPoint(ev.clientX, ev.clientY)?.closest(".cell");
      const paneEl = cell?.closest(".pane");
      if (!cell || !paneEl) return;
      const pi = Number(paneEl.dataset.pane);
      const pane = this.ctx.panes[pi];
      const row = Number(cell.dataset.row), col = Number(cell.dataset.col);
      const target = { pane: pi, page: pane.page, tab: pane.tab, row, col, clip: pane.clipAt(row, col) };
      if (target.clip != null) {
        this.ctx.toast("Drop on an empty cell", "warn");
        return;
      }
      this.setSel(target);
      this.assign(m.id, target);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
    window.addEventListener("pointercancel", up);
  }

  inspector(c) {
    const out = [];
    const field = (label, input) => el("label", { class: "field" }, el("span", { text: label }), input);
    const commit = (member, conv = (v) => v) => (e) => {
      const t = e.target;
      const v = t.type === "checkbox" ? t.checked : conv(t.value);
      if (v === undefined) return;
      this.patch(member, v);
    };
    const num = (v) => (v === "" ? null : Number(v));
    out.push(el("h2", { text: c.label || `Clip ${c.id}` }));
    out.push(el("p", { class: "muted", text: `${c.file || ""}${c.duration_s ? ` · ${c.duration_s.toFixed(2)} s` : ""}${c.status === "missing" ? " · MISSING" : ""}` }));

    const tools = el("div", { class: "row edtools" },
      el("button", { class: "btn", type: "button", onclick: () => this.ctx.api("POST", `/api/clips/${c.id}/audition`) }, "Audition"),
      el("button", { class: "btn", type: "button", onclick: () => { this.op = { kind: "move", from: this.sel }; this.render(); } }, "Move / swap"),
      el("button", { class: "btn", type: "button", onclick: () => { this.op = { kind: "copy", from: this.sel }; this.render(); } }, "Copy"),
      el("button", { class: "btn", type: "button", onclick: () => this.removeFromCell() }, "Remove"));
    out.push(tools);

    out.push(field("Label", el("input", { type: "text", value: c.label || "", maxlength: "64", onchange: commit("label") })));
    const colors = el("div", { class: "swatches", role: "group", "aria-label": "Colour" },
      ...COLORS.map((col) => el("button", {
        type: "button", class: "swatch", style: `--sw:${col}`, "aria-label": `Colour ${col}`,
        "aria-pressed": String((c.color || "").toLowerCase() === col), onclick: () => this.patch("color", col),
      })));
    out.push(field("Colour", colors));
    const grp = el("select", { onchange: commit("group") }, ...["A", "B", "C", "D"].map((g) => el("option", { value: g, text: `Group ${g}` })));
    grp.value = c.group || "A";
    out.push(field("Group", grp));
    out.push(field("Level (dB)", el("input", { type: "number", min: "-90", max: "12", step: "0.5", value: c.level_db ?? 0, onchange: commit("level_db", Number) })));
    const curveSel = (member, v) => {
      const s = el("select", { "aria-label": member, onchange: commit(member, (x) => (x === "" ? null : x)) },
        ...CURVES.map(([val, text]) => el("option", { value: val, text })));
      s.value = v ?? "";
      return s;
    };
    out.push(field("Fade in (ms)", el("div", { class: "row" },
      el("input", { type: "number", min: "0", max: "60000", step: "10", value: c.fade_in_ms ?? "", placeholder: "default", "aria-label": "Fade in ms", onchange: commit("fade_in_ms", num) }),
      curveSel("fade_in_curve", c.fade_in_curve))));
    out.push(field("Fade out (ms)", el("div", { class: "row" },
      el("input", { type: "number", min: "0", max: "60000", step: "10", value: c.fade_out_ms ?? "", placeholder: "default", "aria-label": "Fade out ms", onchange: commit("fade_out_ms", num) }),
      curveSel("fade_out_curve", c.fade_out_curve))));
    out.push(field("Crossfade (ms)", el("div", { class: "row" },
      el("input", { type: "number", min: "0", max: "60000", step: "10", value: c.crossfade_ms ?? "", placeholder: "default", "aria-label": "Crossfade ms", onchange: commit("crossfade_ms", num) }),
      curveSel("crossfade_curve", c.crossfade_curve))));
    out.push(this.curvePreview(c));
    const pm = el("select", { onchange: commit("play_mode") }, ...PLAY_MODES.map(([v, t]) => el("option", { value: v, text: t })));
    pm.value = c.play_mode || "toggle";
    out.push(field("Play mode", pm));
    const sp = el("select", { onchange: commit("second_press") }, ...SECOND.map(([v, t]) => el("option", { value: v, text: t })));
    sp.value = c.second_press || "stop";
    out.push(field("Second press", sp));
    // Quantize: null follows the show's time_division.quantize.
    const qz = el("select", { "aria-label": "Quantize", onchange: commit("quantize", (x) => (x === "" ? null : x)) },
      ...QUANTIZE.map(([v, t]) => el("option", { value: v, text: t })));
    qz.value = c.quantize ?? "";
    out.push(field("Quantize", qz));
    // Starts by itself when the LTC/MTC timecode reaches it; empty = none. A
    // refused time is toasted (with the box's reason) and the stored one comes back.
    const tc = el("input", {
      type: "text", value: c.timecode ?? "", placeholder: "HH:MM:SS:FF", autocomplete: "off", spellcheck: false,
      "aria-label": "Start at timecode", title: "HH:MM:SS:FF; a ';' before the frames for drop-frame; empty for none",
      onchange: async () => {
        const v = tc.value.trim();
        const r = await this.ctx.edit("PATCH", `/api/clips/${c.id}`, { timecode: v === "" ? null : v });
        if (!r) tc.value = this.ctx.model.clips.get(c.id)?.timecode ?? "";
      },
    });
    out.push(field("Start at timecode", tc));
    out.push(field("Loop", el("input", { type: "checkbox", checked: !!c.loop, onchange: commit("loop") })));
    out.push(field("Loop count", el("input", { type: "number", min: "0", max: "10000", value: c.loop_count ?? 0, "aria-label": "Loop count (0 = forever)", onchange: commit("loop_count", Number) })));
    out.push(field("Tempo sync", el("input", { type: "checkbox", checked: !!c.tempo_sync, onchange: commit("tempo_sync") })));
    out.push(field("Pitch (semitones)", el("input", { type: "number", min: "-24", max: "24", step: "1", value: c.pitch_semitones ?? 0, onchange: commit("pitch_semitones", Number) })));
    out.push(field("Tempo (BPM)", el("input", { type: "number", min: "20", max: "300", step: "0.1", value: c.bpm ?? "", placeholder: "analysed", onchange: commit("bpm", num) })));
    out.push(field("Normalize", el("input", { type: "checkbox", checked: !!c.normalize, onchange: commit("normalize") })));
    out.push(this.controls(c));
    out.push(el("div", { class: "row" }, el("button", { class: "btn danger", type: "button", onclick: () => this.deleteClip(c) }, "Delete clip")));
    return out;
  }

  /** The MIDI/MSC/OSC mappings that fire this clip, and MIDI learn. */
  controls(c) {
    const maps = (this.ctx.model.show?.mappings || []).filter((m) => m.clip === c.id);
    const list = el("ul", { class: "maps" }, ...maps.map((m) => el("li", {},
      el("span", { text: `${m.source} ${m.address} → ${m.action}${m.velocity === "level" ? " (velocity)" : ""}${m.page != null ? ` · page ${m.page + 1}${m.tab != null ? ` tab ${m.tab + 1}` : ""}` : ""}` }),
      el("button", { class: "btn", type: "button", "aria-label": `Remove mapping ${m.address}`, onclick: async () => {
        const r = await this.ctx.api("DELETE", `/api/mappings/${m.id}`);
        if (r.status !== 200) this.ctx.toast(`Mapping: ${r.body?.error?.reason || "HTTP " + r.status}`, "error");
      } }, "Remove"))));
    const action = el("select", { "aria-label": "Action for the learned message" },
      ...["toggle", "start", "stop", "press"].map((a) => el("option", { value: a, text: a })));
    const learn = el("button", { class: "btn", type: "button", onclick: async () => {
      learn.disabled = true;
      learn.textContent = "Waiting for MIDI…";
      const r = await this.ctx.api("POST", "/api/mappings/learn", { action: action.value, clip: c.id, timeout_ms: 10000 });
      learn.disabled = false;
      learn.textContent = "Learn MIDI";
      if (r.status === 201) this.ctx.toast(`Mapped ${r.body.mapping.source} ${r.body.mapping.address} → ${r.body.mapping.action}`, "info");
      else this.ctx.toast(`Learn: ${r.body?.error?.reason || "HTTP " + r.status}`, r.status === 503 ? "warn" : "error");
    } }, "Learn MIDI");
    return el("div", { class: "field" }, el("span", { text: "Control" }), list, el("div", { class: "row" }, action, learn));
  }

  /** The clip's level over its length: fade in, hold, fade out (drawn). */
  curvePreview(c) {
    const cv = el("canvas", { class: "curve", width: "600", height: "120", "aria-label": "Fade curve preview" });
    const d = this.ctx.model.show?.audio?.fade_defaults || {};
    const fin = c.fade_in_ms ?? d.in?.ms ?? 0, fout = c.fade_out_ms ?? d.out?.ms ?? 0;
    const cin = c.fade_in_curve ?? d.in?.curve ?? "linear", cout = c.fade_out_curve ?? d.out?.curve ?? "linear";
    const total = Math.max((c.duration_s || 0) * 1000, fin + fout, 1);
    requestAnimationFrame(() => {
      const g = cv.getContext("2d");
      const W = cv.width, H = cv.height, pad = 8;
      g.fillStyle = "#0a0c0f";
      g.fillRect(0, 0, W, H);
      g.strokeStyle = "#2c343e";
      g.strokeRect(0.5, 0.5, W - 1, H - 1);
      g.strokeStyle = "#7cc4ff";
      g.lineWidth = 3;
      g.beginPath();
      for (let i = 0; i <= 300; i++) {
        const t = (i / 300) * total;
        let gain = 1;
        if (fin > 0 && t < fin) gain = curveGain(cin, t / fin);
        if (fout > 0 && t > total - fout) gain = Math.min(gain, curveGain(cout, (total - t) / fout));
        const x = pad + (i / 300) * (W - 2 * pad), y = H - pad - gain * (H - 2 * pad);
        if (i) g.lineTo(x, y); else g.moveTo(x, y);
      }
      g.stroke();
    });
    return el("div", { class: "curvewrap" }, cv,
      el("div", { class: "muted", text: `in ${fin} ms ${cin.replace("_", " ")} · out ${fout} ms ${cout.replace("_", " ")}` }));
  }

  async removeFromCell() {
    const s = this.sel;
    if (!s) return;
    const r = await this.ctx.edit("PUT", `/api/pages/${s.page}/tabs/${s.tab}/cells/${s.row}/${s.col}`, { clip: null });
    if (r && this.sel === s) this.sel = { ...s, clip: null }; // unless another cell was chosen meanwhile
    this.render();
  }

  async deleteClip(c) {
    const yes = await confirmDialog({
      title: "Delete clip?", text: `“${c.label}” goes from every cell it sits in (undo brings it back).`, ok: "Delete", danger: true,
    });
    if (!yes) return;
    const s = this.sel;
    const r = await this.ctx.edit("DELETE", `/api/clips/${c.id}`);
    if (r && s && this.sel === s) this.sel = { ...s, clip: null }; // unless another cell was chosen meanwhile
    this.render();
  }
}
