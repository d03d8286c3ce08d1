// The Box screen in a real browser: a recovery point, a duplicated show and
// a backup made through the UI are really on the box; loading asks first;
// the loaded show cannot be deleted (the 409 is shown); a damaged backup is
// refused with the damage named; a show exported through the UI is imported back from
// this device with an upload bar; the event log lists the newest entries,
// filters by kind and downloads as CSV; the DSP history plot draws; a lock
// disables every changing control; and the screen fits a tablet and a phone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, appendFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startStack, launchBrowser, OUTPUT } from "./stack.mjs";

let stack, browser, ctx, page;
const consoleErrors = [];

before(async () => {
  stack = await startStack("box");
  browser = await launchBrowser();
  ctx = await browser.newContext({ viewport: { width: 1024, height: 768 }, hasTouch: true, acceptDownloads: true });
  await stack.authorize(ctx);
  page = await ctx.newPage();
  // Refusals the test provokes (409) show up as failed resources: not errors of the page.
  page.on("console", (m) => { if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(stack.url + "/#box");
  await page.waitForSelector('#conn[data-state="connected"]');
  await page.waitForSelector("#screen-box:not([hidden]) #box-showlist [data-show]");
});

after(async () => {
  await ctx?.close();
  await browser?.close();
  await stack?.stop();
});

/** Answers the in-page dialog (typing a name first when given). */
async function answer(name, confirm = true) {
  await page.waitForSelector("#box-dialog:not([hidden])");
  if (name != null) await page.fill("#box-dialog input", name);
  await page.locator(confirm ? "#box-dlgok" : "#box-dlgcancel").tap();
  await page.waitForSelector("#box-dialog", { state: "hidden" });
}

test("a named recovery point made in the UI is on the box", async () => {
  await page.fill("#box-recname", "before act 2");
  await page.locator("#box-reccreate").tap();
  await page.locator("#box-reclist [data-point]", { hasText: "before act 2" }).waitFor();
  const { body } = await stack.api("GET", "/api/recovery");
  const p = body.points.find((x) => x.name === "before act 2");
  assert.ok(p, JSON.stringify(body));
  assert.equal(p.kind, "named");
  assert.equal(await page.inputValue("#box-recname"), "", "the field is cleared");
});

test("duplicating the demo show asks a name; cancelling changes nothing", async () => {
  const row = page.locator('#box-showlist [data-show="1"]');
  await row.getByRole("button", { name: /^Duplicate/ }).tap();
  await answer("never made", false);
  assert.equal((await stack.api("GET", "/api/shows")).body.shows.length, 1);

  await row.getByRole("button", { name: /^Duplicate/ }).tap();
  await answer("Demo show (tour)");
  await page.locator("#box-showlist [data-show]", { hasText: "Demo show (tour)" }).waitFor();
  const { body } = await stack.api("GET", "/api/shows");
  assert.equal(body.shows.length, 2);
  const copy = body.shows.find((s) => s.name === "Demo show (tour)");
  assert.ok(copy && !copy.loaded, JSON.stringify(body));
  assert.equal(copy.clips, body.shows.find((s) => s.id === 1).clips, "a full copy");

  await page.locator(`#box-showlist [data-show="${copy.id}"]`).getByRole("button", { name: /^Rename/ }).tap();
  await answer("Tour");
  await page.locator(`#box-showlist [data-show="${copy.id}"]`, { hasText: "Tour" }).waitFor();
  assert.equal((await stack.api("GET", "/api/shows")).body.shows.find((s) => s.id === copy.id).name, "Tour");
});

test("deleting the loaded show is refused and the reason shown", async () => {
  await page.locator('#box-showlist [data-show="1"]').getByRole("button", { name: /^Delete/ }).tap();
  assert.match(await page.locator("#box-dlgok").textContent(), /Delete/);
  await answer(null);
  await page.locator("#box-shows .err", { hasText: /loaded/ }).waitFor();
  assert.equal((await stack.api("GET", "/api/shows")).body.shows.length, 2, "nothing deleted");
});

test("loading a show asks first, then the box and the page follow", async () => {
  const loaded = async () => (await stack.api("GET", "/api/shows")).body.shows.find((s) => s.loaded).name;
  const tour = page.locator("#box-showlist [data-show]", { hasText: "Tour" });
  await tour.getByRole("button", { name: /^Load/ }).tap();
  assert.match(await page.locator("#box-dlgttl").textContent(), /Load “Tour”/);
  await answer(null, false);
  assert.equal(await loaded(), "Demo show", "cancel loads nothing");
  await tour.getByRole("button", { name: /^Load/ }).tap();
  await answer(null);
  await page.locator("#box-showlist [data-show][data-loaded]", { hasText: "Tour" }).waitFor();
  assert.equal(await loaded(), "Tour");
  await page.waitForFunction(() => document.getElementById("showname").textContent === "Tour");
  // and back to the demo show for the rest
  await page.locator('#box-showlist [data-show="1"]').getByRole("button", { name: /^Load/ }).tap();
  await answer(null);
  await page.locator('#box-showlist [data-show="1"][data-loaded]').waitFor();
  assert.equal(await loaded(), "Demo show");
});

test("a backup made in the UI is listed valid; a damaged one is refused naming the damage", async () => {
  await page.locator("#box-bakmake").tap();
  await page.locator('#box-baklist [data-backup][data-valid="true"]').waitFor({ timeout: 30000 });
  const { body } = await stack.api("GET", "/api/backups");
  assert.equal(body.backups.length, 1);
  assert.equal(body.backups[0].valid, true);
  assert.match(await page.locator("#box-baklist").textContent(), /valid/);

  // Damage it on disk: the list says so, and a restore is refused (409).
  const dir = join(body.location, body.backups[0].name);
  const file = readdirSync(dir).find((f) => f.endsWith(".mdb"));
  appendFileSync(join(dir, file), "garbage");
  await page.locator("#box-bakmake").tap(); // refreshes the list with a second, good one
  await page.locator('#box-baklist [data-valid="false"]').waitFor({ timeout: 30000 });
  const damaged = page.locator('#box-baklist [data-valid="false"]');
  await damaged.getByRole("button", { name: /^Restore/ }).tap();
  await answer(null);
  await page.locator("#box-bakerr", { hasText: /Not restored: ./ }).waitFor();
  const shown = await page.locator("#box-bakerr").textContent();
  const { body: after } = await stack.api("GET", "/api/backups");
  const problem = after.backups.find((b) => !b.valid)?.problem;
  assert.ok(problem, JSON.stringify(after));
  assert.ok(shown.includes(problem), `${shown} / ${problem}`);
  assert.equal((await stack.api("GET", "/api/shows")).body.shows.length, 2, "nothing restored");
});

test("a show exported in the UI downloads and imports back with an upload bar", async () => {
  await page.locator('#box-showlist [data-show="1"]').getByRole("button", { name: /^Export/ }).tap();
  const link = page.locator("#box-exportdl");
  await link.waitFor({ timeout: 60000 });
  const name = await link.getAttribute("download");
  assert.match(name, /\.cuebox$/);
  assert.equal(await link.getAttribute("href"), `/api/exports/${encodeURIComponent(name)}`);
  await page.locator("#box-exports a", { hasText: name }).waitFor();
  const head = await page.evaluate(async (h) => {
    const rd = (await fetch(h)).body.getReader();
    const { value } = await rd.read();
    rd.cancel();
    return new TextDecoder().decode(value.slice(0, 8));
  }, await link.getAttribute("href"));
  assert.equal(head, "CUEBOXB1");

  await page.setInputFiles("#box-import-file", join(stack.data, "exports", name));
  await page.fill("#box-import-name", "Imported demo");
  const seen = page.evaluate(() => new Promise((res) => {
    // The bar moves while the bundle uploads.
    const bar = document.getElementById("box-import-bar");
    const vals = new Set();
    const t = setInterval(() => {
      vals.add(bar.value);
      if (/^Imported/.test(document.getElementById("box-import-state").textContent)) { clearInterval(t); res([...vals]); }
    }, 5);
  }));
  await page.getByRole("button", { name: "Import", exact: true }).tap();
  const values = await seen;
  assert.ok(values.some((v) => v > 0 && v < 1), `progress values ${values}`);
  assert.equal(await page.locator("#box-import-bar").evaluate((e) => e.value), 1);
  await page.locator("#box-showlist [data-show]", { hasText: "Imported demo" }).waitFor();
  const { body } = await stack.api("GET", "/api/shows");
  assert.equal(body.shows.length, 3);
  assert.equal(body.shows.find((s) => s.name === "Imported demo")?.clips, 16);
});

test("the event log shows the newest entries, filters by kind and downloads as CSV", async () => {
  await page.locator("#box-logtbl tbody tr").first().waitFor();
  const times = await page.locator("#box-logtbl tbody tr td:first-child").evaluateAll((tds) => tds.map((t) => t.title));
  assert.ok(times.length > 3 && times.length <= 200, `rows: ${times.length}`);
  assert.deepEqual(times, [...times].sort().reverse(), "newest first");

  // Show events only: the recovery point made above is there.
  await page.selectOption("#box-logkind", "show");
  await page.locator("#box-logtbl tbody tr", { hasText: "recovery point 1 (named): before act 2" }).waitFor({ timeout: 5000 });
  const kinds = await page.locator("#box-logtbl tbody tr").evaluateAll((rs) => rs.map((r) => r.dataset.kind));
  assert.ok(kinds.every((k) => k === "show"), JSON.stringify(kinds));
  assert.match(await page.getAttribute("#box-log-csv", "href"), /format=csv.*kind=show/);
  await page.selectOption("#box-logkind", "");

  const [dl] = await Promise.all([page.waitForEvent("download"), page.locator("#box-log-csv").tap()]);
  assert.match(dl.suggestedFilename(), /\.csv$/);
  const csv = readFileSync(await dl.path(), "utf8");
  assert.match(csv.split("\n")[0], /^time,kind,source,client,detail/);
  assert.ok(csv.split("\n").length > 3, csv.slice(0, 300));
  assert.ok(csv.includes("before act 2"));
  for (const f of ["json", "xml"]) assert.match(await page.getAttribute(`#box-log-${f}`, "href"), new RegExp(`format=${f}`));
});

test("the DSP history plot draws from state messages; health and firmware facts show", async () => {
  // The columns the load line reaches: they grow with the seconds sampled,
  // whatever the scale (it follows the highest peak, and an xrun storm's
  // peak once moved the line so that fewer of its pixels were lit).
  const lit = () => page.locator("#box-dsphist").evaluate((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const cols = new Set();
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 230 && d[i] > 100 && d[i] < 160) cols.add((i / 4) % c.width); // the load line
    return cols.size;
  });
  await page.waitForTimeout(4000);
  const a = await lit();
  assert.ok(a >= 3, `load line columns: ${a}`);  // about 2 px a second at this width
  await page.waitForTimeout(2500);
  assert.ok((await lit()) > a, "the plot grows with time");
  assert.match(await page.locator("#box-dspnow").textContent(), /^\d+\.\d%$/);
  const facts = await page.locator("#box-facts").textContent();
  assert.match(facts, /Xruns\d+/);
  assert.match(facts, /WebSocket clients[1-9]/);
  // Memory, disk and firmware facts as the box reports them, "–" when it does not.
  const { body: health } = await stack.api("GET", "/api/health");
  if (health.system) {
    assert.match(facts, /Memory[\d.]+ [KMGT]iB available of [\d.]+ [KMGT]iB/);
    assert.match(facts, /Disk[\d.]+ [KMGT]iB free of [\d.]+ [KMGT]iB/);
  } else {
    assert.match(facts, /Memory–.*Disk–/);
  }
  const fw = await page.locator("#box-fw").textContent();
  if (health.firmware?.version) assert.ok(fw.includes(health.firmware.version), fw);
  else assert.match(fw, /^Version–Commit–/);
  assert.match(await page.locator("#box-platform").textContent(), /48000 Hz/);
  assert.match(await page.locator("#box-store").textContent(), /Read-onlyno/);
  // Firmware updates need RAUC's system configuration, which the image has
  // and this machine does not: the card says why, and its upload and
  // install controls are hidden (test/system drives them on the image).
  await page.waitForFunction(() => /Updatesnot available/.test(document.getElementById("box-fw").textContent), null, { timeout: 10000 });
  assert.match(await page.locator("#box-fw").textContent(), /Updatesnot available: .*rauc/i);
  assert.equal(await page.locator("#box-fw-admin").isHidden(), true);
  assert.equal(await page.locator("#box-fw-install").isDisabled(), true);
});

test("when the show is locked, changing controls are disabled; the log still downloads", async () => {
  // The box has no lock endpoint on this build: set the shared model's lock
  // the way a lock event does; the screen re-checks it while shown.
  await page.evaluate(() => { window.cuebox.model.lock = { locked: true }; });
  await page.waitForFunction(() => document.getElementById("box-bakmake").disabled, null, { timeout: 5000 });
  const enabled = await page.locator("#screen-box [data-edit]").evaluateAll((els) => els.filter((e) => !e.disabled).map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(enabled, []);
  assert.ok((await page.locator("#screen-box [data-edit]").count()) > 15);
  assert.equal(await page.locator("#box-logkind").isDisabled(), false);
  assert.match(await page.getAttribute("#box-log-xml", "href"), /format=xml/);
  await page.evaluate(() => { window.cuebox.model.lock = { locked: false }; });
  await page.waitForFunction(() => !document.getElementById("box-bakmake").disabled, null, { timeout: 5000 });
});

test("screenshots; fits 1024x768 and a phone without page scroll; no console errors", async () => {
  await page.evaluate(() => document.getElementById("screen-box").scrollTo(0, 0));
  await page.screenshot({ path: join(OUTPUT, "box-1024x768.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const over = await page.evaluate(() => {
    const s = document.getElementById("screen-box");
    return { doc: document.documentElement.scrollWidth, screen: s.scrollWidth - s.clientWidth };
  });
  assert.ok(over.doc <= 390, `page width ${over.doc}`);
  assert.ok(over.screen <= 0, `screen scrolls sideways by ${over.screen}`);
  await page.screenshot({ path: join(OUTPUT, "box-390x844.png") });
  // Big enough to touch on a phone.
  const small = await page.locator("#screen-box button:visible").evaluateAll((bs) =>
    bs.filter((b) => b.getBoundingClientRect().height < 44).map((b) => b.textContent));
  assert.deepEqual(small, []);
  assert.deepEqual(consoleErrors, []);
});
