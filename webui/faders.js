// Master and group faders on the perform screen: master_db and the levels of
// busses A-D (PATCH /api/audio, /api/audio/busses/{A-D}). They stay usable
// while the show is locked (riding levels is performing). A drag sends at
// most ~12 edits a second, one at a time, and always the final value; a
// fader being touched ignores the box's echo of its own earlier values.

const MIN_DB = -60; // the bottom of the travel: sent as -90 (silence)
const MAX_DB = 10;
const SEND_MS = 80;
const OFF_DB = -90;

function fmtDb(db) {
  if (db <= MIN_DB) return "off";
  return `${db > 0 ? "+" : ""}${db.toFixed(1)} dB`;
}

export class Faders {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.strips = new Map(); // key -> {input, val, path, member, busyUntil, timer, last}
    for (const [key, label] of [["master", "Master"], ["A", "A"], ["B", "B"], ["C", "C"], ["D", "D"]]) {
      const box = document.createElement("label");
      box.className = "fader";
      box.dataset.fader = key;
      const name = document.createElement("span");
      name.className = "fname";
      name.textContent = label;
      const input = document.createElement("input");
      input.type = "range";
      input.min = String(MIN_DB);
      input.max = String(MAX_DB);
      input.step = "0.5";
      input.setAttribute("aria-label", key === "master" ? "Master level" : `Group ${key} level`);
      const val = document.createElement("span");
      val.className = "fval";
      box.append(name, input, val);
      root.append(box);
      const s = {
        input, val, busyUntil: 0, timer: 0, last: 0,
        path: key === "master" ? "/api/audio" : `/api/audio/busses/${key}`,
        member: key === "master" ? "master_db" : "level_db",
      };
      input.addEventListener("input", () => this.moved(s));
      input.addEventListener("change", () => this.moved(s, true));
      this.strips.set(key, s);
    }
  }

  /** The show's audio configuration (snapshot or `edit`). */
  render(audio) {
    if (!audio) return;
    const now = performance.now();
    for (const [key, s] of this.strips) {
      const db = key === "master" ? audio.master_db : audio.busses?.[key]?.level_db;
      if (typeof db !== "number" || now < s.busyUntil) continue;
      s.input.value = String(Math.max(MIN_DB, Math.min(MAX_DB, db)));
      s.val.textContent = fmtDb(db);
    }
  }

  moved(s, final = false) {
    const v = Number(s.input.value);
    s.val.textContent = fmtDb(v);
    s.busyUntil = performance.now() + 1000;
    clearTimeout(s.timer);
    const wait = final ? 0 : Math.max(0, s.last + SEND_MS - performance.now());
    s.timer = setTimeout(() => this.send(s), wait);
  }

  // One request in flight per fader: a move made meanwhile is sent when it
  // is answered, so the box always ends on the last value, in order.
  async send(s) {
    if (s.inFlight) {
      s.again = true;
      return;
    }
    s.inFlight = true;
    s.again = false;
    s.last = performance.now();
    const v = Number(s.input.value);
    const r = await this.ctx.edit("PATCH", s.path, { [s.member]: v <= MIN_DB ? OFF_DB : v });
    s.inFlight = false;
    if (!r) {
      // Refused: back to what the box has.
      s.busyUntil = 0;
      this.render(this.ctx.model.show?.audio);
      return;
    }
    if (s.again) this.send(s);
  }
}
