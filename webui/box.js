// Box screen: the box as a whole. Shows (load, duplicate, rename, new,
// delete, export with a download link, import of a bundle with an upload
// bar), recovery points, backups, the event log (newest entries, a kind
// filter, CSV/JSON/XML downloads), system health with a 5-minute DSP load
// plot, firmware, and (administrators) users and API tokens. Every
// destructive action asks in an in-page dialog; when the show is locked every
// control that changes something is disabled; what the session's role may
// not do is not offered (data-min, auth.css). Protocol: docs/PROTOCOL.md.

import { el } from "./dom.js";
import { ROLES, can, session, csrfHeader } from "./auth.js";

const HISTORY_S = 300;       // DSP plot: the last 5 minutes, one sample a second
const LOG_SHOWN = 200;       // newest entries shown
const POLL_MS = 2000;
const LOG_KINDS = ["trigger", "stop", "fault", "engine", "edit", "show", "system", "login"];

// ------------------------------------------------------------- helpers --

function btn(text, onClick, { cls = "", edit = false, label, min } = {}) {
  const b = el("button", { type: "button", class: `btn ${cls}`.trim(), text, "aria-label": label });
  if (edit) b.dataset.edit = "";
  if (min) b.dataset.min = min; // the least role that may (auth.css)
  b.addEventListener("click", onClick);
  return b;
}

/** 1536 -> "1.5 KiB"; absent -> "–". */
function fmtBytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return i === 0 ? `${n} B` : `${n.toFixed(n >= 100 ? 0 : 1)} ${units[i]}`;
}

function fmtTime(iso, withDate = true) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return iso || "–";
  const p = (x, n = 2) => String(x).padStart(n, "0");
  const t = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  const today = new Date().toDateString() === d.toDateString();
  return withDate && !today ? `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${t}` : t;
}

function fmtUptime(s) {
  if (typeof s !== "number") return "–";
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return d ? `${d} d ${h} h ${m} min` : h ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

function roleSelect(props, value) {
  const s = el("select", { class: "in", ...props }, ...ROLES.map((r) => el("option", { value: r, text: r })));
  s.value = value;
  return s;
}

const pct = (x) => (typeof x === "number" ? `${(x * 100).toFixed(1)}%` : "–");
const val = (x) => (x == null || x === "" ? "–" : String(x));
const reason = (r) => r.body?.error?.reason || (r.status === 0 ? "the box cannot be reached" : `HTTP ${r.status}`);
const ok = (r) => r.status >= 200 && r.status < 300;

// A log entry's time in ns (the box keeps ns; the JSON has milliseconds).

// ------------------------------------------------------------- screen --

export class BoxScreen {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.visible = false;
    this.timer = 0;
    this.health = null;
    // DSP history: one bucket a second (the highest load and peak seen in it).
    this.hist = { load: new Float32Array(HISTORY_S), peak: new Float32Array(HISTORY_S), n: 0, head: 0 };
    this.bucket = null;      // {sec, load, peak}
    this.lastNumbers = 0;
    this.log = { entries: [], busy: false };
    this.lastShow = null;
    this.build();
  }

  // ----------------------------------------------------------- layout --

  build() {
    const r = this.root;
    r.classList.add("boxscreen");
    this.cards = el("div", { class: "cards" });
    r.append(this.cards);
    this.buildShows();
    this.buildRecovery();
    this.buildBackups();
    this.buildHealth();
    this.buildLog();
    this.buildFirmware();
    this.buildUsers();
    this.buildDialog();
  }

  card(id, title) {
    const c = el("section", { class: "card", id, "aria-labelledby": id + "-h" }, el("h2", { id: id + "-h", text: title }));
    this.cards.append(c);
    return c;
  }

  buildShows() {
    const c = this.card("box-shows", "Shows");
    this.showList = el("div", { class: "boxlist", id: "box-showlist" });
    this.showsErr = el("p", { class: "err", role: "alert" });
    const newName = el("input", { class: "in", type: "text", id: "box-newshow", placeholder: "Name of a new show", "aria-label": "Name of a new show", maxLength: 200 });
    newName.dataset.edit = "";
    const create = btn("New show", () => this.newShow(newName), { edit: true, min: "designer" });
    this.exportLink = el("p", { class: "boxnote", id: "box-exported", hidden: true });
    // Import: a bundle from this device, streamed with an upload bar.
    this.impFile = el("input", { type: "file", id: "box-import-file", accept: ".cuebox,application/octet-stream", "aria-label": "Show bundle to import" });
    this.impName = el("input", { class: "in", type: "text", id: "box-import-name", placeholder: "Name (optional)", "aria-label": "Name of the imported show", maxLength: 200 });
    this.impBtn = btn("Import", () => this.importBundle(), { edit: true, cls: "primary", min: "designer" });
    this.impBar = el("progress", { id: "box-import-bar", max: 1, value: 0, hidden: true, "aria-label": "Upload" });
    this.impText = el("span", { class: "muted", id: "box-import-state", "aria-live": "polite" });
    for (const x of [this.impFile, this.impName]) x.dataset.edit = "";
    this.impFile.addEventListener("change", () => {
      const f = this.impFile.files[0];
      if (f && !this.impName.value) this.impName.value = f.name.replace(/\.cuebox$/i, "");
    });
    this.exportList = el("ul", { class: "boxfiles", id: "box-exports" });
    this.exportLoc = el("span", { class: "muted" });
    c.append(
      this.showList, this.showsErr, this.exportLink,
      el("form", { class: "row boxform", dataset: { min: "designer" }, on: { submit: (e) => { e.preventDefault(); create.click(); } } }, newName, create),
      el("div", { dataset: { min: "designer" } },
        el("h3", { text: "Import a show bundle" }),
        el("div", { class: "row boxform" }, this.impFile),
        el("div", { class: "row boxform" }, this.impName, this.impBtn),
        el("div", { class: "row boxprog" }, this.impBar, this.impText)),
      el("h3", {}, "Exported bundles ", this.exportLoc),
      this.exportList,
    );
  }

  buildRecovery() {
    const c = this.card("box-recovery", "Recovery points");
    this.recList = el("div", { class: "boxlist", id: "box-reclist" });
    this.recErr = el("p", { class: "err", role: "alert" });
    const name = el("input", { class: "in", type: "text", id: "box-recname", placeholder: "Name, e.g. before act 2", "aria-label": "Name of the recovery point", maxLength: 200 });
    name.dataset.edit = "";
    const make = btn("Create", () => this.createRecovery(name), { edit: true, cls: "primary", label: "Create recovery point", min: "operator" });
    make.id = "box-reccreate";
    c.append(
      el("p", { class: "muted", text: "The loaded show as it is now; restoring is itself an undoable edit." }),
      el("form", { class: "row boxform", dataset: { min: "operator" }, on: { submit: (e) => { e.preventDefault(); make.click(); } } }, name, make),
      this.recErr, this.recList,
    );
  }

  buildBackups() {
    const c = this.card("box-backups", "Backups");
    this.bakList = el("div", { class: "boxlist", id: "box-baklist" });
    this.bakErr = el("p", { class: "err", role: "alert", id: "box-bakerr" });
    this.bakLoc = el("p", { class: "muted boxpath" });
    const make = btn("Back up now", (e) => this.makeBackup(e.currentTarget), { edit: true, cls: "primary", min: "operator" });
    make.id = "box-bakmake";
    c.append(this.bakLoc, el("div", { class: "row" }, make), this.bakErr, this.bakList);
  }

  buildHealth() {
    const c = this.card("box-health", "System health");
    this.dspNow = el("strong", { class: "boxbig", id: "box-dspnow", text: "–" });
    this.dspPeak = el("span", { class: "muted", text: "" });
    this.canvas = el("canvas", { id: "box-dsphist", width: 600, height: 120, role: "img", "aria-label": "DSP load over the last 5 minutes" });
    this.facts = el("dl", { class: "boxfacts", id: "box-facts" });
    this.platform = el("dl", { class: "boxfacts", id: "box-platform" });
    this.store = el("dl", { class: "boxfacts", id: "box-store" });
    this.healthErr = el("p", { class: "err", role: "alert" });
    this.scaleText = el("span");
    c.append(
      el("div", { class: "row boxdsp" }, el("span", { text: "DSP load" }), this.dspNow, this.dspPeak),
      el("div", { class: "boxplot" }, this.canvas,
        el("div", { class: "boxlegend muted" }, el("span", { class: "k-load", text: "load" }), " ",
          el("span", { class: "k-peak", text: "peak" }), " · last 5 minutes · ", this.scaleText)),
      this.healthErr, this.facts,
      el("h3", { text: "Platform" }), this.platform,
      el("h3", { text: "Store" }), this.store,
    );
  }

  buildLog() {
    const c = this.card("box-log", "Event log");
    this.kind = el("select", { class: "in", id: "box-logkind", "aria-label": "Kind of event" });
    this.kind.append(el("option", { value: "", text: "All kinds" }), ...LOG_KINDS.map((k) => el("option", { value: k, text: k })));
    this.kind.addEventListener("change", () => { this.renderLog(); this.updateLogLinks(); this.pollLog(); });
    const refresh = btn("Refresh", () => this.pollLog());
    this.logLinks = {};
    const links = el("span", { class: "row" }, el("span", { class: "muted", text: "Download:" }));
    for (const f of ["csv", "json", "xml"]) {
      this.logLinks[f] = el("a", { class: "btn boxlink", id: `box-log-${f}`, text: f.toUpperCase(), "aria-label": `Download the log as ${f.toUpperCase()}` });
      links.append(this.logLinks[f]);
    }
    this.updateLogLinks();
    this.logBody = el("tbody");
    this.logCount = el("span", { class: "muted", "aria-live": "polite" });
    this.logErr = el("p", { class: "err", role: "alert" });
    const head = el("tr", {}, ...["Time", "Kind", "Source", "Client", "Event"].map((t) => el("th", { scope: "col", text: t })));
    c.append(
      el("div", { class: "row boxform" }, el("label", { class: "row" }, el("span", { text: "Kind" }), this.kind), refresh, this.logCount),
      el("div", { class: "row boxform" }, links),
      this.logErr,
      el("div", { class: "tblwrap" }, el("table", { class: "tbl boxlog", id: "box-logtbl" }, el("thead", {}, head), this.logBody)),
    );
  }

  buildFirmware() {
    const c = this.card("box-firmware", "Firmware");
    this.fw = el("dl", { class: "boxfacts", id: "box-fw" });
    this.fwSlots = el("ul", { class: "boxfiles boxslots", id: "box-fwslots", "aria-label": "System slots" });
    this.fwErr = el("p", { class: "err", role: "alert", id: "box-fw-err" });
    // An update (administrators): upload a signed bundle, the box checks it,
    // then install it into the other slot and restart into it.
    this.fwFile = el("input", { type: "file", id: "box-fw-file", accept: ".raucb", "aria-label": "Firmware bundle (.raucb)" });
    this.fwUpload = btn("Upload", () => this.uploadFirmware(), { edit: true, min: "admin" });
    this.fwUpload.id = "box-fw-upload";
    this.fwUpBar = el("progress", { id: "box-fw-upbar", max: 1, value: 0, hidden: true, "aria-label": "Upload" });
    this.fwUpText = el("span", { class: "muted", id: "box-fw-upstate", "aria-live": "polite" });
    this.fwBundle = el("p", { class: "boxnote", id: "box-fw-bundle", "aria-live": "polite" });
    this.fwInstall = btn("Install", () => this.installFirmware(), { edit: true, cls: "primary", min: "admin" });
    this.fwInstall.id = "box-fw-install";
    this.fwBar = el("progress", { id: "box-fw-bar", max: 100, value: 0, hidden: true, "aria-label": "Install" });
    this.fwJob = el("span", { class: "muted", id: "box-fw-job", "aria-live": "polite" });
    this.fwReboot = btn("Restart now", () => this.rebootBox(), { edit: true, cls: "danger", min: "admin" });
    this.fwReboot.id = "box-fw-reboot";
    this.fwReboot.hidden = true;
    this.fwFile.dataset.edit = "";
    this.fwAdmin = el("div", { id: "box-fw-admin", dataset: { min: "admin" } },
      el("h3", { text: "Update the firmware" }),
      el("div", { class: "row boxform" }, this.fwFile, this.fwUpload),
      el("div", { class: "row boxprog" }, this.fwUpBar, this.fwUpText),
      this.fwBundle,
      el("div", { class: "row boxform" }, this.fwInstall, this.fwReboot),
      el("div", { class: "row boxprog" }, this.fwBar, this.fwJob));
    c.append(this.fw, el("h3", { text: "Slots" }), this.fwSlots, this.fwErr, this.fwAdmin, this.buildKeys());
    this.firmware = null;
    this.renderFirmware();
  }

  /** Owner signing keys (administrators): the image's certificates (read
   * only) and the owner's enrolled ones; bundles signed by any of them are
   * trusted. A key is added from a .pem/.crt file read in the browser. */
  buildKeys() {
    this.keyImage = el("ul", { class: "boxfiles boxkeys", id: "box-fw-imagekeys", "aria-label": "Image signing keys" });
    this.keyList = el("div", { class: "boxlist", id: "box-fw-keys", "aria-label": "Enrolled signing keys" });
    this.keyErr = el("p", { class: "err", role: "alert", id: "box-fw-key-err" });
    this.keyName = el("input", { class: "in", type: "text", id: "box-fw-keyname", placeholder: "Key name (a-z, 0-9, - _)", "aria-label": "Name of the new signing key", maxLength: 40, autocomplete: "off", autocapitalize: "off", spellcheck: false });
    this.keyFile = el("input", { type: "file", id: "box-fw-keyfile", accept: ".pem,.crt", "aria-label": "Signing certificate (.pem, .crt)" });
    this.keyAdd = btn("Add key", () => this.addKey(), { edit: true, min: "admin" });
    this.keyAdd.id = "box-fw-keyadd";
    for (const x of [this.keyName, this.keyFile]) x.dataset.edit = "";
    this.keyFile.addEventListener("change", () => {
      // A name from the file's, when none was typed.
      const f = this.keyFile.files[0];
      if (f && !this.keyName.value) this.keyName.value = f.name.replace(/\.(pem|crt)$/i, "").toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^[-_]+/, "").slice(0, 40);
    });
    return el("div", { id: "box-fw-keyring", dataset: { min: "admin" } },
      el("h3", { text: "Owner signing keys" }),
      el("p", { class: "muted", text: "Firmware bundles signed with one of these certificates install on this box. The image's keys come with the firmware; add your own to install firmware you build and sign yourself." }),
      el("h4", { text: "From the image" }), this.keyImage,
      el("h4", { text: "Added by the owner" }), this.keyList,
      el("form", { class: "row boxform", on: { submit: (e) => { e.preventDefault(); this.keyAdd.click(); } } }, this.keyName, this.keyFile, this.keyAdd),
      this.keyErr);
  }

  buildUsers() {
    const c = this.card("box-users", "Users and tokens");
    c.dataset.min = "admin";
    this.userList = el("div", { class: "boxlist", id: "box-userlist" });
    this.usersErr = el("p", { class: "err", role: "alert" });
    const nu = this.newUser = {
      name: el("input", { class: "in", type: "text", id: "box-username", placeholder: "Name", "aria-label": "Name of the new user", maxLength: 32, autocomplete: "off", autocapitalize: "off", spellcheck: false }),
      role: roleSelect({ id: "box-userrole", "aria-label": "Role of the new user" }, "operator"),
      kind: el("select", { class: "in", id: "box-userkind", "aria-label": "Logs in with" },
        el("option", { value: "password", text: "Password" }), el("option", { value: "pin", text: "PIN" })),
      secret: el("input", { class: "in", type: "password", id: "box-usersecret", maxLength: 128, autocomplete: "new-password" }),
    };
    const secretKind = () => {
      const pin = nu.kind.value === "pin";
      nu.secret.placeholder = pin ? "PIN (4–12 digits)" : "Password (8–128 characters)";
      nu.secret.inputMode = pin ? "numeric" : "text";
      nu.secret.setAttribute("aria-label", pin ? "PIN of the new user" : "Password of the new user");
    };
    nu.kind.addEventListener("change", secretKind);
    secretKind();
    const add = btn("Add user", () => this.addUser(), { cls: "primary" });
    add.id = "box-useradd";
    this.tokenList = el("div", { class: "boxlist", id: "box-tokenlist" });
    const tokenName = el("input", { class: "in", type: "text", id: "box-tokenname", placeholder: "Name, e.g. Companion", "aria-label": "Name of the new token", maxLength: 64 });
    const tokenRole = roleSelect({ id: "box-tokenrole", "aria-label": "Role of the new token" }, "operator");
    const make = btn("New token", () => this.newToken(tokenName, tokenRole), { cls: "primary" });
    make.id = "box-tokenadd";
    c.append(
      el("p", { class: "muted", text: "A viewer watches, an operator performs, a designer also edits the show, an administrator also looks after users, tokens, the network and the firmware." }),
      this.userList, this.usersErr,
      el("h3", { text: "Add a user" }),
      el("form", { class: "row boxform", id: "box-adduser", on: { submit: (e) => { e.preventDefault(); add.click(); } } }, nu.name, nu.role, nu.kind, nu.secret, add),
      el("h3", { text: "API tokens" }),
      el("p", { class: "muted", text: "For Companion, scripts and Prometheus: they send the token's secret as “Authorization: Bearer cbx_…”." }),
      this.tokenList,
      el("form", { class: "row boxform", on: { submit: (e) => { e.preventDefault(); make.click(); } } }, tokenName, tokenRole, make),
    );
  }

  /** One dialog for every question: confirm, or ask for a name. */
  buildDialog() {
    this.dlg = {
      el: el("div", { class: "modal boxdlg", role: "dialog", "aria-modal": "true", "aria-labelledby": "box-dlgttl", hidden: true, id: "box-dialog" }),
      title: el("h2", { id: "box-dlgttl" }),
      text: el("p", { class: "muted" }),
      input: el("input", { type: "text", class: "in", "aria-label": "Name", maxLength: 200 }),
      cancel: el("button", { type: "button", class: "btn", id: "box-dlgcancel", text: "Cancel" }),
      ok: el("button", { type: "submit", class: "btn primary", id: "box-dlgok", text: "OK" }),
      resolve: null,
    };
    const d = this.dlg;
    const form = el("form", { class: "modalbox" }, d.title, d.text, d.input, el("div", { class: "modalbtns" }, d.cancel, d.ok));
    d.el.append(form);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const v = d.secret ? d.input.value : d.input.value.trim();
      if (!d.input.hidden && !v) { d.input.focus(); return; }
      this.closeDialog(d.input.hidden ? true : v);
    });
    d.cancel.addEventListener("click", () => this.closeDialog(null));
    d.el.addEventListener("keydown", (e) => { if (e.key === "Escape") this.closeDialog(null); });
    this.root.append(d.el);
  }

  /** Resolves to true (confirmed), the name typed, or null (cancelled). A
   *  secret ("password" or "pin") is typed hidden and kept as typed. */
  ask({ title, text = "", ok = "OK", danger = false, input = null, secret = null }) {
    const d = this.dlg;
    if (d.resolve) d.resolve(null);
    d.title.textContent = title;
    d.text.textContent = text;
    d.text.hidden = !text;
    d.ok.textContent = ok;
    d.ok.className = `btn ${danger ? "danger" : "primary"}`;
    if (secret) input = "";
    d.secret = !!secret;
    d.input.hidden = input == null;
    d.input.value = input ?? "";
    d.input.type = secret ? "password" : "text";
    d.input.inputMode = secret === "pin" ? "numeric" : "text";
    d.input.autocomplete = secret ? "new-password" : "off";
    d.input.setAttribute("aria-label", secret === "pin" ? "PIN" : secret ? "Password" : "Name");
    d.back = document.activeElement; // focus goes back there afterwards
    d.el.hidden = false;
    // A destructive question starts on Cancel; a name starts in the field.
    (input != null ? d.input : danger ? d.cancel : d.ok).focus();
    if (input != null) d.input.select();
    return new Promise((res) => { d.resolve = res; });
  }

  closeDialog(result) {
    const d = this.dlg;
    d.el.hidden = true;
    if (d.back?.isConnected) d.back.focus();
    const res = d.resolve;
    d.resolve = null;
    res?.(result);
  }

  // --------------------------------------------------------- contract --

  show() {
    this.visible = true;
    this.refreshAll();
    this.drawHistory();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  hide() {
    this.visible = false;
    clearInterval(this.timer);
    this.timer = 0;
    if (this.dlg.resolve) this.closeDialog(null);
  }

  onShow(show) {
    // A load or restore comes as a snapshot (a new show object) and changes
    // what the lists say; audio and settings edits keep the object.
    const fresh = show !== this.lastShow;
    this.lastShow = show;
    if (fresh && this.visible) { this.refreshShows(); this.refreshRecovery(); }
  }

  /** Every state message: sample the DSP load (cheap; also while hidden). */
  onLive(live) {
    const e = live?.engine;
    if (!e) return;
    const load = typeof e.dsp_load === "number" ? e.dsp_load : 0;
    const peak = typeof e.dsp_peak === "number" ? e.dsp_peak : load;
    const sec = Math.floor(performance.now() / 1000);
    const b = this.bucket;
    if (b && b.sec === sec) {
      b.load = Math.max(b.load, load);
      b.peak = Math.max(b.peak, peak);
    } else {
      if (b) this.pushSample(b, sec - b.sec);
      this.bucket = { sec, load, peak };
      if (this.visible) this.drawHistory();
    }
    this.live = live;
    const now = performance.now();
    if (this.visible && now - this.lastNumbers > 500) {
      this.lastNumbers = now;
      this.renderNumbers();
    }
  }

  onLock() {
    this.applyLock();
  }

  applyLock() {
    const locked = this.ctx.locked;
    for (const x of this.root.querySelectorAll("[data-edit]")) x.disabled = locked || x.dataset.busy === "1";
  }

  // ------------------------------------------------------------ data --

  refreshAll() {
    this.refreshShows();
    this.refreshExports();
    this.refreshRecovery();
    this.refreshBackups();
    this.refreshHealth();
    this.refreshPlatform();
    this.refreshFirmware();
    this.refreshKeys();
    this.pollLog();
    this.refreshUsers();
  }

  poll() {
    if (!this.visible) return;
    this.applyLock(); // cheap; also catches a lock state set before the screen was built
    this.refreshHealth();
    this.refreshFirmware();
    this.pollLog();
  }

  async refreshShows() {
    const r = await this.ctx.api("GET", "/api/shows");
    // The error line also tells why an action was refused: only a failed
    // listing is cleared by a good one.
    if (!ok(r)) { this.showsErr.textContent = `Shows: ${reason(r)}`; this.showsErr.dataset.list = "1"; return; }
    if (this.showsErr.dataset.list) { this.showsErr.textContent = ""; delete this.showsErr.dataset.list; }
    const rows = (r.body.shows || []).map((s) => {
      const name = el("div", { class: "boxname" }, el("strong", { text: s.name }),
        el("span", { class: "muted", text: ` · ${s.clips} clip${s.clips === 1 ? "" : "s"}` }),
        s.loaded ? el("span", { class: "boxtag", text: "loaded" }) : null);
      const acts = el("div", { class: "row boxacts" },
        s.loaded ? null : btn("Load", () => this.loadShow(s), { edit: true, cls: "primary", label: `Load ${s.name}`, min: "designer" }),
        btn("Duplicate", () => this.duplicateShow(s), { edit: true, label: `Duplicate ${s.name}`, min: "designer" }),
        btn("Rename", () => this.renameShow(s), { edit: true, label: `Rename ${s.name}`, min: "designer" }),
        btn("Export", (e) => this.exportShow(s, e.currentTarget), { edit: true, label: `Export ${s.name}`, min: "designer" }),
        btn("Delete", () => this.deleteShow(s), { edit: true, cls: "danger", label: `Delete ${s.name}`, min: "admin" }));
      const row = el("div", { class: "boxitem" }, name, acts);
      row.dataset.show = s.id;
      if (s.loaded) row.dataset.loaded = "";
      return row;
    });
    this.showList.replaceChildren(...rows);
    if (!rows.length) this.showList.append(el("p", { class: "muted", text: "No shows" }));
    this.applyLock();
  }

  async refreshExports() {
    const r = await this.ctx.api("GET", "/api/exports");
    if (!ok(r)) { this.exportList.replaceChildren(el("li", { class: "err", text: `Exports: ${reason(r)}` })); return; }
    this.exportLoc.textContent = r.body.location ? `(${r.body.location})` : "";
    const items = (r.body.exports || []).map((x) => el("li", {},
      el("a", { href: `/api/exports/${encodeURIComponent(x.name)}`, download: x.name, text: x.name, class: "boxfile" }),
      el("span", { class: "muted", text: ` ${fmtBytes(x.bytes)}` })));
    this.exportList.replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "None yet" })]));
  }

  async refreshRecovery() {
    const r = await this.ctx.api("GET", "/api/recovery");
    if (!ok(r)) { this.recErr.textContent = `Recovery points: ${reason(r)}`; return; }
    this.recErr.textContent = "";
    const pts = (r.body.points || []).slice().sort((a, b) => String(b.time).localeCompare(String(a.time)));
    const rows = pts.map((p) => {
      const row = el("div", { class: "boxitem" },
        el("div", { class: "boxname" }, el("strong", { text: p.name || "(unnamed)" }),
          el("span", { class: "boxtag", text: p.kind }),
          el("div", { class: "muted", text: `${fmtTime(p.time)} · revision ${val(p.revision)}` })),
        el("div", { class: "row boxacts" },
          btn("Restore", () => this.restoreRecovery(p), { edit: true, label: `Restore ${p.name}`, min: "designer" }),
          btn("Delete", () => this.deleteRecovery(p), { edit: true, cls: "danger", label: `Delete ${p.name}`, min: "designer" })));
      row.dataset.point = p.id;
      return row;
    });
    this.recList.replaceChildren(...(rows.length ? rows : [el("p", { class: "muted", text: "No recovery points yet" })]));
    this.applyLock();
  }

  async refreshBackups() {
    const r = await this.ctx.api("GET", "/api/backups");
    if (!ok(r)) { this.bakErr.textContent = `Backups: ${reason(r)}`; return; }
    this.bakLoc.textContent = r.body.location ? `In ${r.body.location}` : "";
    const list = (r.body.backups || []).slice().sort((a, b) => String(b.time).localeCompare(String(a.time)));
    const rows = list.map((b) => {
      const state = b.valid
        ? el("span", { class: "boxtag ok", text: "valid" })
        : el("span", { class: "boxtag bad", text: `damaged: ${b.problem || "unknown problem"}` });
      const row = el("div", { class: "boxitem" },
        el("div", { class: "boxname" }, el("strong", { text: fmtTime(b.time) }), state,
          el("div", { class: "muted", text: `${b.reason || ""} · ${fmtBytes(b.bytes)} · revision ${val(b.revision)}` })),
        el("div", { class: "row boxacts" },
          btn("Restore", () => this.restoreBackup(b), { edit: true, cls: b.valid ? "" : "danger", label: `Restore backup ${b.name}`, min: "admin" })));
      row.dataset.backup = b.name;
      row.dataset.valid = String(!!b.valid);
      return row;
    });
    this.bakList.replaceChildren(...(rows.length ? rows : [el("p", { class: "muted", text: "No backups yet" })]));
    this.applyLock();
  }

  async refreshUsers() {
    if (!can("admin")) return;
    const [u, t] = await Promise.all([this.ctx.api("GET", "/api/users"), this.ctx.api("GET", "/api/tokens")]);
    this.usersErr.textContent = !ok(u) ? `Users: ${reason(u)}` : !ok(t) ? `Tokens: ${reason(t)}` : "";
    if (ok(u)) {
      const rows = (u.body.users || []).map((x) => {
        const what = x.kind === "pin" ? "PIN" : "password";
        const role = roleSelect({ "aria-label": `Role of ${x.name}` }, x.role);
        role.addEventListener("change", () => this.setRole(x, role.value));
        const row = el("div", { class: "boxitem" },
          el("div", { class: "boxname" }, el("strong", { text: x.name }),
            el("span", { class: "boxtag", text: what }),
            x.must_change ? el("span", { class: "boxtag", text: "one-time password" }) : null,
            x.name === session.user ? el("span", { class: "boxtag ok", text: "you" }) : null),
          el("div", { class: "row boxacts" }, role,
            btn(`Reset ${what}`, () => this.resetSecret(x), { label: `Reset the ${what} of ${x.name}` }),
            btn("Delete", () => this.deleteUser(x), { cls: "danger", label: `Delete ${x.name}` })));
        row.dataset.user = x.name;
        return row;
      });
      this.userList.replaceChildren(...rows);
    }
    if (ok(t)) {
      const rows = (t.body.tokens || []).map((x) => {
        const row = el("div", { class: "boxitem" },
          el("div", { class: "boxname" }, el("strong", { text: x.name }), el("span", { class: "boxtag", text: x.role }),
            el("div", { class: "muted", text: `made ${fmtTime(x.created)} by ${val(x.user)}` })),
          el("div", { class: "row boxacts" }, btn("Delete", () => this.deleteToken(x), { cls: "danger", label: `Delete token ${x.name}` })));
        row.dataset.token = x.id;
        return row;
      });
      this.tokenList.replaceChildren(...(rows.length ? rows : [el("p", { class: "muted", text: "No tokens" })]));
    }
  }

  async refreshHealth() {
    const r = await this.ctx.api("GET", "/api/health");
    if (!ok(r) && !(r.status === 503 && r.body?.status)) {
      this.healthErr.textContent = `Health: ${reason(r)}`;
      return;
    }
    this.healthErr.textContent = "";
    this.health = r.body;
    this.renderNumbers();
    this.renderFirmware();
  }

  async refreshPlatform() {
    const [p, s] = await Promise.all([this.ctx.api("GET", "/api/platform"), this.ctx.api("GET", "/api/store")]);
    if (ok(p)) {
      const b = p.body, os = b.os || {}, hw = b.hardware || {}, en = b.engine || {}, sc = en.scheduling || {};
      this.facts_(this.platform, [
        ["System", [os.system, os.release].filter(Boolean).join(" ") || "–"],
        ["Hardware", `${val(hw.machine)}, ${val(hw.cpus)} CPU${hw.cpus === 1 ? "" : "s"}, ${fmtBytes(hw.memory_bytes)}`],
        ["Engine", en.sample_rate ? `${en.sample_rate} Hz, ${val(en.period)} frames, ${val(sc.policy)}${sc.priority != null ? " " + sc.priority : ""}` : "not connected"],
      ]);
    } else this.facts_(this.platform, [["Platform", reason(p)]]);
    if (ok(s)) {
      const b = s.body;
      const mig = (b.migrations || []).map((m) => `${m.from}→${m.to} ${fmtTime(m.time)}${m.backup ? " (backup " + m.backup + ")" : ""}`);
      this.facts_(this.store, [
        ["Format", val(b.format_version)],
        ["Read-only", b.read_only ? `yes${b.read_only_reason ? ": " + b.read_only_reason : ""}` : "no"],
        ["Migrations", mig.length ? mig.join("; ") : "none"],
      ]);
    } else this.facts_(this.store, [["Store", reason(s)]]);
  }

  // --------------------------------------------------------- actions --

  async newShow(input) {
    const name = input.value.trim();
    if (!name) { input.focus(); return; }
    const r = await this.ctx.edit("POST", "/api/shows", { name });
    if (!r) return;
    input.value = "";
    this.ctx.toast(`Show “${r.body.name}” created`, "info");
    this.refreshShows();
  }

  async loadShow(s) {
    const yes = await this.ask({ title: `Load “${s.name}”?`, text: "This changes what plays on every tablet. A recovery point of the current show is taken first.", ok: "Load", danger: true });
    if (!yes) return;
    const r = await this.ctx.edit("POST", `/api/shows/${s.id}/load`);
    if (r) this.ctx.toast(`“${s.name}” loaded`, "info");
    this.refreshShows();
    this.refreshRecovery();
  }

  async duplicateShow(s) {
    const name = await this.ask({ title: `Duplicate “${s.name}”`, text: "A full copy: layout, clips, audio, settings, mappings.", ok: "Duplicate", input: `${s.name} copy` });
    if (!name) return;
    const r = await this.ctx.edit("POST", `/api/shows/${s.id}/duplicate`, { name });
    if (r) this.ctx.toast(`“${r.body.name}” created`, "info");
    this.refreshShows();
  }

  async renameShow(s) {
    const name = await this.ask({ title: `Rename “${s.name}”`, ok: "Rename", input: s.name });
    if (!name || name === s.name) return;
    if (await this.ctx.edit("PATCH", `/api/shows/${s.id}`, { name })) this.refreshShows();
  }

  async deleteShow(s) {
    const yes = await this.ask({ title: `Delete “${s.name}”?`, text: "The show goes with its history and recovery points (the store is backed up first).", ok: "Delete", danger: true });
    if (!yes) return;
    this.showsErr.textContent = "";
    const r = await this.ctx.api("DELETE", `/api/shows/${s.id}`);
    if (ok(r)) this.ctx.toast(`“${s.name}” deleted`, "info");
    else {
      this.showsErr.textContent = `Delete “${s.name}”: ${reason(r)}`;
      this.ctx.toast(`Delete “${s.name}”: ${reason(r)}`, "error");
    }
    this.refreshShows();
    this.refreshBackups();
  }

  async busy(button, text, fn) {
    const old = button.textContent;
    button.dataset.busy = "1";
    button.disabled = true;
    button.textContent = text;
    try { return await fn(); } finally {
      delete button.dataset.busy;
      button.textContent = old;
      this.applyLock();
    }
  }

  async exportShow(s, button) {
    const r = await this.busy(button, "Exporting…", () => this.ctx.edit("POST", `/api/shows/${s.id}/export`));
    if (!r) return;
    const b = r.body;
    const a = el("a", { href: `/api/exports/${encodeURIComponent(b.name)}`, download: b.name, class: "btn boxlink", id: "box-exportdl", text: `Download ${b.name}` });
    const miss = b.missing_media ? ` · ${b.missing_media} clip(s) without their file` : "";
    this.exportLink.replaceChildren(el("span", { text: `Exported “${s.name}”: ${fmtBytes(b.bytes)}, ${val(b.media_files)} media files${miss} ` }), a);
    this.exportLink.hidden = false;
    this.refreshExports();
  }

  /** Streams the chosen bundle with XMLHttpRequest for its upload progress. */
  importBundle() {
    const f = this.impFile.files[0];
    if (!f) { this.impText.textContent = "Choose a .cuebox bundle first"; this.impFile.focus(); return; }
    const name = this.impName.value.trim();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/shows/import${name ? "?name=" + encodeURIComponent(name) : ""}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader(...csrfHeader());
    this.impBtn.dataset.busy = "1";
    this.applyLock();
    this.impBar.hidden = false;
    this.impBar.value = 0;
    this.impText.textContent = "Uploading…";
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      this.impBar.value = e.loaded / e.total;
      this.impText.textContent = e.loaded < e.total ? `Uploading ${fmtBytes(e.loaded)} of ${fmtBytes(e.total)}` : "Checking the bundle…";
    });
    const done = (text, kind) => {
      delete this.impBtn.dataset.busy;
      this.applyLock();
      this.impText.textContent = text;
      this.ctx.toast(text, kind);
    };
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) {
        this.impBar.value = 1;
        this.impFile.value = "";
        this.impName.value = "";
        done(`Imported as show ${body?.id} with ${body?.media_files ?? 0} media files`, "info");
        this.refreshShows();
        this.refreshRecovery(); // the box took a before_import point
      } else {
        const e = body?.error || {};
        done(`Import refused: ${e.reason || "HTTP " + xhr.status}`, "error");
      }
    });
    xhr.addEventListener("error", () => done("Import failed: the box cannot be reached", "error"));
    xhr.send(f);
  }

  async createRecovery(input) {
    const name = input.value.trim();
    if (!name) { input.focus(); return; }
    const r = await this.ctx.edit("POST", "/api/recovery", { name });
    if (!r) return;
    input.value = "";
    this.ctx.toast(`Recovery point “${name}” created`, "info");
    this.refreshRecovery();
  }

  async restoreRecovery(p) {
    const yes = await this.ask({ title: `Restore “${p.name}”?`, text: `The show goes back to how it was at ${fmtTime(p.time)}. Undo can bring it back.`, ok: "Restore", danger: true });
    if (!yes) return;
    const r = await this.ctx.edit("POST", `/api/recovery/${p.id}/restore`);
    if (r) this.ctx.toast(`Restored “${p.name}”`, "info");
  }

  async deleteRecovery(p) {
    const yes = await this.ask({ title: `Delete recovery point “${p.name}”?`, ok: "Delete", danger: true });
    if (!yes) return;
    if (await this.ctx.edit("DELETE", `/api/recovery/${p.id}`)) this.refreshRecovery();
  }

  async makeBackup(button) {
    this.bakErr.textContent = "";
    const r = await this.busy(button, "Backing up…", () => this.ctx.edit("POST", "/api/backups"));
    if (r) this.ctx.toast(`Backup made: ${fmtBytes(r.body?.bytes)}`, "info");
    this.refreshBackups();
  }

  async restoreBackup(b) {
    const yes = await this.ask({
      title: "Restore this backup?",
      text: `Every show on the box goes back to the backup of ${fmtTime(b.time)} (${b.reason || b.name}).`,
      ok: "Restore", danger: true,
    });
    if (!yes) return;
    this.bakErr.textContent = "";
    const r = await this.ctx.api("POST", `/api/backups/${encodeURIComponent(b.name)}/restore`);
    if (ok(r)) {
      this.ctx.toast("Backup restored", "info");
    } else {
      // 409: the backup is damaged (the reason names the damage) or busy.
      this.bakErr.textContent = `Not restored: ${reason(r)}`;
      this.ctx.toast(`Backup not restored: ${reason(r)}`, "error");
    }
    this.refreshBackups();
    this.refreshShows();
  }

  // ------------------------------------------------------------ users --

  async addUser() {
    const nu = this.newUser;
    const name = nu.name.value.trim();
    if (!name) { nu.name.focus(); return; }
    const r = await this.ctx.edit("POST", "/api/users", { name, role: nu.role.value, [nu.kind.value]: nu.secret.value });
    if (!r) return;
    nu.name.value = nu.secret.value = "";
    this.ctx.toast(`User “${name}” added`, "info");
    this.refreshUsers();
  }

  async setRole(u, role) {
    if (await this.ctx.edit("PATCH", `/api/users/${encodeURIComponent(u.name)}`, { role })) {
      if (u.name === session.user) location.reload(); // this page's own role changed
      this.ctx.toast(`${u.name} is now ${role}`, "info");
    }
    this.refreshUsers(); // refused: the select shows the role the box has
  }

  async resetSecret(u) {
    const pin = u.kind === "pin";
    const secret = await this.ask({
      title: `New ${pin ? "PIN" : "password"} for ${u.name}`, text: pin ? "4 to 12 digits." : "8 to 128 characters.",
      ok: "Set", secret: pin ? "pin" : "password",
    });
    if (!secret) return;
    const r = await this.ctx.edit("PATCH", `/api/users/${encodeURIComponent(u.name)}`, { [pin ? "pin" : "password"]: secret });
    if (!r) return;
    this.ctx.toast(`New ${pin ? "PIN" : "password"} set for ${u.name}`, "info");
    this.refreshUsers();
  }

  async deleteUser(u) {
    const yes = await this.ask({ title: `Delete the user “${u.name}”?`, text: "Wherever they are logged in, they are logged out.", ok: "Delete", danger: true });
    if (!yes) return;
    if (await this.ctx.edit("DELETE", `/api/users/${encodeURIComponent(u.name)}`)) this.ctx.toast(`User “${u.name}” deleted`, "info");
    this.refreshUsers();
  }

  async newToken(name, role) {
    const n = name.value.trim();
    if (!n) { name.focus(); return; }
    const r = await this.ctx.edit("POST", "/api/tokens", { name: n, role: role.value });
    if (!r) return;
    name.value = "";
    this.refreshUsers();
    this.showSecret(r.body.token || { name: n, role: role.value }, r.body.secret);
  }

  async deleteToken(t) {
    const yes = await this.ask({ title: `Delete the token “${t.name}”?`, text: "Whatever uses it is refused from then on.", ok: "Delete", danger: true });
    if (!yes) return;
    if (await this.ctx.edit("DELETE", `/api/tokens/${encodeURIComponent(t.id)}`)) this.ctx.toast(`Token “${t.name}” deleted`, "info");
    this.refreshUsers();
  }

  /** A new token's secret, this once, with a copy button. */
  showSecret(t, secret) {
    const back = document.activeElement; // focus goes back there afterwards
    const input = el("input", { type: "text", class: "in boxsecret", id: "box-secret", value: secret, readOnly: true, "aria-label": "Secret of the token", spellcheck: false });
    input.addEventListener("focus", () => input.select());
    const copy = btn("Copy", async () => {
      input.select();
      let done = true;
      try { await navigator.clipboard.writeText(secret); } catch { done = document.execCommand("copy"); } // no clipboard API over plain http
      this.ctx.toast(done ? "Secret copied" : "Could not copy: select the secret and copy it", done ? "info" : "warn");
    }, { cls: "primary" });
    copy.id = "box-secretcopy";
    const close = btn("Done", () => { dlg.remove(); back?.focus(); });
    close.id = "box-secretdone";
    const dlg = el("div", { class: "modal boxdlg", role: "dialog", "aria-modal": "true", "aria-labelledby": "box-secretttl", id: "box-secretdlg" },
      el("div", { class: "modalbox" },
        el("h2", { id: "box-secretttl", text: `Token “${t.name}” (${t.role})` }),
        el("p", { class: "muted", text: "Copy the secret now: it is not shown again. Whatever uses the token sends it as “Authorization: Bearer …”." }),
        input,
        el("div", { class: "modalbtns" }, copy, close)));
    dlg.addEventListener("keydown", (e) => { if (e.key === "Escape") close.click(); });
    this.root.append(dlg);
    input.focus();
  }

  // -------------------------------------------------------------- log --

  /** The newest entries of the chosen kind, newest first (the box filters
   *  by kind before it counts the limit). */
  async pollLog() {
    const L = this.log;
    if (L.busy) return;
    L.busy = true;
    try {
      const k = this.kind.value;
      const r = await this.ctx.api("GET", `/api/log?format=json&order=newest&limit=${LOG_SHOWN}${k ? "&kind=" + encodeURIComponent(k) : ""}`);
      if (!ok(r)) { this.logErr.textContent = `Event log: ${reason(r)}`; return; }
      this.logErr.textContent = "";
      L.entries = r.body.entries || [];
      for (const e of L.entries) this.addKind(e.kind);
    } finally {
      L.busy = false;
    }
    this.renderLog();
  }

  addKind(k) {
    if (!k || [...this.kind.options].some((o) => o.value === k)) return;
    this.kind.append(el("option", { value: k, text: k }));
  }

  renderLog() {
    const kind = this.kind.value;
    const rows = [];
    for (const e of this.log.entries) {
      if (kind && e.kind !== kind) continue; // an answer to the previous filter
      const tr = el("tr", {},
        el("td", { title: e.time, text: fmtTime(e.time) }),
        el("td", { text: e.kind }), el("td", { text: e.source }), el("td", { text: e.client || "–" }),
        el("td", { text: e.detail + (e.time_source ? ` (${e.time_source})` : "") }));
      tr.dataset.kind = e.kind;
      rows.push(tr);
    }
    this.logBody.replaceChildren(...rows);
    this.logCount.textContent = `${rows.length} newest shown`;
  }

  updateLogLinks() {
    const k = this.kind.value;
    const stamp = new Date().toISOString().slice(0, 10);
    for (const [f, a] of Object.entries(this.logLinks)) {
      a.href = `/api/log?format=${f}&limit=100000${k ? "&kind=" + encodeURIComponent(k) : ""}`;
      a.download = `cuebox-log${k ? "-" + k : ""}-${stamp}.${f}`;
    }
  }

  // ----------------------------------------------------------- health --

  pushSample(b, gap) {
    // Seconds without a state message (the box sends one at least every
    // second) are drawn as gaps (NaN).
    for (let i = 1; i < Math.min(gap, HISTORY_S); ++i) this.put(NaN, NaN);
    this.put(b.load, b.peak);
  }

  put(load, peak) {
    const h = this.hist;
    h.load[h.head] = load;
    h.peak[h.head] = peak;
    h.head = (h.head + 1) % HISTORY_S;
    h.n = Math.min(HISTORY_S, h.n + 1);
  }

  drawHistory() {
    const c = this.canvas;
    // Match the drawing buffer to the shown size (crisp on any screen).
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(c.clientWidth * dpr), hgt = Math.round(c.clientHeight * dpr);
    if (w > 0 && hgt > 0 && (c.width !== w || c.height !== hgt)) { c.width = w; c.height = hgt; }
    const g = c.getContext("2d");
    const W = c.width, H = c.height;
    const h = this.hist;
    const n = h.n;
    const at = (arr, i) => arr[(h.head - n + i + HISTORY_S) % HISTORY_S];
    // The scale follows the highest peak (at least 0-25%, at most 0-100%),
    // so a quiet box still shows its load.
    let top = 0;
    for (let i = 0; i < n; ++i) top = Math.max(top, at(h.peak, i) || 0, at(h.load, i) || 0);
    const scale = [0.25, 0.5, 1].find((x) => top <= x * 0.95) ?? 1;
    this.scaleText.textContent = `scale 0–${scale * 100}%`;
    g.fillStyle = "#0a0c0f";
    g.fillRect(0, 0, W, H);
    const y = (v) => H - 2 - Math.min(1, Math.max(0, v / scale)) * (H - 4);
    g.lineWidth = Math.max(1, dpr);
    g.setLineDash([4 * dpr, 4 * dpr]);
    for (const [v, col] of [[scale / 2, "#2c343e"], [0.8, "#fbbf24"], [0.9, "#ff4b4b"]]) {
      if (v > scale) continue;
      g.strokeStyle = col;
      g.beginPath(); g.moveTo(0, y(v)); g.lineTo(W, y(v)); g.stroke();
    }
    g.setLineDash([]);
    g.fillStyle = "#aab4bf";
    g.font = `${13 * dpr}px system-ui, sans-serif`;
    g.textBaseline = "top";
    g.fillText(`${scale * 50}%`, 4 * dpr, y(scale / 2) + 2 * dpr);
    // Newest at the right edge; seconds without a sample are gaps (NaN).
    const x = (i) => W - 1 - ((n - 1 - i) * (W - 1)) / (HISTORY_S - 1);
    const series = (arr, colour, fill) => {
      for (let i = 0; i < n; ++i) {
        if (Number.isNaN(at(arr, i))) continue;
        let j = i;  // one run of samples without a gap: i..j
        while (j + 1 < n && !Number.isNaN(at(arr, j + 1))) ++j;
        g.beginPath();
        g.moveTo(x(i), y(at(arr, i)));
        for (let k = i + 1; k <= j; ++k) g.lineTo(x(k), y(at(arr, k)));
        g.strokeStyle = colour;
        g.lineWidth = 2 * dpr;
        g.stroke();
        if (fill && j > i) {
          g.lineTo(x(j), H);
          g.lineTo(x(i), H);
          g.fillStyle = fill;
          g.fill();
        }
        i = j;
      }
    };
    series(h.peak, "#aab4bf", null);
    series(h.load, "#7cc4ff", "rgba(124, 196, 255, 0.25)");
  }

  facts_(dl, pairs) {
    const kids = [];
    for (const [k, v] of pairs) kids.push(el("dt", { text: k }), el("dd", { text: v }));
    dl.replaceChildren(...kids);
  }

  renderNumbers() {
    const h = this.health || {};
    const e = this.live?.engine || h.engine || {};
    const v = this.live?.voices || this.ctx.model.voices || {};
    const web = h.web || {}, sys = h.system || {};
    const load = e.dsp_load;
    this.dspNow.textContent = pct(load);
    this.dspNow.dataset.level = load >= 0.9 ? "bad" : load >= 0.8 ? "warn" : "ok";
    this.dspPeak.textContent = `peak ${pct(e.dsp_peak)}`;
    const rel = (free, total, word) => (typeof free === "number" && typeof total === "number" ? `${fmtBytes(free)} ${word} of ${fmtBytes(total)}` : "–");
    this.facts_(this.facts, [
      ["Status", val(h.status)],
      ["Engine", e.connected === false ? "not connected" : e.connected ? "connected" : "–"],
      ["Xruns", val(e.xruns)],
      ["Voices", v.pool != null ? `${v.active ?? 0} of ${v.pool}${v.load_state && v.load_state !== "normal" ? " (" + v.load_state + ")" : ""}` : "–"],
      ["Stream underruns", val(e.stream_underruns)],
      ["Web uptime", fmtUptime(web.uptime_s)],
      ["WebSocket clients", val(web.ws_clients)],
      ["Memory", rel(sys.memory_available_bytes, sys.memory_total_bytes, "available")],
      ["Web process", fmtBytes(sys.web_rss_bytes)],
      ["Disk", rel(sys.disk_free_bytes, sys.disk_total_bytes, "free")],
      ["Data folder", val(sys.data_dir)],
    ]);
  }

  // ------------------------------------------------------- firmware --

  async refreshFirmware() {
    const r = await this.ctx.api("GET", "/api/firmware");
    if (!ok(r)) { this.fwErr.textContent = `Firmware: ${reason(r)}`; return; }
    this.firmware = r.body;
    this.renderFirmware();
    this.fwFollow();
  }

  /** A `firmware` WebSocket message (install progress, a checked bundle,
   * the slots): merged into what GET /api/firmware said. */
  onFirmware(msg) {
    if (!this.firmware) return;
    for (const k of ["job", "checking", "bundle", "reboot_required", "booted_slot", "slots"])
      if (k in msg) this.firmware[k] = msg[k];
    if (msg.reboot === "requested") this.fwJob.textContent = "Restarting the box…";
    this.renderFirmware();
    this.fwFollow();
  }

  /** While an install runs or a bundle is checked: a GET a second. */
  fwFollow() {
    const f = this.firmware || {};
    const running = f.job?.state === "installing" || f.checking;
    clearTimeout(this.fwTimer);
    if (running && this.visible) this.fwTimer = setTimeout(() => this.refreshFirmware(), 1000);
  }

  renderFirmware() {
    const h = this.health?.firmware || {};
    const f = this.firmware || {};
    const img = f.image_version ? `${f.image_version}${f.image_build ? " (" + f.image_build + ")" : ""}` : "not an installed image";
    this.facts_(this.fw, [
      ["Version", val(f.version || h.version)],
      ["Commit", val(f.commit || h.commit)],
      ["Built", h.built ? fmtTime(h.built) : "–"],
      ["Image", this.firmware ? img : "–"],
      ["Board", val(f.board)],
      ["Compatible", val(f.compatible)],
      ["Running from", val(f.booted_slot)],
      ["Updates", !this.firmware ? "–" : f.available ? "available" : `not available${f.unavailable_reason ? ": " + f.unavailable_reason : ""}`],
    ]);
    const slots = Array.isArray(f.slots) ? f.slots : [];
    this.fwSlots.replaceChildren(...(slots.length ? slots.map((s) => {
      const bits = [s.state, s.bundle_version ? `version ${s.bundle_version}` : "", s.installed_timestamp ? `installed ${fmtTime(s.installed_timestamp)}` : ""].filter(Boolean);
      const li = el("li", { class: "boxslot", dataset: { slot: s.name } },
        el("strong", { text: `${val(s.bootname)} ` }), el("span", { class: "muted", text: `${s.name} · ${bits.join(" · ")}` }));
      if (s.booted) { li.dataset.booted = ""; li.append(el("span", { class: "boxtag ok", text: "running" })); }
      if (s.boot_status) li.append(el("span", { class: `boxtag ${s.boot_status === "good" ? "ok" : s.boot_status === "bad" ? "bad" : ""}`.trim(), text: s.boot_status }));
      return li;
    }) : [el("li", { class: "muted", text: f.slots_error ? `Slots unknown: ${f.slots_error}` : "No slot information" })]));
    // The update controls.
    const job = f.job || { state: "idle", percent: 0 };
    const installing = job.state === "installing";
    const b = f.bundle;
    if (b) {
      const same = b.compatible === f.compatible;
      this.fwBundle.textContent = `Checked bundle: version ${val(b.version)}${b.build ? " (build " + b.build + ")" : ""} for ${val(b.compatible)}` +
        `${same ? " — fits this box" : ""} · ${fmtBytes(b.size)}${b.sha256 ? " · SHA-256 " + b.sha256.slice(0, 16) + "…" : ""}` +
        `${b.description ? " · " + b.description : ""}`;
    } else {
      this.fwBundle.textContent = f.checking ? "Checking the bundle…" : f.available === false ? "" : "No bundle uploaded";
    }
    const canInstall = f.available && b && !installing && !f.checking;
    if (canInstall) delete this.fwInstall.dataset.busy; else this.fwInstall.dataset.busy = "1";
    const canUpload = f.available && !installing && !f.checking && !this.fwUploading;
    if (canUpload) delete this.fwUpload.dataset.busy; else this.fwUpload.dataset.busy = "1";
    this.fwBar.hidden = job.state === "idle";
    this.fwBar.value = typeof job.percent === "number" ? job.percent : 0;
    this.fwBar.dataset.state = job.state;
    this.fwJob.textContent =
      job.state === "installing" ? `Installing: ${job.percent ?? 0}% ${job.message || ""}` :
      job.state === "done" ? (job.message || "Installed") :
      job.state === "failed" ? `Install failed: ${job.error || job.message || "unknown error"}` : "";
    this.fwReboot.hidden = !f.reboot_required;
    this.fwAdmin.hidden = this.firmware ? !f.available : false;
    this.applyLock();
  }

  /** Streams the chosen bundle with XMLHttpRequest for its upload progress;
   * the box then checks it (signature, key, compatible, payload). */
  uploadFirmware() {
    const f = this.fwFile.files[0];
    if (!f) { this.fwUpText.textContent = "Choose a .raucb bundle first"; this.fwFile.focus(); return; }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/firmware/bundle");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader(...csrfHeader());
    this.fwUploading = true;
    this.fwErr.textContent = "";
    this.renderFirmware();
    this.fwUpBar.hidden = false;
    this.fwUpBar.value = 0;
    this.fwUpText.textContent = "Uploading…";
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      this.fwUpBar.value = e.loaded / e.total;
      this.fwUpText.textContent = e.loaded < e.total ? `Uploading ${fmtBytes(e.loaded)} of ${fmtBytes(e.total)}` : "Checking the bundle…";
    });
    const done = (text, kind) => {
      this.fwUploading = false;
      this.fwUpText.textContent = text;
      this.ctx.toast(text, kind);
      this.refreshFirmware();
    };
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) {
        this.fwUpBar.value = 1;
        this.fwFile.value = "";
        done(`Bundle accepted: version ${val(body?.bundle?.version)}`, "info");
      } else {
        const e = body?.error || {};
        this.fwUpBar.hidden = true;
        this.fwErr.textContent = `Bundle refused: ${e.reason || "HTTP " + xhr.status}`;
        done(`Bundle refused: ${e.reason || "HTTP " + xhr.status}`, "error");
      }
    });
    xhr.addEventListener("error", () => done("Upload failed: the box cannot be reached", "error"));
    xhr.send(f);
  }

  async installFirmware() {
    const b = this.firmware?.bundle;
    if (!b) return;
    const yes = await this.ask({ title: `Install version ${val(b.version)}?`, text: "It goes into the other slot; the box runs it after a restart. Playback goes on meanwhile.", ok: "Install" });
    if (!yes) return;
    this.fwErr.textContent = "";
    const r = await this.ctx.api("POST", "/api/firmware/install");
    if (!ok(r)) { this.fwErr.textContent = `Install: ${reason(r)}`; this.ctx.toast(`Install: ${reason(r)}`, "error"); }
    this.refreshFirmware();
  }

  // ------------------------------------------------- signing keys --

  async refreshKeys() {
    if (!can("admin")) return;
    const r = await this.ctx.api("GET", "/api/firmware/keys");
    if (!ok(r)) { this.keyErr.textContent = `Signing keys: ${reason(r)}`; return; }
    if (this.keyErr.dataset.list) { this.keyErr.textContent = ""; delete this.keyErr.dataset.list; }
    const fp = (k) => (k.sha256 ? k.sha256.slice(0, 23) + "…" : "–");
    const line = (k) => [k.is_ca ? "CA" : "", `SHA-256 ${fp(k)}`, k.not_after ? `expires ${k.not_after.slice(0, 10)}` : ""].filter(Boolean).join(" · ");
    const image = r.body.image_keys || [];
    this.keyImage.replaceChildren(...(image.length ? image.map((k) => {
      const li = el("li", { class: "boxkey", dataset: { key: k.name }, title: k.sha256 || "" },
        el("strong", { text: val(k.subject) }), el("span", { class: "muted", text: ` ${k.name} · ${line(k)}` }));
      return li;
    }) : [el("li", { class: "muted", text: `None in ${val(r.body.image_keyring)}` })]));
    const mine = r.body.keys || [];
    this.keyList.replaceChildren(...(mine.length ? mine.map((k) => {
      const row = el("div", { class: "boxitem", title: k.sha256 || "" },
        el("div", { class: "boxname" }, el("strong", { text: k.name }),
          k.error ? el("span", { class: "boxtag bad", text: k.error }) : null,
          el("div", { text: val(k.subject) }),
          el("div", { class: "muted", text: line(k) })),
        el("div", { class: "row boxacts" }, btn("Remove", () => this.removeKey(k), { edit: true, cls: "danger", label: `Remove signing key ${k.name}`, min: "admin" })));
      row.dataset.key = k.name;
      return row;
    }) : [el("p", { class: "muted", text: "No keys added" })]));
    this.applyLock();
  }

  /** Reads the chosen certificate in the browser and sends its text. */
  async addKey() {
    const name = this.keyName.value.trim();
    const f = this.keyFile.files[0];
    this.keyErr.textContent = "";
    if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(name)) { this.keyErr.textContent = "Name: 1 to 40 characters a-z, 0-9, - and _, starting with a letter or digit"; this.keyName.focus(); return; }
    if (!f) { this.keyErr.textContent = "Choose a certificate file (.pem or .crt) first"; this.keyFile.focus(); return; }
    if (f.size > 32 * 1024) { this.keyErr.textContent = "That file is too large for a certificate"; return; }
    let pem;
    try {
      pem = await new Promise((resolve, reject) => {
        const rd = new FileReader();
        rd.onload = () => resolve(rd.result);
        rd.onerror = () => reject(rd.error);
        rd.readAsText(f);
      });
    } catch (e) { this.keyErr.textContent = `Cannot read ${f.name}: ${e?.message || e}`; return; }
    this.keyAdd.dataset.busy = "1";
    this.applyLock();
    const r = await this.ctx.api("POST", "/api/firmware/keys", { name, pem });
    delete this.keyAdd.dataset.busy;
    if (ok(r)) {
      this.keyName.value = "";
      this.keyFile.value = "";
      this.ctx.toast(`Signing key “${name}” added: ${val(r.body.key?.subject)}`, "info");
    } else {
      const e = r.body?.error;
      this.keyErr.textContent = e?.field === "pem" ? `Certificate refused: ${e.reason}` : e?.field === "name" ? `Name ${e.reason}` : `Add key: ${reason(r)}`;
    }
    this.refreshKeys();
  }

  async removeKey(k) {
    const yes = await this.ask({ title: `Remove signing key “${k.name}”?`, text: `Bundles signed only with ${val(k.subject)} will be refused from now on.`, ok: "Remove", danger: true });
    if (!yes) return;
    this.keyErr.textContent = "";
    const r = await this.ctx.api("DELETE", `/api/firmware/keys/${encodeURIComponent(k.name)}`);
    if (ok(r)) this.ctx.toast(`Signing key “${k.name}” removed`, "info");
    else this.keyErr.textContent = `Remove “${k.name}”: ${reason(r)}`;
    this.refreshKeys();
  }

  async rebootBox() {
    const yes = await this.ask({ title: "Restart the box now?", text: "Playback stops while the box restarts into the new firmware (about a minute).", ok: "Restart", danger: true });
    if (!yes) return;
    const r = await this.ctx.api("POST", "/api/firmware/reboot");
    if (ok(r)) { this.fwJob.textContent = "Restarting the box…"; this.ctx.toast("The box is restarting", "info"); }
    else { this.fwErr.textContent = `Restart: ${reason(r)}`; this.ctx.toast(`Restart: ${reason(r)}`, "error"); }
  }
}
