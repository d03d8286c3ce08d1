// The media panel: import files from this device (many at once, a progress
// bar per file and one overall: the upload is the first half of a file's
// bar, the box's decoding, resampling and analysis the second), and missing
// media: check the show, see the candidates the box found with their scores
// and confirm one. Protocol: docs/PROTOCOL.md ("Media").

import { confirmDialog } from "./dom.js";
import { csrfHeader } from "./auth.js";

const $ = (id) => document.getElementById(id);

export class MediaPanel {
  /**
   * @param {{place: () => ({page:number, tab:number}|null), toast: (text:string, level?:string) => void}} hooks
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.rows = new Map(); // upload key -> {el, bar, text, upload, job, state}
    this.byJob = new Map(); // job id -> row
    this.lastJob = new Map(); // job id -> its newest message (it may beat the upload's answer)
    this.boxJobs = new Map(); // job id -> rows of an import of files on the box
    this.queue = [];
    this.uploading = false;
    this.panel = $("mediapanel");
    $("media-files").addEventListener("change", (e) => {
      this.add([...e.target.files]);
      e.target.value = "";
    });
    const drop = $("media-drop");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      this.add([...(e.dataTransfer?.files || [])]);
    });
    $("media-check").addEventListener("click", () => this.check());
    $("media-folder").addEventListener("submit", (e) => {
      e.preventDefault();
      const path = $("media-path").value.trim();
      if (path) this.importOnBox({ path }, path);
    });
    $("media-take-a").addEventListener("click", () => this.importOnBox({ recording: "A" }, "last take of record A"));
    $("media-take-b").addEventListener("click", () => this.importOnBox({ recording: "B" }, "last take of record B"));
  }

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    if (open) {
      this.refreshMissing();
      this.refreshLibrary();
    }
  }

  /** The show's library: a row per media file with its analysis in short. */
  async refreshLibrary() {
    let body;
    try { body = await (await fetch("/api/media")).json(); } catch { return; }
    const list = $("media-library");
    list.replaceChildren();
    const media = (body.media || []).slice().sort((x, y) => x.name.localeCompare(y.name));
    $("media-lib-count").textContent = `(${media.length})`;
    for (const m of media) {
      const a = m.analysis || {};
      const t = a.tempo || {};
      const li = document.createElement("li");
      li.className = "lrow";
      li.dataset.media = m.id;
      const name = document.createElement("button");
      name.type = "button";
      name.className = "lname";
      name.textContent = m.name;
      name.addEventListener("click", () => this.showDetail(m.id));
      const facts = document.createElement("span");
      facts.className = "lfacts";
      facts.textContent = [
        fmtS(a.duration_s), m.format, `${a.loudness_lufs > -199 ? a.loudness_lufs.toFixed(1) : "–"} LUFS`,
        `${a.true_peak_db > -199 ? a.true_peak_db.toFixed(1) : "–"} dBTP`,
        t.bpm > 0 ? `${t.bpm.toFixed(1)} BPM (${Math.round((t.confidence || 0) * 100)}%)` : "no steady beat",
        `${(m.used_by || []).length} clip(s)`,
      ].join(" · ");
      li.append(name, facts);
      list.append(li);
    }
  }

  /** One media file: facts, waveform with beat markers and sections. */
  async showDetail(id) {
    let body;
    try { body = await (await fetch(`/api/media/${id}`)).json(); } catch { return; }
    const m = body.media;
    if (!m) return;
    const a = m.analysis || {};
    const t = a.tempo || {};
    $("media-detail").hidden = false;
    $("md-name").textContent = m.name;
    $("md-facts").textContent = `${fmtS(a.duration_s)}, ${m.source_channels} ch, ${m.source_rate} Hz ${m.format}` +
      ` → ${m.rate} Hz; peak ${a.peak_db?.toFixed(1)} dBFS; silence ${a.leading_silence_s?.toFixed(2)} s / ${a.trailing_silence_s?.toFixed(2)} s`;
    const sections = (t.sections || []).map((x) => `${fmtS(x.start_s)}–${fmtS(x.end_s)}: ${x.bpm > 0 ? `${x.bpm.toFixed(1)} BPM` : "no beat"}`);
    const alts = (t.alternatives || []).slice(0, 3).map((x) => `${x.bpm.toFixed(1)} (${Math.round(x.confidence * 100)}%)`);
    $("md-tempo").textContent = t.bpm > 0
      ? `Tempo ${t.bpm.toFixed(1)} BPM, confidence ${Math.round(t.confidence * 100)}%` +
        (alts.length ? `; also ${alts.join(", ")}` : "") + `; ${(t.beats || []).length} beats; sections ${sections.join(", ")}`
      : "No steady beat";
    drawWave($("md-wave"), m.waveform || {}, t.beats || [], a.duration_s || 0);
  }

  /** Queues files for upload; each gets its row and bar at once. */
  add(files) {
    const place = $("media-place").checked ? this.hooks.place() : null;
    const target = $("media-target").value;
    for (const f of files) {
      const key = `${Date.now()}-${Math.random()}`;
      const el = document.createElement("li");
      el.className = "mrow";
      el.dataset.state = "queued";
      el.innerHTML = `<span class="mname"></span><progress max="1" value="0"></progress><span class="mstate">waiting</span>`;
      el.querySelector(".mname").textContent = f.name;
      $("media-list").append(el);
      const row = { el, bar: el.querySelector("progress"), text: el.querySelector(".mstate"), upload: 0, job: 0, state: "queued" };
      this.rows.set(key, row);
      this.queue.push({ file: f, row, place, target });
    }
    this.overall();
    this.pump();
  }

  /** Uploads the queue one file at a time (the box imports in order anyway). */
  pump() {
    if (this.uploading || !this.queue.length) return;
    this.uploading = true;
    const { file, row, place, target } = this.queue.shift();
    let q = `/api/media/upload?name=${encodeURIComponent(file.name)}&target=${target}`;
    if (place) q += `&page=${place.page}&tab=${place.tab}&row=0&col=0`;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", q);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader(...csrfHeader());
    this.set(row, "uploading", "uploading");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) { row.upload = e.loaded / e.total; this.paint(row); }
    };
    const next = () => { this.uploading = false; this.pump(); };
    xhr.onload = () => {
      row.upload = 1;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch {}
      if (xhr.status === 202 && body.job) {
        this.byJob.set(body.job.id, row);
        this.set(row, "importing", "queued on the box");
        this.job(this.lastJob.get(body.job.id) || body.job);
      } else {
        this.set(row, "failed", body.error?.reason || `HTTP ${xhr.status}`);
      }
      next();
    };
    xhr.onerror = () => { this.set(row, "failed", "upload failed: connection lost"); next(); };
    xhr.send(file);
  }

  /**
   * An import of files already on the box (a folder on a stick or share, a
   * take of record A/B): one row per file the job lists, filled from its
   * media_job messages.
   */
  async importOnBox(body, what) {
    const place = $("media-place").checked ? this.hooks.place() : null;
    const req = { ...body, target: $("media-target").value };
    if (place) req.place = { page: place.page, tab: place.tab, row: 0, col: 0 };
    const r = await fetch("/api/media/import", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(req),
    });
    const b = await r.json().catch(() => ({}));
    if (r.status !== 202 || !b.job) {
      this.hooks.toast(`Import of ${what}: ${b.error?.reason || `HTTP ${r.status}`}`, "warn");
      return;
    }
    this.boxJobs.set(b.job.id, []);
    this.job(this.lastJob.get(b.job.id) || b.job);
  }

  /** Rows of a box-side job follow its items (a folder job lists them first). */
  boxJob(j) {
    const rows = this.boxJobs.get(j.id);
    const items = j.items || [];
    if (items.length && items[0].name.startsWith("listing ") && j.state !== "done") return;
    while (rows.length < items.length) {
      const el = document.createElement("li");
      el.className = "mrow";
      el.innerHTML = `<span class="mname"></span><progress max="1" value="0"></progress><span class="mstate">waiting</span>`;
      el.querySelector(".mname").textContent = items[rows.length].name;
      $("media-list").append(el);
      const row = { el, bar: el.querySelector("progress"), text: el.querySelector(".mstate"), upload: 1, job: 0, state: "queued" };
      this.rows.set(`job-${j.id}-${rows.length}`, row);
      rows.push(row);
    }
    items.forEach((it, i) => this.itemInto(rows[i], it));
  }

  itemInto(row, it) {
    row.job = it.progress ?? 0;
    if (it.state === "done") {
      const d = it.details || {};
      this.set(row, "done", d.format ? `${d.format}, ${Number(d.duration_s).toFixed(1)} s` : "imported");
    } else if (it.state === "failed" || it.state === "cancelled") {
      this.set(row, "failed", it.error || it.state);
    } else {
      this.set(row, "importing", it.state);
    }
  }

  /** A media_job message (or a job from an answer). */
  job(j) {
    this.lastJob.set(j.id, j);
    if (this.boxJobs.has(j.id)) this.boxJob(j);
    const row = this.byJob.get(j.id);
    if (row && j.items?.length) this.itemInto(row, j.items[0]);
    if (j.kind === "import" && j.state === "done" && !this.panel.hidden) this.refreshLibrary();
    if (j.kind === "check" && j.state === "done") {
      const r = j.result || {};
      if (r.relinked) this.hooks.toast(`Media check: ${r.relinked} clip(s) relinked to their moved files`, "info");
      if (r.missing) this.hooks.toast(`Media check: ${r.missing} clip(s) missing`, "warn");
      this.refreshMissing();
    }
  }

  set(row, state, text) {
    row.state = state;
    row.el.dataset.state = state;
    row.text.textContent = text;
    this.paint(row);
  }

  paint(row) {
    row.bar.value = row.state === "done" || row.state === "failed" ? 1 : 0.5 * row.upload + 0.5 * row.job;
    this.overall();
  }

  overall() {
    const rows = [...this.rows.values()];
    const sum = rows.reduce((s, r) => s + (r.state === "done" || r.state === "failed" ? 1 : 0.5 * r.upload + 0.5 * r.job), 0);
    const done = rows.filter((r) => r.state === "done").length;
    const failed = rows.filter((r) => r.state === "failed").length;
    $("media-overall").value = rows.length ? sum / rows.length : 0;
    $("media-summary").textContent = rows.length
      ? `${done} of ${rows.length} imported${failed ? `, ${failed} refused` : ""}` : "No imports yet";
  }

  async check() {
    const r = await fetch("/api/media/check", { method: "POST" });
    if (r.status !== 202) {
      const b = await r.json().catch(() => ({}));
      this.hooks.toast(`Media check: ${b.error?.reason || `HTTP ${r.status}`}`, "warn");
    } else {
      $("media-missing-state").textContent = "Checking…";
    }
  }

  async refreshMissing() {
    const list = $("media-missing");
    let body;
    try { body = await (await fetch("/api/media/missing")).json(); } catch { return; }
    list.replaceChildren();
    const missing = body.missing || [];
    $("media-missing-state").textContent = missing.length ? `${missing.length} clip(s) missing` : "Every clip's media is there";
    for (const m of missing) {
      const li = document.createElement("li");
      li.className = "miss";
      const head = document.createElement("div");
      head.className = "misshead";
      head.textContent = `${m.label || `Clip ${m.clip}`} — ${m.status}: ${m.path}`;
      li.append(head);
      const cands = document.createElement("ol");
      cands.className = "cands";
      for (const c of m.candidates || []) {
        const ci = document.createElement("li");
        ci.className = "cand";
        const score = document.createElement("span");
        score.className = "score";
        score.textContent = `${Math.round(c.score * 100)}%`;
        const path = document.createElement("span");
        path.className = "cpath";
        path.textContent = c.path;
        const why = document.createElement("span");
        why.className = "why";
        why.textContent = `${c.where}: ${(c.reasons || []).join(", ")}`;
        const use = document.createElement("button");
        use.type = "button";
        use.textContent = "Use this file";
        use.addEventListener("click", async () => {
          const yes = await confirmDialog({
            title: "Use this file?",
            text: `“${m.label || `Clip ${m.clip}`}” will play ${c.path} (${Math.round(c.score * 100)}%${c.hash_match ? ", the same content" : ""}; ${(c.reasons || []).join(", ")}). Undo brings the old path back.`,
            ok: "Use this file",
          });
          if (yes) this.relink(m.clip, c.path);
        });
        ci.append(score, path, why, use);
        cands.append(ci);
      }
      if (!(m.candidates || []).length) {
        const none = document.createElement("li");
        none.textContent = "No candidates found (add a search path in the media settings, then check again)";
        cands.append(none);
      }
      li.append(cands);
      list.append(li);
    }
  }

  async relink(clip, path) {
    const r = await fetch(`/api/media/missing/${clip}/relink`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ path }),
    });
    const b = await r.json().catch(() => ({}));
    this.hooks.toast(r.ok ? `Relinked to ${path}` : `Relink refused: ${b.error?.reason || r.status}`, r.ok ? "info" : "warn");
    this.refreshMissing();
  }
}

function fmtS(s) {
  if (!(s >= 0)) return "–";
  const m = Math.floor(s / 60);
  return `${m}:${(s - 60 * m).toFixed(1).padStart(4, "0")}`;
}

/** Min/max columns (-127..127) across the canvas, beats as ticks. */
function drawWave(canvas, wave, beats, duration) {
  const g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, mid = h / 2;
  g.fillStyle = "#0a0c0f";
  g.fillRect(0, 0, w, h);
  const lo = wave.min || [], hi = wave.max || [];
  const n = Math.min(lo.length, hi.length);
  g.fillStyle = "#7cc4ff";
  for (let i = 0; i < n; ++i) {
    const x0 = Math.floor((i * w) / n), x1 = Math.max(x0 + 1, Math.floor(((i + 1) * w) / n));
    const top = mid - (hi[i] / 127) * (mid - 2), bottom = mid - (lo[i] / 127) * (mid - 2);
    g.fillRect(x0, top, x1 - x0, Math.max(1, bottom - top));
  }
  if (duration > 0) {
    g.fillStyle = "rgba(251, 191, 36, 0.8)";
    for (const b of beats) g.fillRect(Math.round((b / duration) * w), 0, 1, 10);
  }
}
