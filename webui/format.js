// Pure helpers: time formatting and colour handling. No DOM access.

function clock(tenths) {
  const t = tenths % 10;
  const s = Math.floor(tenths / 10);
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  const ss = String(s % 60).padStart(2, "0");
  return h > 0
    ? `${h}:${String(m).padStart(2, "0")}:${ss}.${t}`
    : `${m}:${ss}.${t}`;
}

/** Time remaining as "-0:03.2" (rounded up to the tenth, so a countdown
 *  shows -0:00.0 only when the clip is really at its end). */
export function fmtRemaining(sec) {
  const v = Number.isFinite(sec) && sec > 0 ? sec : 0;
  return "-" + clock(Math.max(0, Math.ceil(v * 10 - 1e-6)));
}

/** A duration as "0:06.0" (rounded to the nearest tenth). */
export function fmtDuration(sec) {
  if (!Number.isFinite(sec) || sec < 0) return "";
  return clock(Math.round(sec * 10));
}

const HEX = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

/** The colour if it is a #rgb or #rrggbb string, else a neutral grey. */
export function safeColor(c) {
  return typeof c === "string" && HEX.test(c.trim()) ? c.trim() : "#6b7280";
}

/** "dark" if black text reads better than white on this colour. */
export function inkFor(color) {
  let h = safeColor(color).slice(1);
  if (h.length === 3) h = h.replace(/./g, "$&$&");
  const lin = (i) => {
    const v = parseInt(h.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const L = 0.2126 * lin(0) + 0.7152 * lin(2) + 0.0722 * lin(4);
  // Contrast against white vs against black; pick the larger.
  return (1.05 / (L + 0.05)) >= ((L + 0.05) / 0.05) ? "light" : "dark";
}
