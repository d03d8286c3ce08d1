// The walking skeleton in a real browser: Debian's chromium at tablet size,
// a tap on a cell starts its clip (the cell shows it), the JACK capture
// confirms the sound, a second tablet sees the same state, a tap stops it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startStack, launchBrowser, capture, rms, OUTPUT } from "./stack.mjs";

let stack, browser;
const consoleErrors = [];

before(async () => {
  stack = await startStack("tap");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function openTablet(width = 1024, height = 768) {
  const ctx = await browser.newContext({ viewport: { width, height }, hasTouch: true });
  await stack.authorize(ctx);
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(stack.url + "/");
  await page.waitForSelector('#conn[data-state="connected"]');
  await page.waitForSelector("#grid [data-clip]");
  return { ctx, page };
}

test("a tap plays the clip through JACK and every tablet sees it", async () => {
  const a = await openTablet();
  const b = await openTablet(1280, 800);
  assert.equal(await a.page.locator("#grid [data-clip]").count(), 16, "4x4 demo grid");
  assert.equal(await a.page.locator("[data-tab]").count(), 8, "8 tabs per page");
  await a.page.screenshot({ path: join(OUTPUT, "perform-idle-1024x768.png") });

  const { body: show } = await stack.api("GET", "/api/show");
  const tone = show.show.clips.find((c) => c.label === "Tone A4");
  const rec = await capture(stack, ["cuebox:out_1"], 3);
  const cell = a.page.locator(`#grid [data-clip="${tone.id}"]`);
  await cell.tap();
  await a.page.waitForSelector(`#grid [data-clip="${tone.id}"][data-state="playing"]`, { timeout: 3000 });
  // The other tablet follows within the same moment.
  await b.page.waitForSelector(`#grid [data-clip="${tone.id}"][data-state="playing"]`, { timeout: 1000 });
  await a.page.waitForTimeout(700);
  await a.page.screenshot({ path: join(OUTPUT, "perform-playing-1024x768.png") });
  await b.page.screenshot({ path: join(OUTPUT, "perform-playing-1280x800.png") });
  const remaining = await cell.textContent();
  assert.match(remaining, /\d:\d\d/, "the cell shows the time remaining");
  // Meters: 5 stereo busses + 8 outputs; bus A's bars are up, bus B's are not.
  assert.equal(await a.page.locator("#meters .mch").count(), 18);
  const scale = (i) => a.page.locator("#meters .mch .mbar").nth(i).evaluate((el) => el.style.transform);
  assert.match(await scale(0), /scaleY\(0\.[1-9]/, "bus A left meter moves");
  assert.match(await scale(2), /^scaleY\(0(\.0+)?\)$/, "bus B is silent");

  const { samples } = await rec.done;
  const level = rms(samples[0]);
  // A -12 dBFS sine has an RMS of about 0.178; most of 3 s is tone.
  assert.ok(level > 0.08, `JACK capture RMS ${level} shows no tone`);

  await cell.tap();
  await a.page.waitForSelector(`#grid [data-clip="${tone.id}"][data-state="idle"]`, { timeout: 3000 });
  await b.page.waitForSelector(`#grid [data-clip="${tone.id}"][data-state="idle"]`, { timeout: 3000 });
  assert.deepEqual(consoleErrors, []);
  await a.ctx.close();
  await b.ctx.close();
});

test("a tablet shows a lost connection and resyncs when cuebox-web comes back", async () => {
  const a = await openTablet();
  const pid = stack.pid("cuebox-web");
  process.kill(pid, "SIGKILL");
  await a.page.waitForSelector('#conn[data-state="disconnected"]', { timeout: 3000 });
  await a.page.screenshot({ path: join(OUTPUT, "perform-disconnected-1024x768.png") });
  await a.page.waitForSelector('#conn[data-state="connected"]', { timeout: 15000 });
  assert.equal(await a.page.locator("#grid [data-clip]").count(), 16);
  await a.ctx.close();
  // Only errors other than the expected failed connection attempts count.
  const unexpected = consoleErrors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e));
  assert.deepEqual(unexpected, []);
});
