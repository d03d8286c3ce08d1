// The perform and edit screens and the show lock in a real browser, checked
// against what the box stored (HTTP reads) and what it played (JACK capture):
// the edit screen puts a library file in an empty cell, edits a clip in the
// inspector, moves, swaps and copies cells, and a smaller grid keeps the clips
// outside it (they come back); two tablets stay in sync; dual view; group
// stop; the double-tap guard; faders; the show lock refuses edits on every
// tablet and a wrong PIN; screenshots of each screen at tablet and phone
// sizes; no console errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startStack, launchBrowser, capture, rms, OUTPUT } from "./stack.mjs";

let stack, browser;
const consoleErrors = [];

before(async () => {
  stack = await startStack("ui");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function open(hash = "", width = 1024, height = 768) {
  const ctx = await browser.newContext({ viewport: { width, height }, hasTouch: true });
  await stack.authorize(ctx);
  const page = await ctx.newPage();
  // Refusals the test provokes (423, 403) show as failed resources: not page errors.
  page.on("console", (m) => { if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(stack.url + "/" + hash);
  await page.waitForSelector('#conn[data-state="connected"]');
  await page.waitForSelector("#grid [data-clip]");
  return { ctx, page };
}

const show = async () => (await stack.api("GET", "/api/show")).body;
const cellsOf = (s, page, tab) => s.show.pages[page].tabs[tab].cells;
const clipAt = (s, page, tab, row, col) => cellsOf(s, page, tab).find((c) => c.row === row && c.col === col && !c.hidden)?.clip ?? null;
const cell = (page, r, c, grid = "#grid") => page.locator(`${grid} .cell[data-row="${r}"][data-col="${c}"]`);

test("edit: a library file goes into an empty cell, the inspector edits the clip, cells move, swap and copy", async () => {
  // A file in the library first: the demo's bell, imported from the data folder.
  const bell = (await show()).show.clips.find((c) => c.label === "Bell");
  const imp = await stack.api("POST", "/api/media/import", { path: join(stack.data, bell.file) });
  assert.equal(imp.status, 202, JSON.stringify(imp.body));
  for (let i = 0; i < 100; i++) {
    if ((await show()).show.media?.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  // Tab 2 gets a 4x4 grid of empty cells.
  assert.equal((await stack.api("PATCH", "/api/pages/0/tabs/1", { rows: 4, cols: 4 })).status, 200);
  const a = await open("#edit");
  const b = await open("", 1280, 800);
  const { page } = a;
  await page.waitForSelector("#inspector .edlib");
  // Tab 2 is empty: tap its first cell, put the library file there.
  await page.locator("#tabs [data-tab]").nth(1).tap();
  await cell(page, 0, 0).tap();
  await page.waitForSelector("#inspector .edmedia button");
  await page.locator("#inspector .edmedia button").first().tap();
  await page.waitForSelector('#grid .cell[data-row="0"][data-col="0"][data-clip]', { timeout: 5000 });
  const s1 = await show();
  const id = clipAt(s1, 0, 1, 0, 0);
  assert.ok(id, "the box has a clip in page 1, tab 2, cell 0,0");
  assert.ok(s1.show.clips.find((c) => c.id === id).media, "made from the library file");

  // Inspector: label, colour, fade out with a curve, loop: each stored.
  await page.waitForSelector("#inspector h2");
  const label = page.locator("#inspector label.field", { hasText: "Label" }).locator("input");
  await label.fill("Bell (edited)");
  await label.press("Enter");
  await page.locator("#inspector .swatch").nth(4).tap();
  const fout = page.locator('#inspector input[aria-label="Fade out ms"]');
  await fout.fill("1200");
  await fout.press("Enter");
  await page.locator('#inspector select[aria-label="fade_out_curve"]').selectOption("s_curve");
  await page.locator("#inspector label.field", { hasText: "Loop" }).first().locator("input").check();
  let c;
  for (let i = 0; i < 50; i++) {
    c = (await stack.api("GET", `/api/clips/${id}`)).body.clip;
    if (c.label === "Bell (edited)" && c.fade_out_ms === 1200 && c.fade_out_curve === "s_curve" && c.loop && c.color === "#ef4444") break;
    await page.waitForTimeout(100);
  }
  assert.deepEqual([c.label, c.color, c.fade_out_ms, c.fade_out_curve, c.loop], ["Bell (edited)", "#ef4444", 1200, "s_curve", true]);
  // The curve preview drew a line.
  const lit = await page.locator("#inspector canvas.curve").evaluate((cv) => {
    const d = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 200 && d[i] > 100) n++;
    return n;
  });
  assert.ok(lit > 200, `the fade preview drew ${lit} pixels`);
  // The other tablet sees the new label (it looks at tab 2 too).
  await b.page.locator("#tabs [data-tab]").nth(1).tap();
  await b.page.waitForSelector(`#grid [data-clip="${id}"]`, { timeout: 2000 });
  await b.page.waitForFunction((id) => document.querySelector(`#grid [data-clip="${id}"] .lbl`)?.textContent === "Bell (edited)", id, { timeout: 1000 });
  await page.screenshot({ path: join(OUTPUT, "edit-1024x768.png") });

  // Move to 1,1 (empty), then swap with a second clip, then copy.
  await page.locator("#inspector button", { hasText: "Move / swap" }).tap();
  await cell(page, 1, 1).tap();
  await page.waitForFunction((id) => document.querySelector('#grid .cell[data-row="1"][data-col="1"]')?.dataset.clip === String(id), id, { timeout: 3000 });
  let s2 = await show();
  assert.equal(clipAt(s2, 0, 1, 1, 1), id);
  assert.equal(clipAt(s2, 0, 1, 0, 0), null);
  // Copy into 0,0: a new clip with the same settings.
  await cell(page, 1, 1).tap();
  await page.locator("#inspector button", { hasText: "Copy" }).tap();
  await cell(page, 0, 0).tap();
  await page.waitForSelector('#grid .cell[data-row="0"][data-col="0"][data-clip]', { timeout: 3000 });
  s2 = await show();
  const copy = s2.show.clips.find((x) => x.id === clipAt(s2, 0, 1, 0, 0));
  assert.ok(copy && copy.id !== id, "a new clip");
  assert.deepEqual([copy.label, copy.fade_out_ms, copy.loop, copy.media], ["Bell (edited)", 1200, true, c.media]);
  // Swap: move the copy onto the original.
  await cell(page, 0, 0).tap();
  await page.locator("#inspector button", { hasText: "Move / swap" }).tap();
  await cell(page, 1, 1).tap();
  await page.waitForFunction((id) => document.querySelector('#grid .cell[data-row="0"][data-col="0"]')?.dataset.clip === String(id), id, { timeout: 3000 });
  s2 = await show();
  assert.deepEqual([clipAt(s2, 0, 1, 0, 0), clipAt(s2, 0, 1, 1, 1)], [id, copy.id]);

  // Undo brings the swap back.
  await page.locator("#undo").tap();
  await page.waitForFunction((id) => document.querySelector('#grid .cell[data-row="1"][data-col="1"]')?.dataset.clip === String(id), id, { timeout: 3000 });
  // Delete the copy (back in 0,0): a dialog first; cancelling keeps it.
  await cell(page, 0, 0).tap();
  await page.locator("#inspector button", { hasText: "Delete clip" }).tap();
  const dlg = page.locator('.modal[aria-label="Delete clip?"]');
  await dlg.locator(".confirm-cancel").tap();
  assert.equal((await stack.api("GET", `/api/clips/${copy.id}`)).status, 200);
  await page.locator("#inspector button", { hasText: "Delete clip" }).tap();
  await dlg.locator(".confirm-ok").tap();
  await page.waitForFunction(() => !document.querySelector('#grid .cell[data-row="0"][data-col="0"]')?.dataset.clip, null, { timeout: 3000 });
  assert.equal((await stack.api("GET", `/api/clips/${copy.id}`)).status, 404);
  await a.ctx.close();
  await b.ctx.close();
});

test("resize: a smaller grid keeps the clips outside it and they come back when it grows", async () => {
  const { page, ctx } = await open("#edit");
  const before = cellsOf(await show(), 0, 0).length;
  await page.fill("#rows", "2");
  await page.fill("#cols", "2");
  await page.locator("#resize").tap();
  await page.waitForFunction(() => document.querySelector("#grid").dataset.rows === "2", null, { timeout: 3000 });
  assert.equal(await page.locator("#grid [data-clip]").count(), 4);
  let s = await show();
  assert.equal(cellsOf(s, 0, 0).length, before, "no cell lost");
  assert.equal(cellsOf(s, 0, 0).filter((c) => c.hidden).length, before - 4);
  await page.fill("#rows", "4");
  await page.fill("#cols", "4");
  await page.locator("#resize").tap();
  await page.waitForFunction(() => document.querySelectorAll("#grid [data-clip]").length === 16, null, { timeout: 3000 });
  s = await show();
  assert.equal(cellsOf(s, 0, 0).filter((c) => c.hidden).length, 0);
  await ctx.close();
});

test("perform: dual view, group stop with a fade, faders stored, double taps guarded", async () => {
  const { page, ctx } = await open("#perform");
  const s = await show();
  const tone = s.show.clips.find((c) => c.label === "Tone A4");
  // Dual view: a second pane with its own page and tab.
  await page.locator("#viewmode").tap();
  await page.waitForSelector('.pane[data-pane="1"]:not([hidden]) #grid2 .cell');
  assert.equal((await show()).show.view_mode, "dual");
  await page.screenshot({ path: join(OUTPUT, "perform-dual-1024x768.png") });
  await page.locator("#viewmode").tap();
  await page.waitForSelector('.pane[data-pane="1"][hidden]', { state: "attached" });
  // On again: the second pane is built anew, then off.
  await page.locator("#viewmode").tap();
  await page.waitForSelector('.pane[data-pane="1"]:not([hidden]) #grid2 .cell');
  assert.ok(await page.locator("#grid2 .cell").count() > 0);
  await page.locator("#viewmode").tap();
  await page.waitForSelector('.pane[data-pane="1"][hidden]', { state: "attached" });

  // Group stop A fades the tone out (heard through JACK).
  await cell(page, 0, 0).tap();
  await page.waitForSelector(`#grid [data-clip="${tone.id}"][data-state="playing"]`, { timeout: 3000 });
  // A second tap right after the first start is guarded; the tone keeps playing.
  const rec = await capture(stack, ["cuebox:out_1"], 2.5);
  await page.locator("#groupstops [data-group=A]").tap();
  await page.waitForSelector(`#grid [data-clip="${tone.id}"][data-state="idle"]`, { timeout: 5000 });
  const { samples } = await rec.done;
  const x = samples[0];
  const n = 480; // 10 ms blocks
  const levels = [];
  for (let i = 0; i + n <= x.length; i += n) levels.push(rms(x.subarray(i, i + n)));
  const first = levels.findIndex((v) => v > 0.05);
  const last = levels.findLastIndex((v) => v > 0.005);
  assert.ok(first >= 0, "the tone was playing");
  assert.ok(levels[last] < levels[first], "it faded, no cut");

  // Double-tap guard: a second tap 50 ms after a start is ignored (it would
  // stop the clip just started).
  await page.waitForTimeout(400);
  await cell(page, 0, 0).tap();
  await page.waitForTimeout(50);
  await cell(page, 0, 0).tap();
  await page.waitForTimeout(600);
  assert.equal(await page.locator(`#grid [data-clip="${tone.id}"]`).getAttribute("data-state"), "playing", "the second tap did not stop it");
  await stack.api("POST", "/api/panic");

  // Play modes act on a tap: a gate clip plays while held and stops when
  // the finger lifts; a one-shot with "nothing" as second press keeps playing.
  const bell = s.show.clips.find((c) => c.label === "Bell");
  assert.equal((await stack.api("PATCH", `/api/clips/${bell.id}`, { play_mode: "gate" })).status, 200);
  const bellCell = page.locator(`#grid [data-clip="${bell.id}"]`);
  const box = await bellCell.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.waitForSelector(`#grid [data-clip="${bell.id}"][data-state="playing"]`, { timeout: 3000 });
  await page.waitForTimeout(300);
  assert.equal(await bellCell.getAttribute("data-state"), "playing", "held: still playing");
  await page.mouse.up();
  await page.waitForSelector(`#grid [data-clip="${bell.id}"]:is([data-state="fading"],[data-state="idle"])`, { timeout: 3000 });
  assert.equal((await stack.api("PATCH", `/api/clips/${bell.id}`, { play_mode: "one_shot", second_press: "nothing" })).status, 200);
  await bellCell.tap();
  await page.waitForSelector(`#grid [data-clip="${bell.id}"][data-state="playing"]`, { timeout: 3000 });
  await page.waitForTimeout(400); // past the double-tap guard
  await bellCell.tap();
  await page.waitForTimeout(400);
  assert.equal(await bellCell.getAttribute("data-state"), "playing", "a second press that does nothing");
  await stack.api("POST", "/api/panic");
  await stack.api("PATCH", `/api/clips/${bell.id}`, { play_mode: "toggle", second_press: "stop" });

  // Faders: the master and group B are stored.
  const master = page.locator('.fader[data-fader="master"] input');
  await master.evaluate((el) => { el.value = "-12"; el.dispatchEvent(new Event("input")); el.dispatchEvent(new Event("change")); });
  const gb = page.locator('.fader[data-fader="B"] input');
  await gb.evaluate((el) => { el.value = "-6.5"; el.dispatchEvent(new Event("input")); el.dispatchEvent(new Event("change")); });
  let audio;
  for (let i = 0; i < 30; i++) {
    audio = (await show()).show.audio;
    if (audio.master_db === -12 && audio.busses.B.level_db === -6.5) break;
    await page.waitForTimeout(100);
  }
  assert.deepEqual([audio.master_db, audio.busses.B.level_db], [-12, -6.5]);
  // Put the faders back only once the page is gone: its fader may still
  // send a trailing value (a CI run had the master at -12 dB in the next test).
  await ctx.close();
  assert.equal((await stack.api("PATCH", "/api/audio", { master_db: 0 })).status, 200);
  assert.equal((await stack.api("PATCH", "/api/audio/busses/B", { level_db: 0 })).status, 200);
});

test("show lock: edits are refused on every tablet, performing works, a wrong PIN does not unlock", async () => {
  const a = await open("#edit");
  const b = await open("#perform", 1280, 800);
  const tone = (await show()).show.clips.find((c) => c.label === "Tone A4");
  await a.page.locator("#lockbtn").tap();
  await a.page.fill("#lockpin", "4321");
  await a.page.locator("#lockok").tap();
  // Both tablets are locked: only Perform is left, the edit screen went.
  for (const t of [a, b]) {
    await t.page.waitForSelector("body.locked", { timeout: 2000 });
    assert.equal(await t.page.locator("#screens [data-screen=edit]").isVisible(), false);
  }
  assert.equal(await a.page.evaluate(() => document.body.dataset.screen), "perform");
  await a.page.screenshot({ path: join(OUTPUT, "perform-locked-1024x768.png") });
  // The box refuses an edit from anywhere (here, HTTP) and keeps the show.
  const before = (await stack.api("GET", `/api/clips/${tone.id}`)).body.clip.label;
  const r = await stack.api("PATCH", `/api/clips/${tone.id}`, { label: "nope" });
  assert.equal(r.status, 423);
  assert.equal(r.body.error.field, "lock");
  assert.equal((await stack.api("GET", `/api/clips/${tone.id}`)).body.clip.label, before);
  // Performing still works: a tap plays (heard through JACK). Judged on the
  // loudest 100 ms of a 3 s capture, so a tap that a busy machine delays
  // still counts (a CI run lost most of a 1.5 s window before the sound).
  const rec = await capture(stack, ["cuebox:out_1"], 3);
  await cell(b.page, 0, 0).tap();
  await b.page.waitForSelector(`#grid [data-clip="${tone.id}"][data-state="playing"]`, { timeout: 3000 });
  const { samples } = await rec.done;
  let loudest = 0;
  for (let i = 0; i + 4800 <= samples[0].length; i += 4800) loudest = Math.max(loudest, rms(samples[0].subarray(i, i + 4800)));
  if (loudest <= 0.05) await stack.api("POST", "/api/unlock", { pin: "4321" });  // later tests need an unlocked show
  assert.ok(loudest > 0.05, `the locked box still plays (loudest 100 ms: rms ${loudest.toFixed(4)})`);
  await stack.api("POST", "/api/panic");
  // A wrong PIN is refused and says so; the right one unlocks every tablet.
  await b.page.locator("#lockbtn").tap();
  await b.page.fill("#lockpin", "1111");
  await b.page.locator("#lockok").tap();
  await b.page.waitForFunction(() => /wrong PIN/.test(document.querySelector("#lockerr").textContent));
  assert.equal((await stack.api("GET", "/api/lock")).body.lock.locked, true);
  await b.page.fill("#lockpin", "4321");
  await b.page.locator("#lockok").tap();
  for (const t of [a, b]) await t.page.waitForFunction(() => !document.body.classList.contains("locked"), null, { timeout: 2000 });
  assert.equal((await stack.api("GET", "/api/lock")).body.lock.locked, false);
  await a.ctx.close();
  await b.ctx.close();
});

test("screenshots of every screen at tablet sizes and on a phone; no console errors", async () => {
  for (const [w, h] of [[1024, 768], [768, 1024], [1280, 800], [800, 1280], [390, 844]]) {
    const { page, ctx } = await open("#perform", w, h);
    for (const s of ["perform", "edit", "routing", "media", "clocks", "box"]) {
      await page.evaluate((s) => window.cuebox.showScreen(s), s);
      await page.waitForSelector(`#screen-${s === "edit" ? "perform" : s}:not([hidden])`);
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${s} at ${w}x${h} scrolls sideways by ${overflow}px`);
      await page.screenshot({ path: join(OUTPUT, `${s}-${w}x${h}.png`) });
    }
    await ctx.close();
  }
  assert.deepEqual(consoleErrors, []);
});
