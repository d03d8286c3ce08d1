// cuebox browser UI: the shell (screens, connection, lock, toasts) and the
// perform screen (one or two panes of grid, group stops, faders, meters).
// Protocol: docs/PROTOCOL.md (snapshot/edit/state/event/ack/error over WS).

import { Meters } from "./meters.js";
import { Connection, wsUrl } from "./conn.js";
import { setupPanic } from "./panic.js";
import { MediaPanel } from "./media.js";
import { Pane, pageName, cellState, remainingAt } from "./grid.js";
import { Faders } from "./faders.js";
import { Editor } from "./edit.js";
import { RoutingScreen } from "./routing.js";
import { BoxScreen } from "./box.js";
import { ClocksScreen } from "./clocks.js";
import { ready, check, logout, session, can } from "./auth.js";

const PENDING_MS = 1500;
const REFUSED_MS = 3000;
const STORE_KEY = "cuebox.selection";
// Each screen and the least role that uses it (index.html hides the others' buttons).
const SCREENS = { perform: "viewer", edit: "designer", routing: "designer", media: "designer", clocks: "designer", box: "viewer" };

const $ = (id) => document.getElementById(id);
const ui = {
  showname: $("showname"), page: $("page"), page2: $("page2"), conn: $("conn"),
  conntext: $("conntext"), banner: $("banner"), dsp: $("dsp"), voices: $("voices"),
  clock: $("clock"), engine: $("engine"), engoff: $("engoff"), panic: $("panic"),
  toasts: $("toasts"), viewmode: $("viewmode"), lockbtn: $("lockbtn"),
};
const meters = new Meters($("meters"));

// ---------------------------------------------------------------- model --

const model = {
  synced: false,          // a snapshot arrived on the current connection
  revision: 0,
  show: null,
  clips: new Map(),       // id -> clip
  live: new Map(),        // id -> {state, dur, rem, t0, loop, shown}
  liveRaw: null,          // the last `live` object as received
  engine: null,
  voices: null,
  clipTabs: new Map(),    // id -> [[pagePos, tabPos], ...] (visible cells)
  loading: new Set(),     // clips whose render is queued or being made
  refused: new Map(),     // id -> timer: a start the box refused, shown a moment
  lock: { locked: false },
  settings: {},
};

const panes = [
  new Pane({ model, tabs: $("tabs"), grid: $("grid"), wrap: $("gridwrap"), empty: $("empty") }),
  new Pane({ model, tabs: $("tabs2"), grid: $("grid2"), wrap: $("gridwrap2"), empty: $("empty2") }),
];
const paneEls = [...document.querySelectorAll("#panes .pane")];

const view = {
  screen: "perform",
  dual: false,
  focus: 0,               // the pane that has the focus (dual view)
  connected: false,
  everConnected: false,
  pagesKey: "",
};

let reqSeq = 0;
const pending = new Map(); // req -> {id, timer}
const lastStart = new Map(); // cell key -> time of its last accepted start
let rafId = 0;

function forCells(id, fn) {
  for (const p of panes) for (const el of p.cells(id)) fn(el);
}
function restate(id) {
  for (const p of panes) p.restate(id);
}

// ------------------------------------------------------------ messages --

function onMessage(msg) {
  switch (msg.type) {
    case "snapshot": applySnapshot(msg); break;
    case "edit": if (model.synced) applyEdit(msg); break;
    case "state": if (model.synced && msg.live) applyLive(msg.live); break;
    case "event": if (model.synced) applyEvent(msg); break;
    case "ack":
      if (msg.action === "none") settle(msg.req, false, true);
      else settle(msg.req, false);
      break;
    case "error": onError(msg); break;
    case "media_job":
      if (msg.job) {
        media.job(msg.job);
        if (msg.job.kind === "render") refreshRenders();
      }
      break;
    case "firmware": screens.box.onFirmware(msg); break;
    default: break; // newer servers may send more types
  }
}

function applySnapshot(msg) {
  const show = msg.show || {};
  model.revision = msg.revision ?? 0;
  model.show = show;
  model.clips = new Map((show.clips || []).map((c) => [c.id, c]));
  model.settings = show.settings || {};
  model.lock = msg.lock || show.lock || { locked: false };
  model.live = new Map();
  indexClipTabs();
  chooseSelection();
  renderShow();
  applyLive(msg.live || {});
  applyLock();
  model.synced = true;
  conn.healthy();
  setConnected(true);
  editor.snapshot();
  for (const s of Object.values(screens)) s.onShow?.(show);
  refreshRenders();
}

function applyEdit(msg) {
  model.revision = msg.revision ?? model.revision;
  if (msg.clip && msg.clip.id != null) {
    const c = msg.clip;
    model.clips.set(c.id, c);
    const i = (model.show.clips || []).findIndex((x) => x.id === c.id);
    if (i >= 0) model.show.clips[i] = c; else (model.show.clips ||= []).push(c);
    for (const p of panes) p.refill(c);
    editor.clipChanged(c);
  }
  if (msg.audio) {
    model.show.audio = msg.audio;
    faders.render(msg.audio);
  }
  if (msg.settings) {
    for (const [k, v] of Object.entries(msg.settings)) model.settings[k] = v;
    renderClock();
  }
  if (msg.page && typeof msg.page.index === "number" && model.show.pages?.[msg.page.index]) {
    // A tab or cell edit: that page anew; the panes showing it re-render.
    model.show.pages[msg.page.index] = msg.page;
    indexClipTabs();
    for (const p of panes) {
      if (p.page !== msg.page.index || (p === panes[1] && !view.dual)) continue;
      p.clamp(p.page);
      p.render(true);
    }
    view.pagesKey = "";
    updateLiveMarks();
    editor.snapshot();
    kick();
  }
  if (msg.audio || msg.settings) for (const s of Object.values(screens)) s.onShow?.(model.show);
}

/** Replaces live clip states (absent = idle) and engine figures. */
function applyLive(live) {
  const now = performance.now();
  const next = new Map();
  model.liveRaw = live;
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
    restate(id);
    clearPendingFor(id);
  }
  if (changed.length) updateLiveMarks();
  if (live.engine) model.engine = live.engine;
  if (live.voices) model.voices = live.voices;
  if (live.meters) meters.update(live.meters);
  renderEngine();
  for (const s of Object.values(screens)) s.onLive?.(live);
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
  if (msg.event === "lock") {
    model.lock = { locked: !!msg.locked };
    applyLock();
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
  restate(id);
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
  if (clip) {
    text = `${clip.label || "Clip " + clip.id}: ${text}`;
    markRefused(clip.id);
  }
  toast(text, "error");
}

function markRefused(id) {
  clearTimeout(model.refused.get(id));
  model.refused.set(id, setTimeout(() => {
    model.refused.delete(id);
    restate(id);
  }, REFUSED_MS));
  restate(id);
}

function num(v, dflt) {
  return typeof v === "number" && Number.isFinite(v) ? v : dflt;
}

let rendersBusy = false, rendersAgain = false;
async function refreshRenders() {
  if (rendersBusy) {
    rendersAgain = true; // a render changed while asking: ask again after
    return;
  }
  rendersBusy = true;
  rendersAgain = false;
  try {
    const r = await api("GET", "/api/media/renders");
    const next = new Set();
    for (const x of r.body?.renders || []) if (x.state === "queued" || x.state === "rendering") next.add(x.clip);
    const changed = [...next].filter((id) => !model.loading.has(id)).concat([...model.loading].filter((id) => !next.has(id)));
    model.loading = next;
    for (const id of changed) restate(id);
  } finally {
    rendersBusy = false;
  }
  if (rendersAgain) refreshRenders();
}

// ------------------------------------------------------------ commands --

/** HTTP to the box: never throws; {status: 0} when it cannot be reached. */
async function api(method, path, body) {
  try {
    const r = await fetch(path, {
      method,
      headers: body !== undefined ? { "Content-Type": "application/json" } : {},
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const ct = r.headers.get("Content-Type") || "";
    return { status: r.status, body: ct.includes("json") ? await r.json() : await r.text() };
  } catch (e) {
    return { status: 0, body: { error: { reason: "the box cannot be reached" } } };
  }
}

/** Runs an edit; a refusal is shown as a toast naming the field. */
async function edit(method, path, body) {
  const r = await api(method, path, body);
  if (r.status >= 200 && r.status < 300) return r;
  const e = r.body?.error || {};
  toast(e.status === 423 || r.status === 423 ? "The show is locked: unlock it to edit"
    : `${e.field ? e.field + ": " : ""}${e.reason || "refused (HTTP " + r.status + ")"}`, "error");
  return null;
}

function sendCmd(obj) {
  const req = ++reqSeq;
  return conn.send({ ...obj, req }) ? req : 0;
}

function settle(req, failed, nothing = false) {
  const p = pending.get(req);
  if (!p) return;
  pending.delete(req);
  clearTimeout(p.timer);
  forCells(p.id, (el) => {
    el.classList.remove("pending");
    if (failed) flash(el, "refused");
    else if (nothing) flash(el, "guarded"); // the clip's second press does nothing
  });
}

// The clip's state changed: the command took effect, drop the highlight
// (the pending entry stays so that a late error can still name the clip).
function clearPendingFor(id) {
  for (const p of pending.values()) {
    if (p.id !== id) continue;
    forCells(id, (el) => el.classList.remove("pending"));
    return;
  }
}

function flash(el, cls) {
  el.classList.remove(cls);
  void el.offsetWidth; // restart the animation
  el.classList.add(cls);
  setTimeout(() => el.classList.remove(cls), 700);
}

function doubleTapMs() {
  const v = model.settings?.perform?.double_tap_ms;
  return typeof v === "number" ? v : 300;
}

// A tap is a press (and, when the finger lifts, a release): the box acts by
// the clip's play mode and second-press action (toggle, one-shot, retrigger,
// gate). Returns the request number when a press was sent (its release
// follows), 0 otherwise.
function activate(el) {
  const id = Number(el.dataset.clip);
  const pane = el.closest(".pane")?.dataset.pane ?? "0";
  const key = `${id}@${pane},${el.dataset.row},${el.dataset.col}`;
  const clip = model.clips.get(id);
  const playing = model.live.has(id);
  // Double-tap protection: within the configured time after a start, a
  // second tap on the same cell is ignored (it would start it again, or stop
  // what was just started). Other cells, group stops and PANIC are not held.
  const now = performance.now();
  if (now - (lastStart.get(key) ?? -1e9) < doubleTapMs()) {
    flash(el, "guarded");
    return 0;
  }
  if (!playing && (!clip || clip.status === "missing")) {
    const name = clip ? clip.label || `Clip ${id}` : `Clip ${id}`;
    const file = clip && clip.file ? ` (${clip.file})` : "";
    toast(`${name}: media file missing${file} — cannot play`, "warn");
    flash(el, "refused");
    return 0;
  }
  if (!view.connected) {
    toast("Not connected to the box — nothing was sent", "error");
    flash(el, "refused");
    return 0;
  }
  const req = sendCmd({ cmd: "press", clip: id });
  if (!req) {
    toast("Not connected to the box — nothing was sent", "error");
    return 0;
  }
  if (!playing) lastStart.set(key, now);
  el.classList.add("pending");
  const timer = setTimeout(() => {
    pending.delete(req);
    forCells(id, (c) => c.classList.remove("pending"));
  }, PENDING_MS);
  pending.set(req, { id, timer });
  return req;
}

/** The end of a tap that sent a press (a gate clip fades out). */
function release(id) {
  if (view.connected) sendCmd({ cmd: "release", clip: id });
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

function stopGroup(g) {
  if (view.connected && sendCmd({ cmd: "stop_group", group: g })) return;
  api("POST", `/api/groups/${g}/stop`).then((r) => {
    if (r.status !== 202) toast(`Stop ${g} failed: ${r.body?.error?.reason || "HTTP " + r.status}`, "error");
  });
}

// ----------------------------------------------------------- selection --

function pages() {
  return (model.show && model.show.pages) || [];
}

function chooseSelection() {
  const show = model.show;
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
  } catch { /* private mode */ }
  if (panes[0].page < 0 && saved && saved.show === show.id) {
    panes[0].page = saved.page;
    panes[0].tab = saved.tab;
    if (saved.page2 != null) { panes[1].page = saved.page2; panes[1].tab = saved.tab2; }
  }
  const ps = pages();
  const ap = ps.findIndex((p) => p.index === show.active_page);
  panes[0].clamp(ap >= 0 ? ap : 0);
  panes[1].clamp(Math.min(ps.length - 1, panes[0].page + 1));
  view.dual = show.view_mode === "dual";
}

function remember() {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify({
      show: model.show?.id, page: panes[0].page, tab: panes[0].tab, page2: panes[1].page, tab2: panes[1].tab,
    }));
  } catch { /* private mode */ }
}

function selectPage(pi, p) {
  const pane = panes[pi];
  const ps = pages();
  if (!(p >= 0 && p < ps.length)) return;
  pane.page = p;
  pane.tab = -1;
  pane.selected = null;
  pane.clamp(p);
  pane.render();
  remember();
  editor.paneChanged(pi);
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

function updateLiveMarks() {
  for (const p of panes) p.updateLiveMarks();
  const pgs = new Set();
  for (const id of model.live.keys()) for (const [p] of model.clipTabs.get(id) || []) pgs.add(p);
  const key = [...pgs].sort().join(",") + "|" + pages().length;
  if (key === view.pagesKey) return;
  view.pagesKey = key;
  for (const sel of [ui.page, ui.page2]) {
    [...sel.options].forEach((o, i) => {
      const text = (pgs.has(i) ? "▶ " : "") + pageName(pages()[i], i);
      if (o.textContent !== text) o.textContent = text;
    });
  }
}

// ------------------------------------------------------------ rendering --

function renderShow() {
  const name = model.show.name || "Untitled show";
  ui.showname.textContent = name;
  ui.showname.title = name;
  for (const [sel, pane] of [[ui.page, panes[0]], [ui.page2, panes[1]]]) {
    sel.replaceChildren(...pages().map((p, i) => {
      const o = document.createElement("option");
      o.value = String(i);
      o.textContent = pageName(p, i);
      return o;
    }));
    sel.value = String(pane.page);
    sel.disabled = pages().length < 2;
  }
  view.pagesKey = "";
  renderPanes();
  faders.render(model.show.audio);
  renderClock();
}

function renderPanes() {
  paneEls[1].hidden = !view.dual;
  document.body.classList.toggle("dual", view.dual);
  ui.viewmode.setAttribute("aria-pressed", String(view.dual));
  panes[0].render();
  if (view.dual) panes[1].render();
  else panes[1].clear();
  setFocus(view.dual ? view.focus : 0);
  updateLiveMarks();
  kick();
}

function setFocus(i) {
  view.focus = i;
  paneEls.forEach((el, j) => el.classList.toggle("focus", view.dual && j === i));
}

// Countdown and progress bars: interpolated locally between `state` messages.
function frame() {
  rafId = 0;
  if (!model.live.size) return;
  const now = performance.now();
  for (const p of panes) p.frame(now);
  for (const l of model.live.values()) l.shown = remainingAt(l, now);
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
  renderClock();
}

const SOURCE_NAMES = { internal: "Internal", ptp: "PTP", ltc: "LTC", mtc: "MTC", midi_clock: "MIDI clock" };

/** The clock at a glance: the source in use and whether it is healthy
 * ("MTC 2" for a MIDI port; freewheel and degraded warn, lost is bad). */
function renderClock() {
  const c = model.liveRaw?.clock;
  const source = c?.source || "internal";
  const [kind, port] = source.split(":");
  let text = (SOURCE_NAMES[kind] || kind) + (port ? ` ${port}` : "");
  let level = "ok";
  if (c && c.state && c.state !== "locked" && kind !== "internal") {
    text += ` ${c.state}`;
    level = c.state === "lost" ? "bad" : "warn";
  } else if (!c) {
    text += " (no status)";
    level = "warn";
  }
  setText(ui.clock, text);
  if (ui.clock.dataset.level !== level) ui.clock.dataset.level = level;
}

function setText(el, t) {
  if (el.textContent !== t) el.textContent = t;
}

// ----------------------------------------------------------------- lock --

function applyLock() {
  const locked = !!model.lock?.locked;
  document.body.classList.toggle("locked", locked);
  ui.lockbtn.setAttribute("aria-pressed", String(locked));
  ui.lockbtn.textContent = locked ? "🔒 Locked" : "Lock";
  if (locked && view.screen !== "perform") showScreen("perform");
  for (const s of Object.values(screens)) s.onLock?.(locked);
  editor.onLock(locked);
  lockDlg.changed();
}

const lockDlg = {
  el: $("lockdlg"), form: $("lockform"), pin: $("lockpin"), err: $("lockerr"),
  mode: "lock",
  busy: false,
  open() {
    const locked = !!model.lock?.locked;
    this.mode = locked ? "unlock" : "lock";
    $("lockttl").textContent = locked ? "Unlock the show" : "Lock the show";
    $("lockhint").textContent = locked
      ? "Enter the PIN to allow editing again."
      : "Performing only: editing is refused on every tablet until the PIN is entered.";
    $("lockok").textContent = locked ? "Unlock" : "Lock";
    this.err.textContent = "";
    this.pin.value = "";
    this.el.hidden = false;
    this.pin.focus();
  },
  close() { this.el.hidden = true; },
  /** The lock changed elsewhere while the dialog is open: it follows. */
  changed() {
    if (!this.el.hidden && (this.mode === "unlock") !== !!model.lock?.locked) this.open();
  },
  async submit() {
    if (this.busy) return;
    const pin = this.pin.value.trim();
    if (!/^[0-9]{4,8}$/.test(pin)) {
      this.err.textContent = "The PIN is 4 to 8 digits.";
      return;
    }
    // What the dialog was opened for, not what the show is now.
    const locked = this.mode === "unlock";
    this.busy = true;
    $("lockok").disabled = true;
    let r;
    try {
      r = await api("POST", locked ? "/api/unlock" : "/api/lock", { pin });
    } finally {
      this.busy = false;
      $("lockok").disabled = false;
    }
    if (r.status === 200) {
      model.lock = r.body.lock || { locked: !locked };
      applyLock();
      this.close();
      toast(locked ? "Show unlocked: editing allowed" : "Show locked: performing only", "info");
    } else {
      this.err.textContent = r.body?.error?.reason || `Refused (HTTP ${r.status})`;
      this.pin.select();
    }
  },
};
ui.lockbtn.addEventListener("click", () => lockDlg.open());
$("lockcancel").addEventListener("click", () => lockDlg.close());
lockDlg.el.addEventListener("keydown", (e) => { if (e.key === "Escape") lockDlg.close(); });
lockDlg.form.addEventListener("submit", (e) => { e.preventDefault(); lockDlg.submit(); });

// -------------------------------------------------------------- screens --

function showScreen(name) {
  if (!Object.hasOwn(SCREENS, name) || !can(SCREENS[name])) name = "perform";
  if (model.lock?.locked && name !== "perform") {
    toast("The show is locked: performing only", "warn");
    name = "perform";
  }
  const prev = view.screen;
  view.screen = name;
  document.body.dataset.screen = name;
  for (const b of document.querySelectorAll("#screens [data-screen]")) {
    if (b.dataset.screen === name) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  for (const s of Object.keys(SCREENS)) {
    const el = $(`screen-${s}`);
    if (el) el.hidden = !(s === name || (s === "perform" && name === "edit"));
  }
  if (prev !== name) {
    screens[prev]?.hide?.();
    screens[name]?.show?.();
    if (prev === "edit" || name === "edit") editor.setActive(name === "edit");
  }
  if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
}

// ------------------------------------------------------------ connection --

// The banner stays hidden for the first moments of the very first connect
// (the timer starts with the connection, at the end).
let bannerTimer = 0;

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
    check(); // the session may be what went (logged out elsewhere, user deleted)
  },
});

// -------------------------------------------------------------- session --

function applySession() {
  document.body.dataset.role = session.role;
  $("whoname").textContent = session.user;
  $("whorole").textContent = session.role;
  $("who").hidden = false;
  // A viewer watches: the performing controls stay in sight, disabled.
  if (!can("operator")) {
    for (const x of document.querySelectorAll("#groupstops button, #panic, #lockbtn, #viewmode, #faders input")) x.disabled = true;
  }
}
$("logout").addEventListener("click", async () => {
  if (!(await logout())) toast("Not logged out: the box cannot be reached", "error");
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

function gridScrolls(wrap) {
  return wrap.scrollHeight > wrap.clientHeight + 1 || wrap.scrollWidth > wrap.clientWidth + 1;
}

// A tap on a cell: fires it on the perform screen, selects it on the edit
// screen.
function cellTapped(pi, el) {
  setFocus(pi);
  if (!can("operator")) return 0;
  if (view.screen === "edit") {
    editor.cellTapped(pi, Number(el.dataset.row), Number(el.dataset.col));
    return 0;
  }
  return el.dataset.clip ? activate(el) : 0;
}

// Fire on press (no waiting for release) with mouse and pen, and with touch
// while the grid fits the screen. When the grid scrolls (phones), a touch
// fires on release unless the browser took it over as a scroll.
panes.forEach((pane, pi) => {
  let touch = null;
  const held = new Map(); // pointerId -> clip id pressed (its release is due)
  const sel = ".cell";
  const up = (e) => {
    const id = held.get(e.pointerId);
    if (id != null) {
      held.delete(e.pointerId);
      release(id);
    }
  };
  pane.grid.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    const el = e.target.closest(sel);
    if (!el || (!el.dataset.clip && view.screen !== "edit")) return;
    if (e.pointerType === "touch" && gridScrolls(pane.wrap)) {
      touch = { id: e.pointerId, el, x: e.clientX, y: e.clientY };
      return;
    }
    touch = null;
    if (cellTapped(pi, el)) held.set(e.pointerId, Number(el.dataset.clip));
  });
  pane.grid.addEventListener("pointerup", (e) => {
    up(e);
    const t = touch;
    touch = null;
    if (!t || t.id !== e.pointerId) return;
    if (Math.hypot(e.clientX - t.x, e.clientY - t.y) > 12) return;
    // A scrolling grid fires on release: press and release at once.
    if (e.target.closest(sel) === t.el && cellTapped(pi, t.el)) release(Number(t.el.dataset.clip));
  });
  pane.grid.addEventListener("pointercancel", (e) => { up(e); touch = null; });
  // Keyboard (Enter/Space) and programmatic clicks have detail 0; pointer
  // clicks were already handled on pointerdown/up.
  pane.grid.addEventListener("click", (e) => {
    if (e.detail !== 0) return;
    const el = e.target.closest(sel);
    if (el && (el.dataset.clip || view.screen === "edit") && cellTapped(pi, el)) release(Number(el.dataset.clip));
  });
  pane.grid.addEventListener("contextmenu", (e) => e.preventDefault());
  pane.tabsEl.addEventListener("click", (e) => {
    const b = e.target.closest(".tab");
    if (!b) return;
    setFocus(pi);
    const i = pane.tabEls.indexOf(b);
    if (i >= 0 && i !== pane.tab) {
      pane.selectTab(i);
      remember();
      editor.paneChanged(pi);
      kick();
    }
  });
});

ui.page.addEventListener("change", () => selectPage(0, Number(ui.page.value)));
ui.page2.addEventListener("change", () => selectPage(1, Number(ui.page2.value)));
ui.viewmode.addEventListener("click", async () => {
  const dual = !view.dual;
  view.dual = dual;
  renderPanes();
  // The view mode is the show's: stored so every tablet opens the same way.
  await api("PATCH", "/api/show", { view_mode: dual ? "dual" : "single" });
});
$("groupstops").addEventListener("click", (e) => {
  const b = e.target.closest("[data-group]");
  if (b) stopGroup(b.dataset.group);
});
document.querySelector("#screens").addEventListener("click", (e) => {
  const b = e.target.closest("[data-screen]");
  if (b) showScreen(b.dataset.screen);
});
window.addEventListener("hashchange", () => showScreen(location.hash.slice(1)));

setupPanic(ui.panic, panic, () => toast("Hold PANIC for half a second to stop everything", "warn"));

const ctx = {
  api, edit, toast,
  get model() { return model; },
  get locked() { return !!model.lock?.locked; },
  panes, focusPane: () => panes[view.focus] || panes[0],
};
const faders = new Faders($("faders"), ctx);
const media = new MediaPanel({
  place: () => {
    const p = ctx.focusPane();
    return p.page >= 0 && p.tab >= 0 ? { page: p.page, tab: p.tab } : null;
  },
  toast,
});
const editor = new Editor($("inspector"), ctx);
const screens = {
  media: { show: () => media.toggle(true), hide: () => media.toggle(false) },
  routing: new RoutingScreen($("screen-routing"), ctx),
  clocks: new ClocksScreen($("screen-clocks"), ctx),
  box: new BoxScreen($("screen-box"), ctx),
};

// Nothing of the show before there is a session to see it with.
await ready();
applySession();
bannerTimer = setTimeout(showBanner, 1500);
showScreen(location.hash.slice(1) || "perform");
conn.start();

// For the browser tests: how long the last tab/page switch took to render.
window.cuebox = { model, panes, showScreen, selectPage, cellState: (id) => cellState(model, id) };
