// The media panel in a real browser at tablet size: three files chosen at
// once upload with a bar each and one overall, the box imports them (a bad
// one is refused with its reason) and they appear as clips on the tab; then
// a moved file with two identical copies is offered as two candidates and
// the operator confirms one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, copyFileSync, renameSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, launchBrowser, OUTPUT } from "./stack.mjs";

let stack, browser;
const consoleErrors = [];

before(async () => {
  stack = await startStack("media");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("files import with a bar each and overall, bad ones refused, missing media confirmed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cuebox-bt-media-"));
  const files = [];
  for (const [name, hz, secs] of [["rain.flac", 300, 4], ["door knock.wav", 500, 1], ["wind.ogg", 200, 3]]) {
    execFileSync("sox", ["-n", "-r", "44100", "-c", "2", join(dir, name), "synth", String(secs), "sine", String(hz), "gain", "-6"]);
    files.push(join(dir, name));
  }
  writeFileSync(join(dir, "notes.wav"), "cue 12: thunder, then the door\n");
  files.push(join(dir, "notes.wav"));

  const ctx = await browser.newContext({ viewport: { width: 1024, height: 768 }, hasTouch: true });

  await stack.authorize(ctx);
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(stack.url + "/");
  await page.waitForSelector('#conn[data-state="connected"]');
  // The second tab is empty: the imports go there.
  await page.locator("[data-tab]").nth(1).tap();
  await page.locator("#mediabtn").tap();
  await page.waitForSelector("#mediapanel:not([hidden])");
  await page.setInputFiles("#media-files", files);
  assert.equal(await page.locator("#media-list .mrow").count(), 4, "a row per file at once");
  await page.waitForFunction(() => [...document.querySelectorAll("#media-list .mrow")]
    .every((r) => r.dataset.state === "done" || r.dataset.state === "failed"), null, { timeout: 60000 });
  await page.screenshot({ path: join(OUTPUT, "media-import-1024x768.png") });
  const rows = await page.locator("#media-list .mrow").evaluateAll((els) => els.map((e) => ({
    name: e.querySelector(".mname").textContent, state: e.dataset.state,
    value: e.querySelector("progress").value, text: e.querySelector(".mstate").textContent })));
  for (const r of rows.slice(0, 3)) {
    assert.equal(r.state, "done", JSON.stringify(r));
    assert.equal(r.value, 1);
  }
  assert.equal(rows[3].state, "failed");
  assert.match(rows[3].text, /notes\.wav' is not audio/);
  assert.equal(await page.locator("#media-overall").evaluate((e) => e.value), 1);
  assert.match(await page.locator("#media-summary").textContent(), /3 of 4 imported, 1 refused/);

  // A folder on a stick: one row per file the box finds there.
  const stick = join(dir, "usb", "cues");
  mkdirSync(join(stick, "sub"), { recursive: true });
  execFileSync("sox", ["-n", "-r", "96000", "-c", "1", join(stick, "bird.aiff"), "synth", "1", "sine", "900"]);
  execFileSync("sox", ["-n", "-r", "22050", "-c", "2", join(stick, "sub", "clock.flac"), "synth", "1", "sine", "1200"]);
  writeFileSync(join(stick, "readme.txt"), "not audio");
  await page.fill("#media-path", stick);
  await page.locator("#media-folder button[type=submit]").tap();
  await page.waitForFunction(() => document.querySelectorAll("#media-list .mrow").length === 6, null, { timeout: 20000 });
  await page.waitForFunction(() => [...document.querySelectorAll("#media-list .mrow")].slice(4)
    .every((r) => r.dataset.state === "done"), null, { timeout: 30000 });
  assert.deepEqual(await page.locator("#media-list .mrow .mname").evaluateAll((els) => els.slice(4).map((e) => e.textContent)),
                   ["bird.aiff", "clock.flac"]);
  assert.match(await page.locator("#media-summary").textContent(), /5 of 6 imported, 1 refused/);

  // The library lists them with their analysis; one opens with its waveform.
  await page.waitForFunction(() => document.querySelectorAll("#media-library .lrow").length === 5, null, { timeout: 10000 });
  const facts = await page.locator("#media-library .lfacts").first().textContent();
  assert.match(facts, /LUFS/);
  assert.match(facts, /dBTP/);
  await page.locator("#media-library .lname", { hasText: "rain.flac" }).tap();
  await page.waitForSelector("#media-detail:not([hidden])");
  assert.match(await page.locator("#md-facts").textContent(), /44100 Hz FLAC, 24-bit → 48000 Hz/);
  const lit = await page.locator("#md-wave").evaluate((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 200) ++n;
    return n;
  });
  assert.ok(lit > 1000, `waveform pixels drawn: ${lit}`);
  await page.screenshot({ path: join(OUTPUT, "media-library-1024x768.png") });

  // The clips are on the tab, in reading order.
  const { body: show } = await stack.api("GET", "/api/show");
  const labels = show.show.clips.filter((c) => c.media).map((c) => c.label);
  assert.deepEqual(labels, ["rain", "door knock", "wind", "bird", "clock"]);
  await page.locator("#screens [data-screen=perform]").tap();
  for (const c of show.show.clips.filter((c) => c.media))
    await page.waitForSelector(`#grid [data-clip="${c.id}"]`, { timeout: 5000 });

  // A moved file with two identical copies: two candidates to choose from.
  const knock = show.show.clips.find((c) => c.label === "door knock");
  const alt = join(dir, "stick");
  mkdirSync(join(alt, "a"), { recursive: true });
  mkdirSync(join(alt, "b"), { recursive: true });
  copyFileSync(join(stack.data, knock.file), join(alt, "a", "knock.wav"));
  renameSync(join(stack.data, knock.file), join(alt, "b", "knock.wav"));
  assert.equal((await stack.api("PATCH", "/api/settings/media", { search_paths: [alt] })).status, 200);
  await page.locator("#mediabtn").tap();
  await page.locator("#media-check").tap();
  await page.waitForSelector("#media-missing .cand button", { timeout: 20000 });
  // Both copies are exact content matches (100%); same-length files of
  // another content may follow with a low score, best first.
  const scores = await page.locator("#media-missing .cand .score").evaluateAll((els) => els.map((e) => parseInt(e.textContent)));
  assert.deepEqual(scores.slice(0, 2), [100, 100], JSON.stringify(scores));
  assert.ok(scores.slice(2).every((x) => x < 60), JSON.stringify(scores));
  await page.screenshot({ path: join(OUTPUT, "media-missing-1024x768.png") });
  await page.locator("#media-missing .cand button").nth(1).tap();
  // A confirmation first: it names the clip and the file.
  const dlg = page.locator('.modal[aria-label="Use this file?"]');
  await dlg.waitFor();
  assert.match(await dlg.locator("p").textContent(), /will play .*100%, the same content/);
  await dlg.locator(".confirm-ok").tap();
  await page.waitForFunction(() => document.querySelectorAll("#media-missing .miss").length === 0, null, { timeout: 5000 });
  const { body: after } = await stack.api("GET", "/api/show");
  const relinked = after.show.clips.find((c) => c.id === knock.id);
  assert.ok(relinked.file.startsWith(alt), relinked.file);
  assert.deepEqual(consoleErrors, []);
  await ctx.close();
});
