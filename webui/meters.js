// Level meters: the five busses (A-D, audition; left and right) and the
// physical outputs, from the `meters` of each live state (peak and RMS in
// dBFS since the previous state). Bars show RMS, a tick shows the peak, and
// the peak tick holds for a second. Only transforms change per frame.

import { meterFraction as frac } from "./levels.js";

const HOLD_MS = 1000;

export class Meters {
  constructor(root) {
    this.root = root;
    this.chans = new Map(); // key -> {bar, tick, hold, holdAt}
    this.shape = "";
  }

  build(meters) {
    const groups = [];
    for (const [name, chans] of Object.entries(meters.busses || {}))
      groups.push({ label: name === "audition" ? "Aud" : name, keys: chans.map((_, i) => `bus:${name}:${i}`) });
    (meters.outputs || []).forEach((_, i) => groups.push({ label: String(i + 1), keys: [`out:${i}`], out: true }));
    this.root.replaceChildren();
    this.chans.clear();
    for (const g of groups) {
      const box = document.createElement("div");
      box.className = g.out ? "mgroup mout" : "mgroup";
      const bars = document.createElement("div");
      bars.className = "mbars";
      for (const k of g.keys) {
        const ch = document.createElement("div");
        ch.className = "mch";
        const bar = document.createElement("div");
        bar.className = "mbar";
        const tick = document.createElement("div");
        tick.className = "mtick";
        ch.append(bar, tick);
        bars.append(ch);
        this.chans.set(k, { bar, tick, hold: 0, holdAt: 0 });
      }
      const label = document.createElement("div");
      label.className = "mlabel";
      label.textContent = g.label;
      box.append(bars, label);
      this.root.append(box);
    }
  }

  update(meters) {
    if (!meters) return;
    const shape = JSON.stringify([Object.keys(meters.busses || {}), (meters.outputs || []).length]);
    if (shape !== this.shape) {
      this.shape = shape;
      this.build(meters);
    }
    const now = performance.now();
    const set = (key, m) => {
      const c = this.chans.get(key);
      if (!c || !m) return;
      const rms = frac(m.rms_db), peak = frac(m.peak_db);
      if (peak >= c.hold || now - c.holdAt > HOLD_MS) {
        c.hold = peak;
        c.holdAt = now;
      }
      c.bar.style.transform = `scaleY(${rms.toFixed(3)})`;
      c.tick.style.transform = `translateY(${(-c.hold * 100).toFixed(1)}%)`;
      c.tick.classList.toggle("hot", m.peak_db > -1);
    };
    for (const [name, chans] of Object.entries(meters.busses || {}))
      chans.forEach((m, i) => set(`bus:${name}:${i}`, m));
    (meters.outputs || []).forEach((m, i) => set(`out:${i}`, m));
  }
}
