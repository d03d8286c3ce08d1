// Levels shared by every fader and meter: the box's "off" level, how a
// level and a meter position are shown, and the throttle that turns a
// fader drag into a few edits.

export const OFF_DB = -90;        // the box's silence
export const FADER_MIN_DB = -60;  // the bottom of a fader's travel: sent as OFF_DB
const METER_FLOOR_DB = -60;

/** "+1.5 dB", "-12.0 dB", or "off" at and below the bottom of a fader. */
export function fmtDb(db) {
  if (typeof db !== "number" || db <= FADER_MIN_DB) return "off";
  return `${db > 0 ? "+" : ""}${db.toFixed(1)} dB`;
}

/** A meter's fill, 0..1, for a level in dBFS (-60 dB and below: empty). */
export function meterFraction(db) {
  if (typeof db !== "number" || db <= METER_FLOOR_DB) return 0;
  return Math.min(1, (db - METER_FLOOR_DB) / -METER_FLOOR_DB);
}

/** A fader position as the level sent: the bottom of the travel is off. */
export function faderDb(position) {
  return position <= FADER_MIN_DB ? OFF_DB : position;
}

/**
 * Sends the newest value at most every `ms`, one request at a time, and
 * always the last one: a drag becomes a few edits, never a flood, and the
 * box ends on where the fader was left.
 */
export function throttled(send, ms) {
  let pending, has = false, busy = false, last = -1e9, timer = 0;
  async function run() {
    timer = 0;
    if (!has || busy) return;
    const wait = last + ms - performance.now();
    if (wait > 0) { timer = setTimeout(run, wait); return; }
    const v = pending;
    has = false;
    busy = true;
    last = performance.now();
    try { await send(v); } finally { busy = false; }
    if (has && !timer) run();
  }
  return (v) => {
    pending = v;
    has = true;
    if (!timer && !busy) run();
  };
}
