// The clocks screen and the clip inspector's timing settings in a real
// browser, checked against what the box stored (HTTP reads):
//  - the priority order is stored as `order` (PTP to the top with the
//    buttons, a drag by the handle, Internal up makes what is below unused);
//  - a source's settings are stored in place (PTP domain, allow-lists, its
//    switch, LTC frame rate); an out-of-range value is refused with the
//    box's reason at the field and nothing stored;
//  - a MIDI port's settings are stored inside midi_sources[N], the others
//    kept;
//  - the live state: the demo has no time source connected, so Internal is
//    followed and LTC is absent; with sources (the box's state messages
//    rewritten on the way), each kind's details, the followed MIDI port,
//    the last switch, and a toast when the box switches;
//  - failover, tempo and time division are stored; the show lock disables
//    the screen's controls;
//  - the edit inspector stores a clip's quantize and start timecode, and a
//    refused timecode shows the box's reason.
// Screenshots at 1024x768 and 390x844; no sideways scroll; no console errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startStack, launchBrowser, OUTPUT } from "./stack.mjs";

let stack, browser;
const consoleErrors = [];

before(async () => {
  stack = await startStack("clocks");
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
  // Refusals the test provokes (400) show as failed resources: not page errors.
  page.on("console", (m) => { if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) consoleErrors.push(m.text()); });
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

const allSettings = async () => (await stack.api("GET", "/api/settings")).body.settings;
const settings = async () => (await allSettings()).time_sources;
/** Before a screenshot: no focus ring, no toasts, the screen at its top. */
async function tidy(page) {
  await page.evaluate(() => {
    document.activeElement?.blur();
    for (const t of document.querySelectorAll(".toast")) t.remove();
    document.querySelector("#screen-clocks").scrollTop = 0;
  });
}
const noPageScroll = (page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

/** Types into an input and leaves it (the change goes to the box). */
async function enter(locator, text) {
  await locator.scrollIntoViewIfNeeded();
  await locator.fill(text);
  await locator.press("Tab");
}

test("clocks: the order, source and MIDI port settings, failover, tempo and time division are stored; the live state shows", async () => {
  // PTP starts fourth (set over HTTP before the page opens).
  const start = ["ltc", "mtc", "midi_clock", "ptp", "internal"];
  assert.equal((await stack.api("PATCH", "/api/settings/time_sources", { order: start })).status, 200);
  const a = await open("clocks", '#screen-clocks .ck-src[data-source="ptp"] input[data-member="ptp_domain"]');
  const { page } = a;
  const S = "#screen-clocks";
  const order = () => page.locator(`${S} .ck-src`).evaluateAll((els) => els.map((e) => e.dataset.source));
  assert.deepEqual(await order(), start, "the stored order is shown");

  // The live state: nothing connected in the demo, so the box follows Internal.
  await page.waitForFunction(() => /^Following Internal · locked/.test(document.querySelector("#screen-clocks .ck-status").textContent),
    null, { timeout: 3000 });
  await page.waitForSelector(`${S} .ck-src[data-source="ltc"] .ck-state[data-state="absent"]`, { timeout: 3000 });
  assert.equal(await page.locator(`${S} .ck-src[data-source="ltc"] .ck-state`).textContent(), "absent");
  assert.equal(await page.locator(`${S} .ck-src[data-source="internal"] .ck-state`).textContent(), "locked");
  assert.match(await page.locator(`${S} .ck-src[data-source="internal"] .ck-info`).textContent(), /followed now/);
  assert.ok(await page.locator(`${S} .ck-src[data-source="internal"]`).evaluate((e) => e.classList.contains("inuse")));
  assert.equal(await page.locator(`${S} .ck-port[data-port="2"] .ck-plive .ck-state`).first().textContent(), "absent");
  // The plot offers every instance the engine reports.
  const plotNames = await page.locator(`${S} .ck-plotsel option`).evaluateAll((os) => os.map((o) => o.value));
  for (const n of ["ptp", "ltc", "mtc:1", "mtc:4", "midi_clock:2", "internal"]) assert.ok(plotNames.includes(n), `plot offers ${n}`);

  // PTP to the top with its up button: the whole order is stored.
  for (let i = 0; i < 5 && (await order())[0] !== "ptp"; ++i) {
    await page.getByRole("button", { name: "Move PTP up" }).tap();
    await sleep(150);
  }
  let ts = await until(settings, (x) => x.order[0] === "ptp");
  assert.deepEqual(ts.order, ["ptp", "ltc", "mtc", "midi_clock", "internal"]);
  assert.deepEqual(await order(), ts.order);
  assert.equal(await page.locator(`${S} .ck-src[data-source="ptp"] .ck-rank`).textContent(), "1");
  assert.ok(await page.getByRole("button", { name: "Move PTP up" }).isDisabled(), "the first cannot move up");

  // A drag by the handle: MTC above PTP. While sorting the list shows only
  // the heads, so PTP's place is read once the drag has begun.
  const handle = page.locator(`${S} .ck-src[data-source="mtc"] .ck-handle`);
  await handle.scrollIntoViewIfNeeded();
  const hb = await handle.boundingBox();
  const x = hb.x + hb.width / 2, y0 = hb.y + hb.height / 2;
  await page.mouse.move(x, y0);
  await page.mouse.down();
  await page.mouse.move(x, y0 - 2);
  assert.ok(await page.locator(`${S} .ck-list`).evaluate((l) => l.classList.contains("sorting")), "compact while sorting");
  const first = await page.locator(`${S} .ck-src[data-source="ptp"]`).boundingBox();
  for (let k = 1; k <= 10; ++k) await page.mouse.move(x, y0 + ((first.y + 5) - y0) * k / 10);
  await page.mouse.up();
  ts = await until(settings, (x) => x.order[0] === "mtc");
  assert.deepEqual(ts.order, ["mtc", "ptp", "ltc", "midi_clock", "internal"]);

  // Internal up one: MIDI clock below it is never used, and says so.
  await page.getByRole("button", { name: "Move Internal up" }).tap();
  ts = await until(settings, (x) => x.order[3] === "internal");
  assert.deepEqual(ts.order, ["mtc", "ptp", "ltc", "internal", "midi_clock"]);
  assert.equal(await page.locator(`${S} .ck-src[data-source="midi_clock"] .ck-rank`).textContent(), "Not used");
  assert.equal(await page.locator(`${S} .ck-src[data-source="internal"] .ck-rank`).textContent(), "4 · Last resort");
  await page.getByRole("button", { name: "Move Internal down" }).tap();
  await until(settings, (x) => x.order[4] === "internal");
  // Back to PTP first, for the screenshots.
  await page.getByRole("button", { name: "Move PTP up" }).tap();
  ts = await until(settings, (x) => x.order[0] === "ptp");
  assert.deepEqual(ts.order, ["ptp", "mtc", "ltc", "midi_clock", "internal"]);

  // A source's setting in place: the PTP domain. Out of range: the box's
  // reason at the field, the stored value back, nothing stored.
  const ptp = page.locator(`${S} .ck-src[data-source="ptp"]`);
  const domain = ptp.locator('input[data-member="ptp_domain"]');
  await enter(domain, "7");
  ts = await until(settings, (x) => x.ptp_domain === 7);
  assert.equal(ts.ptp_domain, 7);
  await enter(domain, "200");
  const domainErr = ptp.locator('.ck-f:has(input[data-member="ptp_domain"]) .ck-ferr');
  await domainErr.waitFor({ state: "visible", timeout: 2000 });
  assert.match(await domainErr.textContent(), /must be a whole number from 0 to 127/);
  assert.equal(await domain.inputValue(), "7");
  assert.equal((await settings()).ptp_domain, 7);
  await enter(domain, "9"); // a good value clears the message
  await until(settings, (x) => x.ptp_domain === 9);
  assert.equal(await domainErr.isVisible(), false);

  // The allow-lists as text; a bad clock identity is refused with its reason.
  const gms = ptp.locator('textarea[data-member="ptp_allowed_grandmasters"]');
  await enter(gms, "001122.fffe.334455\n00AABB.FFFE.CCDDEE");
  ts = await until(settings, (x) => x.ptp_allowed_grandmasters.length === 2);
  assert.deepEqual(ts.ptp_allowed_grandmasters, ["001122.fffe.334455", "00aabb.fffe.ccddee"]);
  await enter(gms, "001122.fffe.334455, nonsense");
  const gmErr = ptp.locator('.ck-f:has(textarea[data-member="ptp_allowed_grandmasters"]) .ck-ferr');
  await gmErr.waitFor({ state: "visible", timeout: 2000 });
  assert.match(await gmErr.textContent(), /clock identity/);
  assert.equal(await gms.inputValue(), "001122.fffe.334455\n00aabb.fffe.ccddee", "the stored list again, one a line");
  assert.equal((await settings()).ptp_allowed_grandmasters.length, 2);
  await gms.fill("001122.fffe.334455\n00aabb.fffe.ccddee"); // typing again clears the message
  assert.equal(await gmErr.isVisible(), false);
  await enter(ptp.locator('textarea[data-member="ptp_allowed_domains"]'), "0, 7");
  ts = await until(settings, (x) => x.ptp_allowed_domains.length === 2);
  assert.deepEqual(ts.ptp_allowed_domains, [0, 7]);
  // A quality limit, folded away until opened.
  await ptp.locator(".ck-limits summary").tap();
  await enter(ptp.locator('input[data-member="ptp_max_jitter_us"]'), "250");
  ts = await until(settings, (x) => x.ptp_max_jitter_us === 250);
  assert.equal(ts.ptp_max_jitter_us, 250);
  // Its switch.
  await page.getByRole("checkbox", { name: "PTP on" }).tap();
  ts = await until(settings, (x) => x.ptp_enabled === false);
  assert.equal(ts.ptp_enabled, false);
  await page.getByRole("checkbox", { name: "PTP on" }).tap();
  await until(settings, (x) => x.ptp_enabled === true);

  // LTC: frame rate and input port.
  const ltc = page.locator(`${S} .ck-src[data-source="ltc"]`);
  await ltc.locator('select[data-member="ltc_fps"]').selectOption("29.97df");
  await enter(ltc.locator('input[data-member="ltc_port"]'), "system:capture_3");
  ts = await until(settings, (x) => x.ltc_fps === "29.97df" && x.ltc_port === "system:capture_3");
  assert.equal(ts.ltc_fps, "29.97df");
  assert.equal(ts.ltc_port, "system:capture_3");
  await ltc.locator('select[data-member="ltc_on_loss"]').selectOption("freewheel");
  ts = await until(settings, (x) => x.ltc_on_loss === "freewheel");
  assert.equal(ts.ltc_on_loss, "freewheel");

  // MIDI ports: port 2's jitter limit and port 3's switch, inside
  // midi_sources[1] and [2]; the other ports keep theirs.
  const port2 = page.locator(`${S} .ck-port[data-port="2"]`);
  await port2.locator(".ck-limits summary").tap();
  await enter(port2.locator('input[data-member="max_jitter_us"]'), "500");
  ts = await until(settings, (x) => x.midi_sources[1].max_jitter_us === 500);
  assert.equal(ts.midi_sources.length, 4);
  assert.equal(ts.midi_sources[1].max_jitter_us, 500);
  assert.equal(ts.midi_sources[0].max_jitter_us, 2000, "port 1 keeps its own");
  await enter(page.locator(`${S} .ck-port[data-port="1"] input[data-member="port"]`), "system:midi_capture_1");
  await page.getByRole("checkbox", { name: "MIDI port 3 on" }).tap();
  ts = await until(settings, (x) => x.midi_sources[2].enabled === false && x.midi_sources[0].port === "system:midi_capture_1");
  assert.equal(ts.midi_sources[2].enabled, false);
  assert.equal(ts.midi_sources[0].port, "system:midi_capture_1");
  assert.equal(ts.midi_sources[1].max_jitter_us, 500, "port 2 keeps the change before");
  // A port's limit out of range: refused at the field, nothing stored.
  await enter(port2.locator('input[data-member="quality_threshold"]'), "3");
  const qErr = port2.locator('.ck-f:has(input[data-member="quality_threshold"]) .ck-ferr');
  await qErr.waitFor({ state: "visible", timeout: 2000 });
  assert.match(await qErr.textContent(), /Refused: .+/);
  assert.equal(await port2.locator('input[data-member="quality_threshold"]').inputValue(), "0.5");
  assert.equal((await settings()).midi_sources[1].quality_threshold, 0.5);

  // Failover.
  await enter(page.locator(`${S} input[data-member="failover_ms"]`), "2500");
  await enter(page.locator(`${S} input[data-member="recover_ms"]`), "10000");
  ts = await until(settings, (x) => x.failover_ms === 2500 && x.recover_ms === 10000);
  assert.equal(ts.failover_ms, 2500);
  assert.equal(ts.recover_ms, 10000);

  // Tempo and time division; the live tempo follows the stored one.
  const tempo = page.locator(`${S} input[data-section="transport"][data-member="tempo_bpm"]`);
  await enter(tempo, "96.5");
  await page.waitForFunction(() => /^Now 96\.5 BPM · set by hand/.test(document.querySelector("#screen-clocks .ck-tempo").textContent),
    null, { timeout: 3000 });
  await page.locator(`${S} select[data-member="tempo_source"]`).selectOption("midi_clock");
  await page.locator(`${S} select[data-member="quantize"]`).selectOption("bar");
  await enter(page.locator(`${S} input[data-member="beats_per_bar"]`), "3");
  await enter(page.locator(`${S} input[data-member="snap_min_ms"]`), "40");
  await page.locator(`${S} select[data-member="fps_b"]`).selectOption("30");
  let all = await until(allSettings, (x) => x.time_division.fps_b === "30" && x.time_division.snap_min_ms === 40);
  assert.deepEqual([all.transport.tempo_bpm, all.transport.tempo_source], [96.5, "midi_clock"]);
  assert.deepEqual([all.time_division.quantize, all.time_division.beats_per_bar, all.time_division.snap_min_ms, all.time_division.fps_b],
    ["bar", 3, 40, "30"]);
  await enter(tempo, "400");
  await page.locator(`${S} .ck-f:has(input[data-member="tempo_bpm"]) .ck-ferr`).waitFor({ state: "visible", timeout: 2000 });
  assert.equal(await tempo.inputValue(), "96.5");
  assert.equal((await allSettings()).transport.tempo_bpm, 96.5);
  await page.locator(`${S} select[data-member="tempo_source"]`).selectOption("manual");
  await until(allSettings, (x) => x.transport.tempo_source === "manual");

  // Typing again clears a refusal's message.
  await enter(tempo, "96.5");
  await enter(port2.locator('input[data-member="quality_threshold"]'), "0.5");
  const shownErrs = () => page.locator(`${S} .ck-ferr`).evaluateAll((es) => es.filter((e) => !e.hidden).map((e) => e.previousElementSibling.dataset.member));
  assert.deepEqual(await shownErrs(), []);
  await port2.locator(".ck-limits summary").tap(); // folded again for the screenshot
  await ptp.locator(".ck-limits summary").tap();
  await tidy(page);
  await page.screenshot({ path: join(OUTPUT, "clocks-1024x768.png") });
  assert.ok(await noPageScroll(page), "no horizontal page scroll at 1024x768");
  await page.evaluate(() => { const s = document.querySelector("#screen-clocks"); s.scrollTop = s.scrollHeight; });
  await page.screenshot({ path: join(OUTPUT, "clocks-end-1024x768.png") });

  const phone = await open("clocks", `${S} .ck-src[data-source="ptp"] input[data-member="ptp_domain"]`, 390, 844);
  assert.equal(await phone.page.locator(`${S} .ck-src`).first().getAttribute("data-source"), "ptp");
  await phone.page.waitForFunction(() => /^Following Internal/.test(document.querySelector("#screen-clocks .ck-status").textContent));
  assert.ok(await noPageScroll(phone.page), "no horizontal page scroll on a phone");
  await tidy(phone.page);
  await phone.page.screenshot({ path: join(OUTPUT, "clocks-390x844.png") });
  await phone.page.evaluate(() => { const s = document.querySelector("#screen-clocks"); s.scrollTop = s.scrollHeight; });
  await phone.page.screenshot({ path: join(OUTPUT, "clocks-end-390x844.png") });

  // The show lock: every editing control off (the plot's choice stays).
  assert.equal((await stack.api("POST", "/api/lock", { pin: "4321" })).status, 200);
  await page.waitForSelector("body.locked", { timeout: 2000 });
  const live = await page.locator(`${S} .ck-cards`).evaluate((c) =>
    [...c.querySelectorAll("button, input, select, textarea")].filter((x) => !x.disabled).map((x) => x.className));
  assert.deepEqual(live, ["in ck-plotsel"]);
  assert.equal((await stack.api("POST", "/api/unlock", { pin: "4321" })).status, 200);
  await page.waitForFunction(() => !document.body.classList.contains("locked"), null, { timeout: 2000 });
  assert.equal(await page.locator(`${S} input[data-member="ptp_domain"]`).isDisabled(), false);
  // (the clocks screen is hidden now: locking went to Perform)
  assert.ok(await page.locator(`${S} button[aria-label="Move PTP up"]`).isDisabled(), "still the first");
  assert.equal(await page.locator(`${S} button[aria-label="Move PTP down"]`).isDisabled(), false);

  await a.ctx.close();
  await phone.ctx.close();
  assert.deepEqual(consoleErrors, []);
});

// What an engine with sources connected reports (the demo has none): the
// box's state messages are rewritten on their way to the page.
function liveClock(lastSwitch) {
  const absent = (kind, port) => ({ name: `${kind}:${port}`, kind, port, state: "absent", quality: 0 });
  return {
    source: "mtc:2", kind: "mtc", state: "locked", timecode_source: "mtc:2",
    sources: [
      { name: "mtc:2", kind: "mtc", port: 2, state: "locked", quality: 0.97, offset_ns: -800, drift_ppb: -40, jitter_ns: 600,
        timecode: "01:00:12:03", fps: "25", dropouts: 0, jumps: 1 },
      { name: "ptp", kind: "ptp", state: "degraded", quality: 0.42, offset_ns: 12500, drift_ppb: 300, jitter_ns: 8000,
        instability_ppm: 2, grandmaster: "001122.fffe.334455", port_state: "SLAVE", domain: 0, master_offset_ns: 12500,
        mean_path_delay_ns: 3400, steps_removed: 1, fault: "jitter above its limit" },
      { name: "ltc", kind: "ltc", state: "lost", quality: 0, timecode: "01:00:10:05", fps: "25", level_dbfs: -52.5,
        fault: "level below the floor" },
      absent("mtc", 1), absent("mtc", 3), absent("mtc", 4),
      { name: "midi_clock:1", kind: "midi_clock", port: 1, state: "locked", quality: 0.9, bpm: 128.02, running: true },
      absent("midi_clock", 2), absent("midi_clock", 3), absent("midi_clock", 4),
      { name: "internal", kind: "internal", state: "locked", quality: 1 },
    ],
    tempo: { bpm: 128.02, source: "midi_clock", anchor_frame: 1000 },
    last_switch: lastSwitch,
  };
}

test("clocks: a live clock with sources: details per kind, the followed MIDI port, the last switch and its toast", async () => {
  let lastSwitch = { from: "ptp", to: "mtc:2", emergency: true, reason: "ptp degraded", at: new Date(Date.now() - 60000).toISOString(),
    phase1_us: 85, phase2_us: 410 };
  const ctx = await browser.newContext({ viewport: { width: 1024, height: 768 }, hasTouch: true });
  await stack.authorize(ctx);
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.routeWebSocket(/\/api\/ws$/, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((m) => {
      if (typeof m !== "string") return ws.send(m);
      const msg = JSON.parse(m);
      if (msg.live) msg.live.clock = liveClock(lastSwitch);
      ws.send(JSON.stringify(msg));
    });
  });
  await page.goto(`${stack.url}/#clocks`);
  await page.waitForSelector('#conn[data-state="connected"]');
  await page.waitForSelector('#screen-clocks .ck-src[data-source="ptp"] input[data-member="ptp_domain"]');
  const S = "#screen-clocks";
  const text = (sel) => page.locator(`${S} ${sel}`).textContent();
  await page.waitForFunction(() => /^Following MTC port 2 · locked/.test(document.querySelector("#screen-clocks .ck-status").textContent));
  assert.match(await text(".ck-switch"), /^Last switch: PTP → MTC port 2, ptp degraded, .+ · emergency: phase 1 85 µs, phase 2 410 µs$/);
  // MTC: followed, on port 2, with its timecode; port 2's card says so too.
  assert.equal(await text('.ck-src[data-source="mtc"] .ck-state'), "locked");
  assert.match(await text('.ck-src[data-source="mtc"] .ck-info'), /^followed now · MTC port 2 · 01:00:12:03 · 25 fps · 1 jump/);
  assert.ok(await page.locator(`${S} .ck-port[data-port="2"]`).evaluate((e) => e.classList.contains("inuse")));
  assert.match(await page.locator(`${S} .ck-port[data-port="2"] .ck-pinfo`).first().textContent(), /01:00:12:03/);
  assert.match(await page.locator(`${S} .ck-port[data-port="1"] .ck-pinfo`).nth(1).textContent(), /128\.0 BPM · running/);
  // PTP: degraded with its quality, grandmaster, offset and the fault.
  assert.equal(await text('.ck-src[data-source="ptp"] .ck-state'), "degraded");
  assert.equal(await text('.ck-src[data-source="ptp"] .ck-q'), "quality 42%");
  assert.match(await text('.ck-src[data-source="ptp"] .ck-info'), /GM 001122\.fffe\.334455 · slave · domain 0 · offset 12\.5 µs · path 3\.4 µs · 1 step/);
  assert.equal(await text('.ck-src[data-source="ptp"] .ck-fault'), "jitter above its limit");
  assert.match(await text('.ck-src[data-source="ltc"] .ck-info'), /01:00:10:05 · 25 fps · -52\.5 dBFS/);
  assert.equal(await text(".ck-tempo"), "Now 128.0 BPM · from MIDI clock");
  await page.locator(`${S} .ck-plotsel`).selectOption("mtc:2");
  assert.equal(await page.locator(`${S} .ck-plotsel`).isDisabled(), false);

  // A new switch: a toast, and the line follows.
  lastSwitch = { from: "mtc:2", to: "internal", emergency: false, reason: "recovered source kept", at: new Date().toISOString(),
    phase1_us: 0, phase2_us: 0 };
  const toast = page.locator(".toast", { hasText: "Clock: MTC port 2 → Internal (recovered source kept)" });
  await toast.waitFor({ timeout: 2000 });
  assert.equal(await toast.getAttribute("data-kind"), "info");
  assert.match(await text(".ck-switch"), /^Last switch: MTC port 2 → Internal, recovered source kept, \d\d:\d\d:\d\d$/);
  await page.evaluate(() => { document.activeElement?.blur(); for (const t of document.querySelectorAll(".toast")) t.remove(); });
  await page.screenshot({ path: join(OUTPUT, "clocks-live-1024x768.png") });
  await ctx.close();
  assert.deepEqual(consoleErrors, []);
});

test("edit: the inspector stores a clip's quantize and start timecode; a refused timecode shows the box's reason", async () => {
  const a = await open("edit", "#grid [data-clip]");
  const { page } = a;
  const shown = async () => (await stack.api("GET", "/api/show")).body.show;
  const tone = (await shown()).clips.find((c) => c.label === "Tone A4");
  await page.locator(`#grid .cell[data-clip="${tone.id}"]`).tap();
  await page.waitForSelector('#inspector select[aria-label="Quantize"]');
  const clip = async () => (await shown()).clips.find((c) => c.id === tone.id);
  assert.equal(await page.locator('#inspector select[aria-label="Quantize"]').inputValue(), "", "the show default");

  await page.locator('#inspector select[aria-label="Quantize"]').selectOption("beat");
  const tc = page.locator('#inspector input[aria-label="Start at timecode"]');
  assert.equal(await tc.getAttribute("placeholder"), "HH:MM:SS:FF");
  await enter(tc, "01:02:03;04");
  let c = await until(clip, (x) => x.quantize === "beat" && x.timecode === "01:02:03;04");
  assert.deepEqual([c.quantize, c.timecode], ["beat", "01:02:03;04"]);

  // Refused: the box's reason as a toast, the stored time back in the field.
  await page.locator('#inspector input[aria-label="Start at timecode"]').fill("25:00:00:00");
  await page.locator('#inspector input[aria-label="Start at timecode"]').press("Tab");
  const t = page.locator('.toast[data-kind="error"]', { hasText: "timecode" });
  await t.waitFor({ timeout: 2000 });
  assert.match(await t.textContent(), /HH:MM:SS:FF/);
  await page.waitForFunction(() => document.querySelector('#inspector input[aria-label="Start at timecode"]').value === "01:02:03;04");
  assert.equal((await clip()).timecode, "01:02:03;04");

  // Empty = none; Show default = null.
  await enter(page.locator('#inspector input[aria-label="Start at timecode"]'), "");
  await page.locator('#inspector select[aria-label="Quantize"]').selectOption("");
  c = await until(clip, (x) => x.quantize === null && x.timecode === null);
  assert.deepEqual([c.quantize, c.timecode], [null, null]);
  await a.ctx.close();
  assert.deepEqual(consoleErrors, []);
});
