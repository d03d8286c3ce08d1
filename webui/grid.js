// One pane of the perform/edit screen: a page's 8 tabs and the chosen tab's
// grid. The perform screen shows one pane, or two side by side (view mode
// dual). A pane renders cells from the shared model and keeps, per clip, the
// cell elements that show it, so a state change touches only those.

import { fmtRemaining, fmtDuration, safeColor, inkFor } from "./format.js";

const SNAP_BACK_S = 0.25; // small backwards corrections of the countdown are ignored

export function pageName(p, i) {
  return (p && p.name) || `Page ${i + 1}`;
}

export class Pane {
  /**
   * @param {object} o
   * @param {object} o.model   the shared model (show, clips, live, loading)
   * @param {HTMLElement} o.tabs, o.grid, o.wrap, o.empty
   */
  constructor({ model, tabs, grid, wrap, empty }) {
    this.model = model;
    this.tabsEl = tabs;
    this.grid = grid;
    this.wrap = wrap;
    this.empty = empty;
    this.page = -1;
    this.tab = -1;
    this.tabEls = [];
    this.cellsByClip = new Map(); // id -> [cell elements]
    this.liveKey = "";
    this.selected = null; // {row, col} in edit mode
    new ResizeObserver(() => this.sizeClasses()).observe(wrap);
  }

  pages() {
    return (this.model.show && this.model.show.pages) || [];
  }

  tabData() {
    return this.pages()[this.page]?.tabs?.[this.tab];
  }

  /** Clamps the page and tab to the show (after a snapshot). */
  clamp(defaultPage) {
    const ps = this.pages();
    if (!(this.page >= 0 && this.page < ps.length)) {
      this.page = defaultPage >= 0 && defaultPage < ps.length ? defaultPage : 0;
      this.tab = -1;
    }
    const tabs = ps[this.page]?.tabs || [];
    if (!(this.tab >= 0 && this.tab < tabs.length)) {
      const at = tabs.findIndex((t) => t.index === ps[this.page]?.active_tab);
      this.tab = at >= 0 ? at : 0;
    }
  }

  /** keepScroll: an edit of what is shown (not another tab): stay put. */
  render(keepScroll = false) {
    this.renderTabs();
    this.renderGrid(keepScroll);
  }

  renderTabs() {
    const tabs = this.pages()[this.page]?.tabs || [];
    const frag = document.createDocumentFragment();
    this.tabEls = tabs.map((t, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "tab";
      b.setAttribute("role", "tab");
      b.dataset.tab = String(t.index ?? i);
      b.setAttribute("aria-selected", String(i === this.tab));
      const s = document.createElement("span");
      s.textContent = t.name || `Tab ${i + 1}`;
      b.append(s);
      b.title = s.textContent;
      frag.append(b);
      return b;
    });
    this.tabsEl.replaceChildren(frag);
    this.liveKey = "";
    this.updateLiveMarks();
  }

  selectTab(t) {
    this.tab = t;
    this.tabEls.forEach((el, i) => el.setAttribute("aria-selected", String(i === t)));
    this.selected = null;
    this.renderGrid();
  }

  // A tab switch on a grid of the same size reuses the cell elements and
  // changes only what differs (label, colour, group, state): no elements
  // are made or dropped and the grid's layout stays, which is what keeps a
  // 256-cell switch fast on a tablet.
  renderGrid(keepScroll = false) {
    const grid = this.grid;
    this.cellsByClip = new Map();
    const tab = this.tabData();
    const rows = Math.max(0, tab?.grid?.rows | 0);
    const cols = Math.max(0, tab?.grid?.cols | 0);
    this.empty.hidden = rows * cols > 0;
    if (!tab) this.empty.textContent = "This show has no pages.";
    else if (rows * cols === 0) this.empty.textContent = "This tab has no grid.";
    // Back to the top, without forcing a layout when it is there already
    // (reading sizes before the change is free: layout is clean).
    const scrolled = !keepScroll && (this.wrap.scrollTop !== 0 || this.wrap.scrollLeft !== 0);
    const n = rows * cols;
    if (grid.dataset.rows !== String(rows) || grid.dataset.cols !== String(cols)) {
      // Another size: the elements there are are kept (those beyond the
      // size hidden, for the next big tab), missing ones made, and all
      // placed anew.
      grid.style.setProperty("--rows", String(rows));
      grid.style.setProperty("--cols", String(cols));
      grid.dataset.rows = String(rows);
      grid.dataset.cols = String(cols);
      const frag = document.createDocumentFragment();
      for (let i = grid.children.length; i < n; i++) frag.append(makeCell(0, 0));
      grid.append(frag);
      const els = grid.children;
      for (let i = 0; i < els.length; i++) {
        const inside = i < n;
        if (els[i].hidden === inside) els[i].hidden = !inside;
        if (inside) place(els[i], Math.floor(i / cols), i % cols);
        else this.bindEmpty(els[i]);
      }
    }
    this.sizeClasses(rows, cols);
    if (n > 0) {
      const occupied = new Map();
      for (const c of tab.cells || []) {
        if (c.hidden || c.clip == null) continue;
        if (c.row < 0 || c.col < 0 || c.row >= rows || c.col >= cols) continue;
        occupied.set(c.row * cols + c.col, c.clip);
      }
      const els = grid.children;
      for (let i = 0; i < n; i++) {
        const el = els[i];
        el.classList.remove("selected", "pending", "refused", "guarded");
        const id = occupied.get(i);
        if (id == null) this.bindEmpty(el);
        else this.bindClip(el, id);
      }
    }
    if (this.selected) this.markSelected();
    if (scrolled) this.wrap.scrollTo(0, 0);
  }

  bindEmpty(el) {
    if (el.dataset.state === "empty") return;
    el.className = "cell empty";
    el.dataset.state = "empty";
    delete el.dataset.clip;
    delete el.dataset.group;
    el.tabIndex = -1;
    el.setAttribute("aria-hidden", "true");
    el.removeAttribute("aria-label");
    el.removeAttribute("aria-pressed");
    el.style.removeProperty("--c");
    el._color = undefined;
    el._grp.hidden = true;
    setText(el._lbl, "");
    setText(el._grp, "");
    setText(el._tag, "");
    setText(el._time, "");
    el._bar.style.transform = "scaleX(0)";
  }

  bindClip(el, id) {
    if (el.dataset.state === "empty") {
      el.className = "cell";
      el.removeAttribute("aria-hidden");
      el.removeAttribute("tabindex");
    }
    el.dataset.clip = String(id);
    el._text = "";
    el._frac = -1;
    fillCell(el, this.model.clips.get(id) || { id, label: `Clip ${id}`, status: "missing" });
    this.setCellState(el, cellState(this.model, id));
    let list = this.cellsByClip.get(id);
    if (!list) this.cellsByClip.set(id, (list = []));
    list.push(el);
  }

  /** Text size classes from the size a cell gets (the grid's tracks are
   *  minmax(84px or 60px, 1fr) by minmax(56px, 1fr), gaps 6px). */
  sizeClasses(rows = Number(this.grid.dataset.rows), cols = Number(this.grid.dataset.cols)) {
    if (!rows || !cols) return;
    const w = this.wrap.clientWidth - 24, h = this.wrap.clientHeight - 20;
    const minW = document.body.classList.contains("dual") ? 60 : 84;
    const cw = Math.max(minW, (w - 6 * (cols - 1)) / cols), ch = Math.max(56, (h - 6 * (rows - 1)) / rows);
    const cl = this.grid.classList;
    cl.toggle("big", ch >= 96 && cw >= 140);
    cl.toggle("narrow", cw <= 110);
    cl.toggle("tall", ch >= 90);
    cl.toggle("short", ch <= 58);
  }

  /** Drops the grid (a pane that is not shown); the next render builds it. */
  clear() {
    this.grid.replaceChildren();
    delete this.grid.dataset.rows;
    delete this.grid.dataset.cols;
    this.cellsByClip = new Map();
    this.selected = null;
  }

  cells(id) {
    return this.cellsByClip.get(id) || [];
  }

  /** Static data of a clip changed (an edit). */
  refill(clip) {
    for (const el of this.cells(clip.id)) {
      fillCell(el, clip);
      this.setCellState(el, cellState(this.model, clip.id));
    }
  }

  restate(id) {
    for (const el of this.cells(id)) this.setCellState(el, cellState(this.model, id));
  }

  /** Dynamic state: only called when the state of that clip changed. */
  setCellState(el, state) {
    if (el.dataset.state !== state) el.dataset.state = state;
    const label = `${el._name}${state === "idle" ? "" : ", " + state}`;
    if (el.getAttribute("aria-label") !== label) el.setAttribute("aria-label", label);
    const active = state === "playing" || state === "fading" || state === "paused";
    const pressed = String(active);
    if (el.getAttribute("aria-pressed") !== pressed) el.setAttribute("aria-pressed", pressed);
    el._text = "";
    el._frac = -1;
    if (active) {
      setText(el._tag, state === "fading" ? "STOPPING" : state === "paused" ? "PAUSED" : el._loop ? "↻ LOOP" : "");
      updateProgress(el, this.model.live.get(Number(el.dataset.clip)), performance.now());
    } else {
      setText(el._tag, state === "missing" ? "MISSING" : state === "loading" ? "LOADING" : el._loop ? "↻ LOOP" : "");
      setText(el._time, state === "missing" ? "" : fmtDuration(el._dur));
      if (el._bar.style.transform !== "scaleX(0)") el._bar.style.transform = "scaleX(0)";
    }
  }

  /** Progress and countdown of every playing cell in this pane. */
  frame(now) {
    for (const [id, l] of this.model.live) {
      for (const el of this.cells(id)) updateProgress(el, l, now);
    }
  }

  /** Marks the tabs that hold a playing clip. Returns the pages that do. */
  updateLiveMarks() {
    const tabs = new Set();
    for (const id of this.model.live.keys()) {
      for (const [p, t] of this.model.clipTabs.get(id) || []) if (p === this.page) tabs.add(t);
    }
    const key = this.page + "|" + [...tabs].sort().join(",");
    if (key === this.liveKey) return;
    this.liveKey = key;
    this.tabEls.forEach((el, i) => el.classList.toggle("live", tabs.has(i)));
  }

  // ---- edit mode selection
  select(row, col) {
    this.selected = row == null ? null : { row, col };
    this.markSelected();
  }

  markSelected() {
    for (const el of this.grid.querySelectorAll(".cell.selected")) el.classList.remove("selected");
    if (!this.selected) return;
    const el = this.cellAt(this.selected.row, this.selected.col);
    if (el) el.classList.add("selected");
  }

  cellAt(row, col) {
    const cols = Number(this.grid.dataset.cols) || 0;
    return this.grid.children[row * cols + col] || null;
  }

  clipAt(row, col) {
    const tab = this.tabData();
    const rows = tab?.grid?.rows | 0, cols = tab?.grid?.cols | 0;
    if (row >= rows || col >= cols) return null;
    const c = (tab.cells || []).find((x) => !x.hidden && x.row === row && x.col === col);
    return c ? c.clip : null;
  }
}

// Every cell has the same parts; an empty one has them blank.
const CELL = (() => {
  const t = document.createElement("template");
  t.innerHTML = '<button type="button" class="cell empty" data-state="empty" tabindex="-1" aria-hidden="true">' +
    '<span class="lbl"></span><span class="grp" hidden></span>' +
    '<span class="foot"><span class="tag"></span><span class="time"></span></span>' +
    '<span class="bar"><i></i></span></button>';
  return t.content.firstChild;
})();

function makeCell(r, c) {
  const el = CELL.cloneNode(true);
  const k = el.children;
  el._lbl = k[0];
  el._grp = k[1];
  el._tag = k[2].firstChild;
  el._time = k[2].lastChild;
  el._bar = k[3].firstChild;
  el._text = "";
  el._frac = -1;
  place(el, r, c);
  return el;
}

function setText(el, t) {
  if (el.textContent !== t) el.textContent = t;
}

function place(el, r, c) {
  if (el._r === r && el._c === c) return;
  el._r = r;
  el._c = c;
  el.dataset.row = String(r);
  el.dataset.col = String(c);
  el.style.gridRow = String(r + 1);
  el.style.gridColumn = String(c + 1);
}

/** Static clip data: label, group, colour. */
function fillCell(el, clip) {
  const color = safeColor(clip.color);
  if (el._color !== color) {
    el._color = color;
    el.style.setProperty("--c", color);
    el.dataset.ink = inkFor(color);
  }
  setText(el._lbl, clip.label || `Clip ${clip.id}`);
  const g = typeof clip.group === "string" ? clip.group.slice(0, 2) : "";
  setText(el._grp, g);
  if (el._grp.hidden !== !g) el._grp.hidden = !g;
  if (el.dataset.group !== g) el.dataset.group = g;
  el._dur = typeof clip.duration_s === "number" ? clip.duration_s : NaN;
  el._loop = !!clip.loop;
  el.classList.toggle("looping", el._loop);
  el._name = `${el._lbl.textContent}${g ? ", group " + g : ""}`;
}

export function cellState(model, id) {
  const l = model.live.get(id);
  if (l) return l.state;
  const c = model.clips.get(id);
  if (!c || c.status === "missing") return "missing";
  if (model.loading.has(id)) return "loading";
  if (model.refused.has(id)) return "refused";
  return "idle";
}

export function remainingAt(l, now) {
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
