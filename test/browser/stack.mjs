// Starts a cuebox stack for a browser test through the real scripts/run
// (its own dummy-driver jackd under a server name of its own, a free port, a
// temporary data folder), and captures JACK ports with cuebox-jack-capture.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BUILD = process.env.CUEBOX_BUILD_DIR ?? join(ROOT, "build");
export const OUTPUT = join(process.env.CUEBOX_TEST_OUTPUT ?? join(ROOT, "test-output"), "browser");
mkdirSync(OUTPUT, { recursive: true });

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ADMIN_PASSWORD = "cuebox-test-admin";

async function post(url, path, body, headers = {}) {
  const r = await fetch(url + path, {
    method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body),
  });
  const cookie = (r.headers.getSetCookie?.() ?? []).find((c) => c.startsWith("cuebox_session="))?.split(";")[0];
  return { status: r.status, body: await r.json(), cookie };
}

async function login(url, user, password) {
  const r = await post(url, "/api/login", { user, password });
  if (r.status !== 200) throw new Error(`login as ${user}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

// An admin bearer token, the way a person gets one: the demo's one-time
// password (data/one-time-password, from cuebox-web --demo) logs in and is
// replaced by ADMIN_PASSWORD, then POST /api/tokens.
async function adminToken(url, data) {
  const otp = readFileSync(join(data, "one-time-password"), "utf8").trim();
  const first = await login(url, "admin", otp);
  const auth = { Cookie: first.cookie, "X-CSRF-Token": first.body.csrf };
  const changed = await post(url, "/api/session/password", { password: ADMIN_PASSWORD }, auth);
  if (changed.status !== 200) throw new Error(`password change: ${JSON.stringify(changed.body)}`);
  const made = await post(url, "/api/tokens", { name: "browser tests", role: "admin" }, auth);
  if (made.status !== 201) throw new Error(`token: ${JSON.stringify(made.body)}`);
  return made.body.secret;
}

export async function startStack(name) {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), "cuebox-bt-"));
  const server = `cbb-${name}-${process.pid}`;
  const env = { ...process.env, JACK_DEFAULT_SERVER: server, JACK_NO_START_SERVER: "1" };
  const proc = spawn(join(ROOT, "scripts", "run"), ["--port", String(port), "--data", data], {
    env, detached: true, stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  proc.stdout.on("data", (d) => (log += d));
  proc.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`scripts/run exited:\n${log}`);
    try {
      const h = await (await fetch(`${url}/api/health`)).json();
      if (h.engine.connected && h.store.show_loaded) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`cuebox did not start:\n${log}`);
    await sleep(200);
  }
  const token = await adminToken(url, data);
  return {
    url, data, server, env,
    adminUser: "admin", adminPassword: ADMIN_PASSWORD,
    log: () => log,
    /** HTTP as the admin's bearer token. */
    async api(method, path, body) {
      const headers = { Authorization: `Bearer ${token}` };
      if (body) headers["Content-Type"] = "application/json";
      const r = await fetch(url + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
      return { status: r.status, body: await r.json() };
    },
    /** Logs a browser context in: a session of `user` (the admin by default) as its cookie. */
    async authorize(ctx, user = "admin", password = ADMIN_PASSWORD) {
      const { cookie } = await login(url, user, password);
      const [name, value] = cookie.split("=");
      await ctx.addCookies([{ name, value, url }]);
    },
    pid(which) { return Number(readFileSync(join(data, `${which}.pid`), "utf8")); },
    async stop() {
      const pids = {};
      for (const name of ["jackd", "cuebox-engine", "cuebox-web"])
        try { pids[name] = Number(readFileSync(join(data, `${name}.pid`), "utf8")); } catch {}
      const jackd = pids.jackd;
      try { process.kill(-proc.pid, "SIGTERM"); } catch {}
      for (let i = 0; i < 150 && proc.exitCode === null; ++i) await sleep(100);
      if (proc.exitCode === null) try { process.kill(-proc.pid, "SIGKILL"); } catch {}
      // Anything left (jackd runs in a session of its own; a process stuck in
      // shutdown) goes, and its pipes are let go so the runner can exit.
      for (const pid of [pids["cuebox-engine"], pids["cuebox-web"], jackd])
        if (pid) try { process.kill(pid, "SIGKILL"); } catch {}
      proc.stdout.destroy();
      proc.stderr.destroy();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

// Records ports; `done` resolves to {samples: Float32Array[], meta}.
export async function capture(stack, ports, seconds) {
  const out = join(stack.data, `capture-${Date.now()}.f32`);
  const args = ["--server", stack.server, "--seconds", String(seconds), "--out", out];
  for (const p of ports) args.push("--port", p);
  const proc = spawn(join(BUILD, "test", "tools", "cuebox-jack-capture"), args, { env: stack.env });
  const rl = createInterface({ input: proc.stdout });
  await new Promise((res, rej) => {
    rl.once("line", (l) => (l.startsWith("ready") ? res() : rej(new Error(l))));
    proc.once("exit", (c) => rej(new Error(`capture exited ${c}`)));
  });
  const done = new Promise((res) => proc.once("exit", res)).then(() => {
    const meta = JSON.parse(readFileSync(out + ".json", "utf8"));
    const buf = readFileSync(out);
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const samples = ports.map((_, p) => all.filter((_, i) => i % ports.length === p));
    return { samples, meta };
  });
  return { done };
}

export function rms(x) {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}

// Debian's chromium, headless, as every browser test drives it.
export function launchBrowser() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
