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

  render() {
    this.renderTabs();
    this.renderGrid();
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

  renderGrid() {
    const grid = this.grid;
    this.cellsByClip = new Map();
    const tab = this.tabData();
    const rows = Math.max(0, tab?.grid?.rows | 0);
    const cols = Math.max(0, tab?.grid?.cols | 0);
    this.empty.hidden = rows * cols > 0;
    if (!tab) this.empty.textContent = "This show has no pages.";
    else if (rows * cols === 0) this.empty.textContent = "This tab has no grid.";
    grid.style.setProperty("--rows", String(rows));
    grid.style.setProperty("--cols", String(cols));
    grid.dataset.rows = String(rows);
    grid.dataset.cols = String(cols);
    const frag = document.createDocumentFragment();
    if (tab && rows * cols > 0) {
      const occupied = new Map();
      for (const c of tab.cells || []) {
        if (c.hidden || c.clip == null) continue;
        if (c.row < 0 || c.col < 0 || c.row >= rows || c.col >= cols) continue;
        occupied.set(c.row * cols + c.col, c.clip);
      }
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const id = occupied.get(r * cols + c);
          frag.append(id == null ? this.emptyCell(r, c) : this.clipCell(r, c, id));
        }
      }
    }
    grid.replaceChildren(frag);
    if (this.selected) this.markSelected();
    this.wrap.scrollTo(0, 0);
  }

  emptyCell(r, c) {
    const el = document.createElement("div");
    el.className = "cell empty";
    el.dataset.state = "empty";
    place(el, r, c);
    return el;
  }

  clipCell(r, c, id) {
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
    fillCell(el, this.model.clips.get(id) || { id, label: `Clip ${id}`, status: "missing" });
    this.setCellState(el, cellState(this.model, id));
    let list = this.cellsByClip.get(id);
    if (!list) this.cellsByClip.set(id, (list = []));
    list.push(el);
    return el;
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
    el.dataset.state = state;
    const active = state === "playing" || state === "fading" || state === "paused";
    el.setAttribute("aria-pressed", String(active));
    el._text = "";
    el._frac = -1;
    if (active) {
      el._tag.textContent = state === "fading" ? "STOPPING" : state === "paused" ? "PAUSED"
        : el._loop ? "↻ LOOP" : "";
      updateProgress(el, this.model.live.get(Number(el.dataset.clip)), performance.now());
    } else {
      el._tag.textContent = state === "missing" ? "MISSING" : state === "loading" ? "LOADING"
        : el._loop ? "↻ LOOP" : "";
      el._time.textContent = state === "missing" ? "" : fmtDuration(el._dur);
      el._bar.style.transform = "scaleX(0)";
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

function place(el, r, c) {
  el.dataset.row = String(r);
  el.dataset.col = String(c);
  el.style.gridRow = String(r + 1);
  el.style.gridColumn = String(c + 1);
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
  el._dur = typeof clip.duration_s === "number" ? clip.duration_s : NaN;
  el._loop = !!clip.loop;
  el.classList.toggle("looping", el._loop);
  el.setAttribute("aria-label", `${el._lbl.textContent}${g ? ", group " + g : ""}`);
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
