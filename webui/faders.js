// Master and group faders on the perform screen: master_db and the levels of
// busses A-D (PATCH /api/audio, /api/audio/busses/{A-D}). They stay usable
// while the show is locked (riding levels is performing). A drag goes out
// through levels.js's throttle (a few edits, one at a time, always the final
// value); a fader being touched ignores the box's echo of its earlier values.

import { el } from "./dom.js";
import { FADER_MIN_DB, fmtDb, faderDb, throttled } from "./levels.js";

const MAX_DB = 10;
const SEND_MS = 80;
const TOUCHED_MS = 1000;

export class Faders {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.strips = new Map(); // key -> {input, val, touched}
    for (const [key, label] of [["master", "Master"], ["A", "A"], ["B", "B"], ["C", "C"], ["D", "D"]]) {
      const input = el("input", {
        type: "range", min: FADER_MIN_DB, max: MAX_DB, step: 0.5,
        "aria-label": key === "master" ? "Master level" : `Group ${key} level`,
      });
      const val = el("span", { class: "fval" });
      root.append(el("label", { class: "fader", dataset: { fader: key } }, el("span", { class: "fname", text: label }), input, val));
      const s = { input, val, touched: -Infinity };
      const path = key === "master" ? "/api/audio" : `/api/audio/busses/${key}`;
      const member = key === "master" ? "master_db" : "level_db";
      const push = throttled(async (db) => {
        if (!(await this.ctx.edit("PATCH", path, { [member]: db }))) {
          // Refused: back to what the box has.
          s.touched = -Infinity;
          this.render(this.ctx.model.show?.audio);
        }
      }, SEND_MS);
      const moved = () => {
        s.touched = performance.now();
        s.val.textContent = fmtDb(faderDb(Number(input.value)));
        push(faderDb(Number(input.value)));
      };
      input.addEventListener("input", moved);
      input.addEventListener("change", moved);
      this.strips.set(key, s);
    }
  }

  /** The show's audio configuration (snapshot or `edit`). */
  render(audio) {
    if (!audio) return;
    const now = performance.now();
    for (const [key, s] of this.strips) {
      const db = key === "master" ? audio.master_db : audio.busses?.[key]?.level_db;
      if (typeof db !== "number" || now - s.touched < TOUCHED_MS) continue;
      s.input.value = String(Math.max(FADER_MIN_DB, Math.min(MAX_DB, db)));
      s.val.textContent = fmtDb(db);
    }
  }
}
