// Browser UI figures on a 4096-cell show (2 pages x 8 tabs x 16x16, every
// cell its own clip): how long switching tabs and pages takes to render (from
// the tap to the frame after it), and frame times while 30 Hz state updates
// arrive with 20 clips playing. Run by scripts/bench (not part of the test
// suite: it prints figures, it does not judge them); budgets in
// docs/PERFORMANCE.md.
//   cd test/browser && node perf.bench.mjs
import { join } from "node:path";
import { startStack, launchBrowser } from "./stack.mjs";

const stack = await startStack("perf");
const browser = await launchBrowser();
try {
  const t0 = Date.now();
  const s0 = (await stack.api("GET", "/api/show")).body;
  const file = s0.show.clips.find((c) => c.label === "Drone").file;
  if ((await stack.api("POST", "/api/pages", { name: "Page 2" })).status !== 200) throw new Error("cannot add a page");
  for (let p = 0; p < 2; p++)
    for (let t = 0; t < 8; t++) {
      const r = await stack.api("PATCH", `/api/pages/${p}/tabs/${t}`, { rows: 16, cols: 16 });
      if (r.status !== 200) throw new Error(`resize ${p}/${t}: ${JSON.stringify(r.body)}`);
    }
  // Fill every empty cell with a clip of its own (the demo's 16 cells stay).
  const jobs = [];
  for (let p = 0; p < 2; p++)
    for (let t = 0; t < 8; t++)
      for (let r = 0; r < 16; r++)
        for (let c = 0; c < 16; c++) if (!(p === 0 && t === 0 && r < 4 && c < 4)) jobs.push({ page: p, tab: t, row: r, col: c });
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const cell = jobs[next++];
      const r = await stack.api("POST", "/api/clips", {
        file, cell, label: `P${cell.page + 1} T${cell.tab + 1} ${cell.row + 1}·${cell.col + 1}`, loop: true,
        group: "ABCD"[cell.col % 4],
      });
      if (r.status !== 201) throw new Error(`clip: ${JSON.stringify(r.body)}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const stats = (await stack.api("GET", "/api/show/stats")).body;
  console.log(`MEASURE ui_show cells=${stats.cells} clips=${stats.clips} built_in_s=${((Date.now() - t0) / 1000).toFixed(1)}`);

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, hasTouch: true });

  await stack.authorize(ctx);
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const l0 = Date.now();
  await page.goto(stack.url + "/#perform");
  await page.waitForSelector('#conn[data-state="connected"]');
  await page.waitForFunction(() => document.querySelectorAll("#grid [data-clip]").length === 256);
  console.log(`MEASURE ui_first_load_ms=${Date.now() - l0} (page load, WebSocket, 4096-clip snapshot, first grid)`);

  // From the tap to the frame after the new grid (rAF then a task: the
  // frame with the new grid has been produced).
  const switchMs = (how) => page.evaluate(async (how) => {
    const t0 = performance.now();
    if (how.tab != null) document.querySelectorAll("#tabs .tab")[how.tab].click();
    else {
      const sel = document.getElementById("page");
      sel.value = String(how.page);
      sel.dispatchEvent(new Event("change"));
    }
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t0;
  }, how);
  const tabs = [], pages = [];
  for (let i = 0; i < 24; i++) tabs.push(await switchMs({ tab: (i + 1) % 8 }));
  for (let i = 0; i < 12; i++) pages.push(await switchMs({ page: (i + 1) % 2 }));
  const q = (a, f) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(f * a.length))];
  const fmt = (a) => `p50=${q(a, 0.5).toFixed(1)} p95=${q(a, 0.95).toFixed(1)} max=${Math.max(...a).toFixed(1)}`;
  console.log(`MEASURE ui_tab_switch_ms ${fmt(tabs)} (256 cells; budget < 100)`);
  console.log(`MEASURE ui_page_switch_ms ${fmt(pages)} (256 cells; budget < 100)`);

  // 20 clips of the tab on screen playing: 30 Hz state messages, progress
  // bars and countdowns. Frame intervals and long tasks over 5 s.
  await switchMs({ page: 0 });
  await switchMs({ tab: 1 });
  const ids = await page.evaluate(() => [...document.querySelectorAll("#grid [data-clip]")].slice(0, 20).map((e) => Number(e.dataset.clip)));
  for (const id of ids) await stack.api("POST", `/api/clips/${id}/start`);
  await page.waitForTimeout(500);
  const frames = await page.evaluate(() => new Promise((resolve) => {
    const deltas = [];
    let long = 0, longMax = 0, states = 0;
    const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) { long++; longMax = Math.max(longMax, e.duration); } });
    try { obs.observe({ type: "longtask", buffered: false }); } catch { /* not supported */ }
    const live0 = window.cuebox.model.liveRaw;
    let lastLive = live0;
    let last = performance.now();
    const end = last + 5000;
    const tick = (now) => {
      deltas.push(now - last);
      last = now;
      if (window.cuebox.model.liveRaw !== lastLive) { states++; lastLive = window.cuebox.model.liveRaw; }
      if (now < end) requestAnimationFrame(tick);
      else { obs.disconnect(); resolve({ deltas, long, longMax, states }); }
    };
    requestAnimationFrame(tick);
  }));
  const playing = await page.evaluate(() => document.querySelectorAll('#grid [data-state="playing"]').length);
  console.log(`MEASURE ui_frame_ms_while_playing ${fmt(frames.deltas)} frames=${frames.deltas.length} state_msgs_seen=${frames.states} playing_cells=${playing} long_tasks=${frames.long} longest_task_ms=${frames.longMax.toFixed(0)}`);
  await stack.api("POST", "/api/panic");

  // An edit reaching a tablet: from sending PATCH /api/clips/{id} to the
  // cell's new label in the DOM of a second tablet (the change arrives as
  // a WebSocket `edit`), timed in that tablet.
  const other = await ctx.newPage();
  await other.goto(stack.url + "/#perform");
  await other.waitForSelector('#conn[data-state="connected"]');
  await other.waitForFunction(() => document.querySelectorAll("#grid [data-clip]").length === 256);
  const lat = [];
  for (let i = 0; i < 20; i++) {
    lat.push(await other.evaluate(async (i) => {
      const el = document.querySelector("#grid [data-clip]");
      const label = `edited ${i}`;
      const seen = new Promise((res) => {
        const mo = new MutationObserver(() => { if (el.querySelector(".lbl").textContent === label) { mo.disconnect(); res(performance.now()); } });
        mo.observe(el, { subtree: true, childList: true, characterData: true });
      });
      const t0 = performance.now();
      fetch(`/api/clips/${el.dataset.clip}`, { method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ label }) });
      return (await seen) - t0;
    }, i));
  }
  console.log(`MEASURE ui_edit_seen_by_tablet_ms ${fmt(lat)} (PATCH sent -> label in a tablet's grid; budget < 100)`);

  // A layout edit (a cell emptied and filled again) reaches tablets as an
  // `edit` carrying the page: from the PUT to the cell changing in the
  // tablet's grid.
  const lay = [];
  for (let i = 0; i < 10; i++) {
    lay.push(await other.evaluate(async () => {
      const el = document.querySelector('#grid .cell[data-row="15"][data-col="15"]');
      const id = el.dataset.clip;
      const { page, tab } = { page: window.cuebox.panes[0].page, tab: window.cuebox.panes[0].tab };
      const changed = (want) => new Promise((res) => {
        const t = () => (document.querySelector('#grid .cell[data-row="15"][data-col="15"]')?.dataset.clip === want ? res(performance.now()) : requestAnimationFrame(t));
        t();
      });
      const put = (clip) => fetch(`/api/pages/${page}/tabs/${tab}/cells/15/15`, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ clip }) });
      const t0 = performance.now();
      put(null);
      const t1 = (await changed(undefined)) - t0;
      await put(Number(id));
      await changed(id);
      return t1;
    }));
  }
  console.log(`MEASURE ui_layout_edit_seen_by_tablet_ms ${fmt(lay)} (PUT cell -> the tablet's grid; budget < 100)`);
  if (errors.length) console.log(`page errors: ${errors.join("; ")}`);
  await ctx.close();
} finally {
  await browser.close();
  await stack.stop();
}
