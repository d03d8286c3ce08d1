// The routing screen in a real browser: a crosspoint tapped on is stored
// (and its gain), an output's format and level are stored, a fader drag is
// throttled but its last value is stored, a second tablet follows within a
// second, the meters move while a clip plays. (The clocks screen has its own
// file: clocks.test.mjs.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startStack, launchBrowser, OUTPUT } from "./stack.mjs";

let stack, browser;
const consoleErrors = [];

before(async () => {
  stack = await startStack("routing");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function open(hash, ready, width = 1024, height = 768) {
  const ctx = await browser.newContext({ viewport: { width, height }, hasTouch: true });
  await stack.authorize(ctx);
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(`${stack.url}/#${hash}`);
  await page.waitForSelector('#conn[data-state="connected"]');
  await page.waitForSelector(ready);
  return { ctx, page };
}

/** Polls `get` until `ok(value)` (2 s), then returns the last value. */
async function until(get, ok, ms = 2000) {
  const end = Date.now() + ms;
  let v;
  for (;;) {
    v = await get();
    if (ok(v) || Date.now() > end) return v;
    await sleep(50);
  }
}

const audio = async () => (await stack.api("GET", "/api/show")).body.show.audio;
/** Before a screenshot: no focus ring, no toasts, the screen scrolled to `sel` (or its top). */
async function tidy(page, screen, sel) {
  await page.evaluate(([screen, sel]) => {
    document.activeElement?.blur();
    for (const t of document.querySelectorAll(".toast")) t.remove();
    const s = document.querySelector(screen);
    s.scrollTop = sel ? s.scrollTop + document.querySelector(sel).getBoundingClientRect().top - s.getBoundingClientRect().top - 12 : 0;
  }, [screen, sel]);
}

const noPageScroll = (page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

test("routing: crosspoints, gains, outputs and busses are stored, other tablets follow, meters move", async () => {
  const a = await open("routing", "#screen-routing .rt-x .xp");
  const b = await open("routing", "#screen-routing .rt-x .xp", 1280, 800);
  const before = await audio();
  const find = (au, bus, ch, out) => au.routing.find((x) => x.bus === bus && x.channel === ch && x.output === out);
  assert.equal(find(before, "B", "L", 5), undefined, "B L -> output 5 starts off");

  // A crosspoint that is off, tapped on: stored at 0 dB; the other tablet shows it.
  const xp = '#screen-routing .xp[data-bus="B"][data-ch="L"][data-out="5"]';
  assert.equal(await a.page.locator(xp).getAttribute("aria-pressed"), "false");
  await a.page.locator(xp).tap();
  let au = await until(audio, (x) => find(x, "B", "L", 5));
  assert.deepEqual(find(au, "B", "L", 5), { bus: "B", channel: "L", output: 5, gain_db: 0 });
  await b.page.waitForSelector(`${xp}[aria-pressed="true"]`, { timeout: 1000 });

  // Its gain, set in place.
  const gain = a.page.locator(`${xp} + .xg`);
  assert.ok(await gain.isVisible(), "an active crosspoint shows its gain");
  await gain.fill("-6.5");
  await gain.press("Tab");
  au = await until(audio, (x) => find(x, "B", "L", 5)?.gain_db === -6.5);
  assert.equal(find(au, "B", "L", 5).gain_db, -6.5);
  await b.page.waitForFunction((sel) => document.querySelector(sel + " + .xg").value === "-6.5", xp, { timeout: 1000 });
  // Out of range: refused before it is sent, the stored gain stays.
  await gain.fill("40");
  await gain.press("Tab");
  await a.page.waitForSelector('.toast[data-kind="warn"]', { timeout: 1000 });
  assert.equal(await gain.inputValue(), "-6.5");
  assert.equal(find(await audio(), "B", "L", 5).gain_db, -6.5);

  // Tapped again: removed.
  await a.page.locator(xp).tap();
  au = await until(audio, (x) => !find(x, "B", "L", 5));
  assert.equal(find(au, "B", "L", 5), undefined);
  await b.page.waitForSelector(`${xp}[aria-pressed="false"]`, { timeout: 1000 });
  await a.page.locator(xp).tap(); // on again, for the screenshots
  await until(audio, (x) => find(x, "B", "L", 5));

  // Output 3: format and level, read back; the other tablet follows within 1 s.
  const row = (p) => p.locator('#screen-routing .rt-line[data-output="3"]');
  await row(a.page).locator("select").selectOption("mono");
  await row(a.page).locator('input[type="range"]').fill("-12");
  au = await until(audio, (x) => x.outputs[2].format === "mono" && x.outputs[2].level_db === -12);
  assert.equal(au.outputs[2].format, "mono");
  assert.equal(au.outputs[2].level_db, -12);
  await b.page.waitForFunction(() => {
    const r = document.querySelector('#screen-routing .rt-line[data-output="3"]');
    return r.querySelector("select").value === "mono" && r.querySelector(".rt-val").textContent === "-12.0 dB";
  }, null, { timeout: 1000 });

  // A fader dragged through 30 values (a move every 16 ms, as a finger would):
  // at most ~10 PATCHes a second, and the last value is stored.
  let patches = 0;
  a.page.on("request", (r) => { if (r.method() === "PATCH" && r.url().endsWith("/api/audio/busses/C")) ++patches; });
  const fader = a.page.locator('#screen-routing .rt-line[data-bus="C"] input[type="range"]');
  const dragMs = await fader.evaluate(async (el) => {
    const t0 = performance.now();
    for (let v = 0; v >= -14.5; v -= 0.5) {
      el.value = String(v);
      el.dispatchEvent(new Event("input", { bubbles: true }));
      await new Promise((r) => setTimeout(r, 16));
    }
    el.dispatchEvent(new Event("change", { bubbles: true }));
    return performance.now() - t0;
  });
  au = await until(audio, (x) => x.busses.C.level_db === -14.5);
  assert.equal(au.busses.C.level_db, -14.5, "the final value is stored");
  await sleep(300);
  assert.ok(patches >= 2 && patches <= Math.ceil(dragMs / 100) + 2, `${patches} PATCHes for 30 moves in ${Math.round(dragMs)} ms`);
  // The bottom of a fader is off.
  await fader.fill("-60");
  au = await until(audio, (x) => x.busses.C.level_db === -90);
  assert.equal(au.busses.C.level_db, -90);
  assert.equal(await a.page.locator('#screen-routing .rt-line[data-bus="C"] .rt-val').textContent(), "off");

  // Choke and PFL flags; the monitor's source list follows PFL.
  const busA = a.page.locator('#screen-routing .rt-line[data-bus="A"]');
  await busA.getByRole("button", { name: "Bus A PFL (to the monitor)" }).tap();
  await busA.getByRole("button", { name: "Bus A choke" }).tap();
  au = await until(audio, (x) => x.busses.A.pfl && x.busses.A.choke);
  assert.equal(au.busses.A.pfl, true);
  assert.equal(au.busses.A.choke, true);
  await a.page.waitForFunction(() => document.querySelector("#screen-routing .rt-hears").textContent === "Bus A, Audition");

  // Master and monitor levels.
  await a.page.getByRole("slider", { name: "Monitor level" }).fill("-3");
  await a.page.getByRole("slider", { name: "Master level" }).fill("-1.5");
  au = await until(audio, (x) => x.monitor_db === -3 && x.master_db === -1.5);
  assert.equal(au.monitor_db, -3);
  assert.equal(au.master_db, -1.5);

  // Meters: a clip on bus A moves bus A's bars (and the monitor's: A is on PFL).
  const { body: show } = await stack.api("GET", "/api/show");
  const tone = show.show.clips.find((c) => c.group === "A");
  const scaleOf = (sel) => a.page.locator(sel).evaluateAll((els) =>
    els.map((e) => Number(/scaleX\(([\d.]+)\)/.exec(e.style.transform)?.[1] ?? 0)));
  assert.ok((await scaleOf('#screen-routing .rt-line[data-bus="A"] .rt-rms')).every((x) => x === 0), "silent before");
  assert.equal((await stack.api("POST", `/api/clips/${tone.id}/start`)).status, 202);
  await a.page.waitForFunction(() => [...document.querySelectorAll('#screen-routing .rt-line[data-bus="A"] .rt-rms')]
    .some((e) => /scaleX\(0\.[1-9]|scaleX\(1\)/.test(e.style.transform)), null, { timeout: 3000 });
  assert.ok((await scaleOf('#screen-routing .rt-line[data-output="1"] .rt-rms'))[0] > 0, "output 1 meter moves");
  assert.ok((await scaleOf('#screen-routing .rt-meter[aria-label="Monitor meter"] .rt-rms')).some((x) => x > 0), "monitor meter moves");
  assert.ok((await scaleOf('#screen-routing .rt-line[data-bus="D"] .rt-rms')).every((x) => x === 0), "bus D stays silent");
  await tidy(a.page, "#screen-routing", '#screen-routing section[aria-label="Busses"]');
  await a.page.screenshot({ path: join(OUTPUT, "routing-meters-1024x768.png") });
  await tidy(a.page, "#screen-routing");
  await a.page.screenshot({ path: join(OUTPUT, "routing-1024x768.png") });
  await stack.api("POST", `/api/clips/${tone.id}/stop`, { fade_ms: 0 });
  assert.ok(await noPageScroll(a.page), "no horizontal page scroll at 1024x768");

  const phone = await open("routing", "#screen-routing .rt-x .xp", 390, 844);
  assert.ok(await noPageScroll(phone.page), "no horizontal page scroll on a phone");
  await phone.page.screenshot({ path: join(OUTPUT, "routing-390x844.png") });

  for (const t of [a, b, phone]) await t.ctx.close();
  assert.deepEqual(consoleErrors, []);
});
