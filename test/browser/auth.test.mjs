// Sessions and roles in a real browser: a tablet without a session sees the
// login screen (nothing of the show, no WebSocket), a wrong password is
// refused with the box's reason and the right one opens the show with the
// user and role in the header; an administrator adds an operator on the Box
// screen, and the operator performs (a tap plays) but is offered no editing,
// and the box refuses an edit sent from that page anyway; logging out goes
// back to the login screen and closes the WebSocket; no console errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startStack, launchBrowser, OUTPUT } from "./stack.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let stack, browser;
const consoleErrors = [];

before(async () => {
  stack = await startStack("auth");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A tablet (logged in as the administrator when `authorize`); `sockets`
 *  collects the WebSockets its page opens. */
async function open({ authorize = false, hash = "" } = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1024, height: 768 }, hasTouch: true });
  if (authorize) await stack.authorize(ctx);
  const page = await ctx.newPage();
  // Refusals the test provokes (401, 403) show as failed resources: not page errors.
  page.on("console", (m) => { if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  const sockets = [];
  page.on("websocket", (ws) => sockets.push(ws));
  await page.goto(stack.url + "/" + hash);
  return { ctx, page, sockets };
}

async function login(page, user, password) {
  await page.locator("#loginform").waitFor();
  await page.fill("#loginuser", user);
  await page.fill("#loginpw", password);
  await page.locator("#loginok").tap();
}

/** The sign-in screens are gone and the show is on the page. */
async function inShow(page) {
  await page.waitForSelector("#auth", { state: "hidden" });
  await page.waitForSelector('#conn[data-state="connected"]');
  await page.waitForSelector("#grid [data-clip]");
}

const toneA4 = async () => (await stack.api("GET", "/api/show")).body.show.clips.find((c) => c.label === "Tone A4");

test("without a session: the login screen; a wrong password is refused with the reason, the right one opens the show", async () => {
  const { ctx, page, sockets } = await open();
  await page.locator("#loginform").waitFor();
  assert.equal(await page.locator("#grid [data-clip]").count(), 0, "nothing of the show before logging in");
  assert.equal(sockets.length, 0, "no WebSocket before logging in");
  await page.screenshot({ path: join(OUTPUT, "login-1024x768.png") });

  const [wrong] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/api/login")),
    login(page, stack.adminUser, "not-the-password"),
  ]);
  assert.equal(wrong.status(), 401);
  const { error } = await wrong.json();
  assert.equal(error.code, "bad_credentials");
  await page.locator("#loginerr", { hasText: error.reason }).waitFor();
  assert.equal(await page.locator("#loginform").isVisible(), true, "still at the login screen");

  await login(page, stack.adminUser, stack.adminPassword);
  await inShow(page);
  assert.equal(await page.textContent("#whoname"), stack.adminUser);
  assert.equal(await page.textContent("#whorole"), "admin");
  assert.equal(await page.evaluate(() => document.body.dataset.role), "admin");
  assert.equal(await page.locator("#screens [data-screen=edit]").isVisible(), true);
  assert.ok(sockets.length >= 1, "the WebSocket opened after logging in");
  await ctx.close();
});

test("an operator added on the Box screen performs, is offered no editing, and the box refuses an edit from that page", async () => {
  const admin = await open({ authorize: true, hash: "#box" });
  await admin.page.locator('#box-userlist [data-user="admin"]').waitFor();
  await admin.page.fill("#box-username", "op1");
  await admin.page.selectOption("#box-userrole", "operator");
  await admin.page.selectOption("#box-userkind", "password");
  await admin.page.fill("#box-usersecret", "operator-secret-1");
  await admin.page.locator("#box-useradd").tap();
  await admin.page.locator('#box-userlist [data-user="op1"]').waitFor();
  const op1 = (await stack.api("GET", "/api/users")).body.users.find((u) => u.name === "op1");
  assert.deepEqual([op1?.role, op1?.kind], ["operator", "password"]);
  await admin.ctx.close();

  const { ctx, page } = await open();
  await login(page, "op1", "operator-secret-1");
  await inShow(page);
  assert.equal(await page.textContent("#whoname"), "op1");
  assert.equal(await page.textContent("#whorole"), "operator");
  assert.equal(await page.locator("#screens [data-screen=edit]").isVisible(), false, "no Edit button");
  await page.evaluate(() => window.cuebox.showScreen("edit"));
  assert.equal(await page.evaluate(() => document.body.dataset.screen), "perform", "nor the edit screen");
  await page.screenshot({ path: join(OUTPUT, "perform-operator-1024x768.png") });

  // Performing works: a tap plays.
  const tone = await toneA4();
  await page.locator(`#grid [data-clip="${tone.id}"]`).tap();
  await page.waitForSelector(`#grid [data-clip="${tone.id}"][data-state="playing"]`, { timeout: 3000 });
  await stack.api("POST", "/api/panic");

  // The Box screen: a backup yes, users and tokens no.
  await page.evaluate(() => window.cuebox.showScreen("box"));
  await page.locator("#box-bakmake").waitFor();
  assert.equal(await page.locator("#box-users").isVisible(), false);

  // An edit sent from the page all the same (with its CSRF token) is refused.
  const r = await page.evaluate(async (id) => {
    const s = await (await fetch("/api/session")).json();
    const res = await fetch(`/api/clips/${id}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": s.csrf },
      body: JSON.stringify({ label: "nope" }),
    });
    return { status: res.status, body: await res.json() };
  }, tone.id);
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.error.code, "forbidden");
  assert.equal((await stack.api("GET", `/api/clips/${tone.id}`)).body.clip.label, tone.label);
  await ctx.close();
});

test("logging out goes back to the login screen and closes the WebSocket; no console errors", async () => {
  const { ctx, page, sockets } = await open();
  await login(page, stack.adminUser, stack.adminPassword);
  await inShow(page);
  const n = sockets.length;
  assert.equal((await stack.api("GET", "/api/health")).body.web.ws_clients, 1);
  await page.locator("#logout").tap();
  await page.locator("#loginform").waitFor();
  // The box has no WebSocket client left (the page's went with the session).
  for (let i = 0; i < 50 && (await stack.api("GET", "/api/health")).body.web.ws_clients > 0; ++i) await sleep(100);
  assert.equal((await stack.api("GET", "/api/health")).body.web.ws_clients, 0);
  assert.equal(sockets.length, n, "no new WebSocket at the login screen");
  assert.equal(await page.locator("#who").isVisible(), false);
  const s = await page.evaluate(async () => (await fetch("/api/session")).json());
  assert.equal(s.authenticated, false, "the box forgot the session");
  await ctx.close();
  assert.deepEqual(consoleErrors, []);
});
