// cuebox browser UI: show grid, live clip state, toggles and panic.
// Protocol: docs/PROTOCOL.md (snapshot/edit/state/event/ack/error over WS).

import { Meters } from "./meters.js";
import { Connection, wsUrl } from "./conn.js";
import { fmtRemaining, fmtDuration, safeColor, inkFor } from "./format.js";
import { setupPanic } from "./panic.js";
import { MediaPanel } from "./media.js";

const DOUBLE_TAP_MS = 300;
const PENDING_MS = 1500;
const SNAP_BACK_S = 0.25; // small backwards corrections of the countdown are ignored
const STORE_KEY = "cuebox.selection";

const $ = (id) => document.getElementById(id);
const ui = {
  showname: $("showname"), page: $("page"), tabs: $("tabs"), grid: $("grid"),
  gridwrap: $("gridwrap"), placeholder: $("empty"), conn: $("conn"),
  conntext: $("conntext"), banner: $("banner"), dsp: $("dsp"), voices: $("voices"),
  engine: $("engine"), engoff: $("engoff"), panic: $("panic"), toasts: $("toasts"),
};
const meters = new Meters(document.getElementById("meters"));


// ---------------------------------------------------------------- model --

const model = {
  synced: false,          // a snapshot arrived on the current connection
  revision: 0,
  show: null,
  clips: new Map(),       // id -> clip
  live: new Map(),        // id -> {state, dur, rem, t0, loop, shown}
  engine: null,
  voices: null,
  clipTabs: new Map(),    // id -> [[pagePos, tabPos], ...] (visible cells)
};

const view = {
  page: -1,
  tab: -1,
  tabByPage: new Map(),   // pagePos -> last tab chosen there
  cellsByClip: new Map(), // id -> [cell elements] in the rendered grid
  tabEls: [],
  connected: false,
  everConnected: false,
  liveTabsKey: "",
};

let reqSeq = 0;
const pending = new Map(); // req -> {id, timer}
const lastTap = new Map(); // cell key -> time of its last accepted tap
let rafId = 0;

// ------------------------------------------------------------ messages --

function onMessage(msg) {
  switch (msg.type) {
    case "snapshot": applySnapshot(msg); break;
    case "edit": if (model.synced) applyEdit(msg); break;
    case "state": if (model.synced && msg.live) applyLive(msg.live); break;
    case "event": if (model.synced) applyEvent(msg); break;
    case "ack": settle(msg.req, false); break;
    case "error": onError(msg); break;
    case "media_job": if (msg.job) media.job(msg.job); break;
    default: break; // newer servers may send more types
  }
}

function applySnapshot(msg) {
  const show = msg.show || {};
  model.revision = msg.revision ?? 0;
  model.show = show;
  model.clips = new Map((show.clips || []).map((c) => [c.id, c]));
  model.live = new Map();
  indexClipTabs();
  chooseSelection();
  renderShow();
  applyLive(msg.live || {});
  model.synced = true;
  conn.healthy();
  setConnected(true);
}

function applyEdit(msg) {
  const c = msg.clip;
  if (!c || c.id == null) return;
  model.revision = msg.revision ?? model.revision;
  model.clips.set(c.id, c);
  for (const el of view.cellsByClip.get(c.id) || []) {
    fillCell(el, c);
    setCellState(el, cellState(c.id));
  }
}

/** Replaces live clip states (absent = idle) and engine figures. */
function applyLive(live) {
  const now = performance.now();
  const next = new Map();
  for (const s of live.clips || []) {
    if (s == null || s.id == null) continue;
    const clip = model.clips.get(s.id);
    const dur = num(s.duration_s, clip?.duration_s ?? 0);
    const rem = num(s.remaining_s, dur - num(s.position_s, 0));
    const prev = model.live.get(s.id);
    next.set(s.id, {
      state: s.state === "fading" ? "fading" : s.state === "paused" ? "paused" : "playing",
      dur, rem, t0: now, loop: !!clip?.loop,
      shown: prev ? prev.shown : Infinity,
    });
  }
  const changed = [];
  for (const [id, l] of next) {
    const p = model.live.get(id);
    if (!p || p.state !== l.state) changed.push(id);
  }
  for (const id of model.live.keys()) if (!next.has(id)) changed.push(id);
  model.live = next;
  for (const id of changed) {
    for (const el of view.cellsByClip.get(id) || []) setCellState(el, cellState(id));
    clearPendingFor(id);
  }
  if (changed.length) updateLiveMarks();
  if (live.engine) model.engine = live.engine;
  if (live.voices) model.voices = live.voices;
  if (live.meters) meters.update(live.meters);
  renderEngine();
  kick();
}

function applyEvent(msg) {
  const now = performance.now();
  if (msg.event === "engine") {
    model.engine = { ...(model.engine || {}), connected: !!msg.connected };
    renderEngine();
    toast(msg.connected ? "Audio engine connected" : "Audio engine disconnected",
      msg.connected ? "info" : "error");
    return;
  }
  const id = msg.clip;
  if (id == null) return;
  // Immediate feedback; the next `state` message is authoritative.
  if (msg.event === "clip_started" && !model.live.has(id)) {
    const clip = model.clips.get(id);
    const dur = num(clip?.duration_s, 0);
    model.live.set(id, { state: "playing", dur, rem: dur, t0: now, loop: !!clip?.loop, shown: Infinity });
  } else if (msg.event === "clip_stopped" && model.live.has(id)) {
    model.live.delete(id);
  } else {
    return;
  }
  for (const el of view.cellsByClip.get(id) || []) setCellState(el, cellState(id));
  clearPendingFor(id);
  updateLiveMarks();
  kick();
}

function onError(msg) {
  const err = msg.error || {};
  const p = pending.get(msg.req);
  settle(msg.req, true);
  let text = err.reason || err.code || "Command refused";
  const clip = p && model.clips.get(p.id);
  if (clip) text = `${clip.label || "Clip " + clip.id}: ${text}`;
  toast(text, "error");
}

function num(v, dflt) {
  return typeof v === "number" && Number.isFinite(v) ? v : dflt;
}

// ------------------------------------------------------------ commands --

function sendCmd(obj) {
  const req = ++reqSeq;
  return conn.send({ ...obj, req }) ? req : 0;
}

function settle(req, failed) {
  const p = pending.get(req);
  if (!p) return;
  pending.delete(req);
  clearTimeout(p.timer);
  for (const el of view.cellsByClip.get(p.id) || []) {
    el.classList.remove("pending");
    if (failed) flash(el, "refused");
  }
}

// The clip's state changed: the command took effect, drop the highlight
// (the pending entry stays so that a late error can still name the clip).
function clearPendingFor(id) {
  for (const p of pending.values()) {
    if (p.id !== id) continue;
    for (const el of view.cellsByClip.get(id) || []) el.classList.remove("pending");
    return;
  }
}

function flash(el, cls) {
  el.classList.remove(cls);
  void el.offsetWidth; // restart the animation
  el.classList.add(cls);
  setTimeout(() => el.classList.remove(cls), 700);
}

function activate(el) {
  const id = Number(el.dataset.clip);
  const key = `${id}@${el.dataset.row},${el.dataset.col}`;
  const now = performance.now();
  if (now - (lastTap.get(key) ?? -1e9) < DOUBLE_TAP_MS) return;
  lastTap.set(key, now);

  const clip = model.clips.get(id);
  const playing = model.live.has(id);
  if (!playing && (!clip || clip.status === "missing")) {
    const name = clip ? clip.label || `Clip ${id}` : `Clip ${id}`;
    const file = clip && clip.file ? ` (${clip.file})` : "";
    toast(`${name}: media file missing${file} — cannot play`, "warn");
    flash(el, "refused");
    return;
  }
  if (!view.connected) {
    toast("Not connected to the box — nothing was sent", "error");
    flash(el, "refused");
    return;
  }
  const req = sendCmd({ cmd: "toggle", clip: id });
  if (!req) {
    toast("Not connected to the box — nothing was sent", "error");
    return;
  }
  el.classList.add("pending");
  const timer = setTimeout(() => {
    pending.delete(req);
    for (const c of view.cellsByClip.get(id) || []) c.classList.remove("pending");
  }, PENDING_MS);
  pending.set(req, { id, timer });
}

function panic() {
  const req = view.connected ? sendCmd({ cmd: "panic" }) : 0;
  if (req) {
    toast("PANIC — stopping everything", "error");
    return;
  }
  // No WebSocket: PANIC is never lost for that, try plain HTTP.
  fetch("/api/panic", { method: "POST" })
    .then((r) => toast(r.ok ? "PANIC sent (HTTP) — stopping everything" : `PANIC failed: HTTP ${r.status}`, "error"))
    .catch(() => toast("PANIC could not reach the box", "error"));
}

// ----------------------------------------------------------- selection --

function pages() {
  return (model.show && model.show.pages) || [];
}

function chooseSelection() {
  const ps = pages();
  const show = model.show;
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
  } catch { /* private mode */ }
  if (view.page < 0 && saved && saved.show === show.id) {
    view.page = saved.page;
    view.tab = saved.tab;
  }
  if (!(view.page >= 0 && view.page < ps.length)) {
    const ap = ps.findIndex((p) => p.index === show.active_page);
    view.page = ap >= 0 ? ap : 0;
    view.tab = -1;
  }
  const tabs = ps[view.page]?.tabs || [];
  if (!(view.tab >= 0 && view.tab < tabs.length)) {
    const at = tabs.findIndex((t) => t.index === ps[view.page].active_tab);
    view.tab = at >= 0 ? at : 0;
  }
}

function remember() {
  view.tabByPage.set(view.page, view.tab);
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify({ show: model.show?.id, page: view.page, tab: view.tab }));
  } catch { /* private mode */ }
}

function selectPage(p) {
  const ps = pages();
  if (!(p >= 0 && p < ps.length)) return;
  view.page = p;
  const tabs = ps[p].tabs || [];
  const at = view.tabByPage.get(p) ?? tabs.findIndex((t) => t.index === ps[p].active_tab);
  view.tab = at >= 0 && at < tabs.length ? at : 0;
  renderTabs();
  renderGrid();
  remember();
}

function selectTab(t) {
  view.tab = t;
  view.tabEls.forEach((el, i) => el.setAttribute("aria-selected", String(i === t)));
  renderGrid();
  remember();
}

// Which tabs hold each clip, to mark tabs and pages with live clips.
function indexClipTabs() {
  const m = new Map();
  pages().forEach((page, pi) => {
    (page.tabs || []).forEach((tab, ti) => {
      const { rows = 0, cols = 0 } = tab.grid || {};
      for (const c of tab.cells || []) {
        if (c.hidden || c.clip == null || c.row >= rows || c.col >= cols) continue;
        let a = m.get(c.clip);
        if (!a) m.set(c.clip, (a = []));
        a.push([pi, ti]);
      }
    });
  });
  model.clipTabs = m;
}

function updateLiveMarks(force) {
  const tabs = new Set();
  const pgs = new Set();
  for (const id of model.live.keys()) {
    for (const [p, t] of model.clipTabs.get(id) || []) {
      pgs.add(p);
      if (p === view.page) tabs.add(t);
    }
  }
  const key = view.page + "|" + [...tabs].sort().join(",") + "|" + [...pgs].sort().join(",");
  if (!force && key === view.liveTabsKey) return;
  view.liveTabsKey = key;
  view.tabEls.forEach((el, i) => el.classList.toggle("live", tabs.has(i)));
  [...ui.page.options].forEach((o, i) => {
    const text = (pgs.has(i) ? "▶ " : "") + pageName(pages()[i], i);
    if (o.textContent !== text) o.textContent = text;
  });
}

// ------------------------------------------------------------ rendering --

function pageName(p, i) {
  return (p && p.name) || `Page ${i + 1}`;
}

function renderShow() {
  const name = model.show.name || "Untitled show";
  ui.showname.textContent = name;
  ui.showname.title = name;
  document.title = "cuebox";
  const sel = ui.page;
  sel.textContent = "";
  pages().forEach((p, i) => {
    const o = document.createElement("option");
    o.value = String(i);
    o.textContent = pageName(p, i);
    sel.append(o);
  });
  sel.value = String(view.page);
  sel.disabled = pages().length < 2;
  renderTabs();
  renderGrid();
}

function renderTabs() {
  const tabs = pages()[view.page]?.tabs || [];
  const frag = document.createDocumentFragment();
  view.tabEls = tabs.map((t, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "tab";
    b.setAttribute("role", "tab");
    b.dataset.tab = String(t.index ?? i);
    b.setAttribute("aria-selected", String(i === view.tab));
    const s = document.createElement("span");
    s.textContent = t.name || `Tab ${i + 1}`;
    b.append(s);
    b.title = s.textContent;
    frag.append(b);
    return b;
  });
  ui.tabs.textContent = "";
  ui.tabs.append(frag);
  ui.page.value = String(view.page);
  updateLiveMarks(true);
}

function renderGrid() {
  const grid = ui.grid;
  view.cellsByClip = new Map();
  grid.textContent = "";
  const tab = pages()[view.page]?.tabs?.[view.tab];
  const rows = Math.max(0, tab?.grid?.rows | 0);
  const cols = Math.max(0, tab?.grid?.cols | 0);
  ui.placeholder.hidden = rows * cols > 0;
  if (!tab) ui.placeholder.textContent = "This show has no pages.";
  else if (rows * cols === 0) ui.placeholder.textContent = "This tab has no grid.";
  grid.style.setProperty("--rows", String(rows));
  grid.style.setProperty("--cols", String(cols));
  grid.dataset.rows = String(rows);
  grid.dataset.cols = String(cols);
  if (!tab || rows * cols === 0) return;

  const occupied = new Map();
  for (const c of tab.cells || []) {
    if (c.hidden || c.clip == null) continue;
    if (c.row < 0 || c.col < 0 || c.row >= rows || c.col >= cols) continue;
    occupied.set(c.row * cols + c.col, c.clip);
  }
  const frag = document.createDocumentFragment();
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const id = occupied.get(r * cols + c);
      frag.append(id == null ? emptyCell(r, c) : clipCell(r, c, id));
    }
  }
  grid.append(frag);
  ui.gridwrap.scrollTo(0, 0);
  kick();
}

function place(el, r, c) {
  el.dataset.row = String(r);
  el.dataset.col = String(c);
  el.style.gridRow = String(r + 1);
  el.style.gridColumn = String(c + 1);
}

function emptyCell(r, c) {
  const el = document.createElement("div");
  el.className = "cell empty";
  el.dataset.state = "empty";
  el.setAttribute("aria-hidden", "true");
  place(el, r, c);
  return el;
}

function clipCell(r, c, id) {
  const el = document.createElement("button");
  el.type = "button";
  el.className = "cell";
  el.dataset.clip = String(id);
  place(el, r, c);
  el.innerHTML =
    '<span class="lbl"></span><span class="grp"></span>' +
    '<span class="foot"><span class="tag"></span><span class="time"></span></span>' +
    '<span class="bar"><i></i></span>';
  el._lbl = el.firstChild;
  el._grp = el.children[1];
  el._tag = el.querySelector(".tag");
  el._time = el.querySelector(".time");
  el._bar = el.querySelector(".bar > i");
  el._text = "";
  el._frac = -1;
  fillCell(el, model.clips.get(id) || { id, label: `Clip ${id}`, status: "missing" });
  setCellState(el, cellState(id));
  let list = view.cellsByClip.get(id);
  if (!list) view.cellsByClip.set(id, (list = []));
  list.push(el);
  return el;
}

/** Static clip data: label, group, colour. */
function fillCell(el, clip) {
  const color = safeColor(clip.color);
  el.style.setProperty("--c", color);
  el.dataset.ink = inkFor(color);
  el._lbl.textContent = clip.label || `Clip ${clip.id}`;
  const g = typeof clip.group === "string" ? clip.group.slice(0, 2) : "";
  el._grp.textContent = g;
  el._grp.hidden = !g;
  el.dataset.group = g;
  el._dur = num(clip.duration_s, NaN);
  el._loop = !!clip.loop;
  el._missing = clip.status === "missing";
  el.setAttribute("aria-label", `${el._lbl.textContent}${g ? ", group " + g : ""}`);
}

function cellState(id) {
  const l = model.live.get(id);
  if (l) return l.state;
  const c = model.clips.get(id);
  return !c || c.status === "missing" ? "missing" : "idle";
}

/** Dynamic state: only called when the state of that clip changed. */
function setCellState(el, state) {
  el.dataset.state = state;
  const active = state === "playing" || state === "fading" || state === "paused";
  el.setAttribute("aria-pressed", String(active));
  el._text = "";
  el._frac = -1;
  if (active) {
    el._tag.textContent = state === "fading" ? "STOPPING" : state === "paused" ? "PAUSED"
      : el._loop ? "↻ LOOP" : "";
    updateProgress(el, model.live.get(Number(el.dataset.clip)), performance.now());
  } else {
    el._tag.textContent = el._missing ? "MISSING" : el._loop ? "↻ LOOP" : "";
    el._time.textContent = state === "missing" ? "" : fmtDuration(el._dur);
    el._bar.style.transform = "scaleX(0)";
  }
}

function remainingAt(l, now) {
  if (l.state === "paused") return Math.max(0, l.rem); // frozen, not interpolated
  let rem = l.rem - (now - l.t0) / 1000;
  if (rem < 0) rem = l.loop && l.dur > 0 ? ((rem % l.dur) + l.dur) % l.dur : 0;
  // Hold the display through small backwards corrections so the countdown
  // never ticks up; a real jump (restart, loop) goes through.
  if (rem > l.shown && rem - l.shown < SNAP_BACK_S) rem = l.shown;
  return rem;
}

function updateProgress(el, l, now) {
  if (!l) return;
  const rem = l.shown = remainingAt(l, now);
  const text = fmtRemaining(rem);
  if (text !== el._text) {
    el._text = text;
    el._time.textContent = text;
  }
  const frac = l.dur > 0 ? Math.min(1, Math.max(0, 1 - rem / l.dur)) : 0;
  if (Math.abs(frac - el._frac) > 0.0005) {
    el._frac = frac;
    el._bar.style.transform = `scaleX(${frac.toFixed(4)})`;
  }
}

// Countdown and progress bars: interpolated locally between `state` messages.
function frame() {
  rafId = 0;
  if (!model.live.size) return;
  const now = performance.now();
  for (const [id, l] of model.live) {
    const els = view.cellsByClip.get(id);
    if (els) for (const el of els) updateProgress(el, l, now);
    else l.shown = remainingAt(l, now);
  }
  rafId = requestAnimationFrame(frame);
}

function kick() {
  if (!rafId && model.live.size) rafId = requestAnimationFrame(frame);
}

function renderEngine() {
  const e = model.engine;
  const v = model.voices;
  const load = e && typeof e.dsp_load === "number" ? e.dsp_load : null;
  setText(ui.dsp, load == null ? "–" : `${Math.round(load * 100)}%`);
  setText(ui.voices, v ? `${v.active ?? 0}/${v.pool ?? "?"}` : "–");
  const offline = !!e && e.connected === false;
  if (ui.engoff.hidden !== !offline) ui.engoff.hidden = !offline;
  let level = "ok";
  if ((load != null && load >= 0.8) || v?.load_state === "warning") level = "warn";
  if (v && v.pool && v.active >= v.pool) level = "warn";
  if (offline || (load != null && load >= 0.9) || v?.load_state === "critical") level = "bad";
  if (ui.engine.dataset.level !== level) ui.engine.dataset.level = level;
}

function setText(el, t) {
  if (el.textContent !== t) el.textContent = t;
}

// ------------------------------------------------------------ connection --

// The banner stays hidden for the first moments of the very first connect.
const bannerTimer = setTimeout(showBanner, 1500);

function setConnected(on) {
  view.connected = on;
  ui.conn.dataset.state = on ? "connected" : "disconnected";
  document.body.classList.toggle("offline", !on);
  if (on) {
    view.everConnected = true;
    clearTimeout(bannerTimer);
    ui.conntext.textContent = "Connected";
    ui.banner.hidden = true;
  } else {
    ui.conntext.textContent = view.everConnected ? "Reconnecting…" : "Connecting…";
    showBanner();
  }
}

function showBanner() {
  if (view.connected) return;
  ui.banner.textContent = view.everConnected
    ? "Disconnected — reconnecting…"
    : "Cannot reach the box — retrying…";
  ui.banner.hidden = false;
}

const conn = new Connection({
  url: wsUrl(),
  onMessage,
  onOpen: () => { model.synced = false; },
  onDown: () => {
    model.synced = false;
    for (const req of [...pending.keys()]) settle(req, false);
    if (view.connected || view.everConnected) setConnected(false);
    else showBanner();
  },
});

// ----------------------------------------------------------------- toasts --

function toast(text, kind = "info") {
  for (const t of ui.toasts.children) {
    if (t.textContent === text) { // same message again: just keep it longer
      clearTimeout(t._timer);
      t._timer = setTimeout(() => t.remove(), 4000);
      return;
    }
  }
  while (ui.toasts.children.length >= 3) ui.toasts.firstChild.remove();
  const t = document.createElement("div");
  t.className = "toast";
  t.dataset.kind = kind;
  t.textContent = text;
  t.addEventListener("click", () => t.remove());
  ui.toasts.append(t);
  t._timer = setTimeout(() => t.remove(), kind === "error" ? 5000 : 3500);
}

// ------------------------------------------------------------------ input --

function gridScrolls() {
  const w = ui.gridwrap;
  return w.scrollHeight > w.clientHeight + 1 || w.scrollWidth > w.clientWidth + 1;
}

// Fire on press (no waiting for release) with mouse and pen, and with touch
// while the grid fits the screen. When the grid scrolls (phones), a touch
// fires on release unless the browser took it over as a scroll.
let touch = null;
ui.grid.addEventListener("pointerdown", (e) => {
  if (e.button !== 0) return;
  const el = e.target.closest(".cell[data-clip]");
  if (!el) return;
  if (e.pointerType === "touch" && gridScrolls()) {
    touch = { id: e.pointerId, el, x: e.clientX, y: e.clientY };
    return;
  }
  touch = null;
  activate(el);
});
ui.grid.addEventListener("pointerup", (e) => {
  const t = touch;
  touch = null;
  if (!t || t.id !== e.pointerId) return;
  if (Math.hypot(e.clientX - t.x, e.clientY - t.y) > 12) return;
  if (e.target.closest(".cell[data-clip]") === t.el) activate(t.el);
});
ui.grid.addEventListener("pointercancel", () => { touch = null; });
// Keyboard (Enter/Space) and programmatic clicks have detail 0; pointer
// clicks were already handled on pointerdown/up.
ui.grid.addEventListener("click", (e) => {
  if (e.detail !== 0) return;
  const el = e.target.closest(".cell[data-clip]");
  if (el) activate(el);
});
ui.grid.addEventListener("contextmenu", (e) => e.preventDefault());

ui.page.addEventListener("change", () => selectPage(Number(ui.page.value)));
ui.tabs.addEventListener("click", (e) => {
  const b = e.target.closest(".tab");
  if (!b) return;
  const i = view.tabEls.indexOf(b);
  if (i >= 0 && i !== view.tab) selectTab(i);
});

setupPanic(ui.panic, panic, () => toast("Hold PANIC for half a second to stop everything", "warn"));
const media = new MediaPanel({
  place: () => (view.page >= 0 && view.tab >= 0 ? { page: view.page, tab: view.tab } : null),
  toast,
});

conn.start();
