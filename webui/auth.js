// Who uses the box: the session (GET /api/session), the screens over
// everything until there is a usable one (the first start's setup, login, a
// new password in place of a one-time one), the CSRF header on every request
// that changes something, and a lost session anywhere (the box answers 401)
// back to the login screen. Roles, each with the ones before: viewer
// (watches), operator (performs), designer (edits the show), admin (users,
// tokens, network, firmware). The box enforces them; the UI only does not
// offer what it would refuse. Protocol: docs/PROTOCOL.md.

export const ROLES = ["viewer", "operator", "designer", "admin"];
const RETRY_MS = [500, 1000, 2000, 3000];  // the box cannot be reached yet
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

const $ = (id) => document.getElementById(id);
const ui = { auth: $("auth"), wait: $("authwait") };

/** The box's last answer to GET /api/session (or to a login or setup). */
export const session = {
  authenticated: false, setup_required: false, user: null, role: null, via: null, csrf: null, must_change: false,
};

/** Whether the session's role includes `role`. */
export const can = (role) => ROLES.indexOf(session.role) >= ROLES.indexOf(role);

/** For XMLHttpRequest, which the fetch wrapper does not see: xhr.setRequestHeader(...csrfHeader()). */
export const csrfHeader = () => ["X-CSRF-Token", session.csrf || ""];

// Every fetch of the page to the box: the CSRF header on what changes
// something; after a refusal (401, 403) the box is asked who this is again:
// a lost session shows the login screen, a stale CSRF token is renewed, a
// changed role restarts the app.
const boxFetch = window.fetch.bind(window);
window.fetch = async (input, init = {}) => {
  const req = input instanceof Request ? input : null;
  const url = new URL(req ? req.url : input, location.href);
  const ours = url.origin === location.origin;
  if (ours && session.csrf && !SAFE.has((init.method || req?.method || "GET").toUpperCase())) {
    const headers = new Headers(init.headers ?? req?.headers);
    headers.set("X-CSRF-Token", session.csrf);
    init = { ...init, headers };
  }
  const r = await boxFetch(input, init);
  if (ours && (r.status === 401 || r.status === 403)) check();
  return r;
};

let started = "";                // "user/role" the app runs as ("": not yet)
let shown = "wait";              // the screen shown: "wait" (asking the box), "setup", "login", "newpw", or null
let enter;
const entered = new Promise((res) => { enter = res; });
let checking = null;

async function fetchSession() {
  try {
    const r = await fetch("/api/session", { cache: "no-store" });
    if (r.ok) {
      Object.assign(session, await r.json());
      return true;
    }
  } catch { /* the box cannot be reached */ }
  return false;
}

/** Resolves once the session is usable (after a login, the first start's
 *  setup or a new password when the box asks for them). */
export async function ready() {
  for (let i = 0; !(await fetchSession()); ++i) {
    ui.wait.textContent = "Cannot reach the box — retrying…";
    await new Promise((res) => setTimeout(res, RETRY_MS[Math.min(i, RETRY_MS.length - 1)]));
  }
  route();
  return entered;
}

/** Asks the box again who this is (a refusal, a dropped link) and shows the
 *  screen that needs; nothing when the box cannot be reached. */
export function check() {
  checking ||= fetchSession().then((ok) => { if (ok) route(); }).finally(() => { checking = null; });
  return checking;
}

/** Ends the session; the page starts anew at the login screen. False when
 *  the box cannot be reached. */
export async function logout() {
  const r = await post("/api/logout");
  if (!r.status) return false;
  location.reload();
  return true;
}

function route() {
  const name = session.setup_required ? "setup" : !session.authenticated ? "login" : session.must_change ? "newpw" : null;
  if (name) return show(name);
  const as = `${session.user}/${session.role}`;
  if (!started) {
    started = as;
    show(null);
    enter();
  } else if (shown || as !== started) {
    location.reload(); // logged in again, or as someone else (another tab), or a new role: the app starts anew
  }
}

function show(name) {
  if (name === shown) return;
  shown = name;
  ui.auth.hidden = !name;
  if (!name) return;
  ui.wait.hidden = true;
  for (const f of ui.auth.querySelectorAll("form")) f.hidden = f.id !== `${name}form`;
  for (const x of ui.auth.querySelectorAll('input[type="password"]')) x.value = "";
  for (const x of ui.auth.querySelectorAll(".err")) x.textContent = "";
  [...$(`${name}form`).querySelectorAll("input")].find((x) => !x.value)?.focus();
}

// ------------------------------------------------------------- screens --

/** POST to the box: {status, body}; status 0 when it cannot be reached. */
async function post(path, body) {
  try {
    const r = await fetch(path, body === undefined ? { method: "POST" }
      : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    return { status: r.status, body: (r.headers.get("Content-Type") || "").includes("json") ? await r.json() : null };
  } catch {
    return { status: 0, body: null };
  }
}

/** The box's reason for a refusal (a throttled login says how long to wait). */
function why(r) {
  const e = r.body?.error;
  if (e) return `${e.field ? e.field + ": " : ""}${e.reason || e.code}`;
  return r.status ? `Refused (HTTP ${r.status})` : "The box cannot be reached";
}

/** One request at a time from a screen's form. */
function onSubmit(name, fn) {
  const form = $(`${name}form`), ok = $(`${name}ok`), err = $(`${name}err`);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (ok.disabled) return;
    err.textContent = "";
    ok.disabled = true;
    try {
      await fn(err);
    } finally {
      ok.disabled = false;
    }
  });
}

function take(body) {
  Object.assign(session, body);
  route();
}

onSubmit("setup", async (err) => {
  const password = $("setuppw").value;
  if (password !== $("setuppw2").value) { err.textContent = "The two passwords are not the same."; return; }
  const r = await post("/api/setup", { user: $("setupuser").value.trim(), password });
  if (r.status === 201) take(r.body);
  else if (r.status === 409) check(); // set up from another tablet meanwhile: log in
  else err.textContent = why(r);
});

onSubmit("login", async (err) => {
  const r = await post("/api/login", { user: $("loginuser").value.trim(), password: $("loginpw").value });
  if (r.status === 200) return take(r.body);
  err.textContent = why(r);
  $("loginpw").select();
});

onSubmit("newpw", async (err) => {
  const password = $("newpw").value;
  if (password !== $("newpw2").value) { err.textContent = "The two passwords are not the same."; return; }
  const r = await post("/api/session/password", { password });
  if (r.status === 200) await check(); // the box's session as it is now
  else err.textContent = why(r);
});
