// WebSocket link to cuebox-web: checks `seq`, detects dead links, and
// reconnects with backoff (0.5 s doubling up to 3 s).

const BACKOFF_MS = [500, 1000, 2000, 3000];
const CONNECT_TIMEOUT_MS = 5000;
// The server sends `state` at least every second; silence this long means
// the link is dead (a tablet that lost Wi-Fi often never sees a close).
const SILENCE_MS = 4000;

export function wsUrl(loc = window.location) {
  return (loc.protocol === "https:" ? "wss:" : "ws:") + "//" + loc.host + "/api/ws";
}

export class Connection {
  /**
   * @param {object} o
   * @param {string} o.url
   * @param {(msg: object) => void} o.onMessage  every in-order message
   * @param {() => void} o.onOpen                 socket open (no snapshot yet)
   * @param {(why: string, retryMs: number) => void} o.onDown  link lost
   */
  constructor({ url, onMessage, onOpen, onDown }) {
    this.url = url;
    this.onMessage = onMessage;
    this.onOpen = onOpen;
    this.onDown = onDown;
    this.ws = null;
    this.lastSeq = null;
    this.lastRx = 0;
    this.failures = 0;
    this.retryTimer = 0;
    this.watchdog = 0;
  }

  start() {
    window.addEventListener("online", () => this.retryNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.retryNow();
    });
    this.connect();
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends one JSON object; false if the link is not open. */
  send(obj) {
    if (!this.isOpen) return false;
    try {
      this.ws.send(JSON.stringify(obj));
      return true;
    } catch {
      return false;
    }
  }

  /** Drops the link and reconnects at once (fresh snapshot). */
  resync(why) {
    // At once, unless resyncs repeat quickly (then back off as on failures).
    const now = performance.now();
    const quick = now - (this.lastResync ?? -1e9) < 5000;
    this.lastResync = now;
    this.drop(why, quick ? null : 0);
  }

  /** The app saw a good snapshot: the next failure starts the backoff anew. */
  healthy() {
    this.failures = 0;
  }

  retryNow() {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = 0;
      this.connect();
    }
  }

  connect() {
    this.retryTimer = 0;
    this.lastSeq = null;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.drop("cannot open", null);
      return;
    }
    this.ws = ws;
    this.lastRx = performance.now();
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.lastRx = performance.now();
      this.onOpen();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.lastRx = performance.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        this.resync("unreadable message");
        return;
      }
      if (!msg || typeof msg !== "object") return;
      if (typeof msg.seq === "number") {
        if (this.lastSeq !== null && msg.seq !== this.lastSeq + 1) {
          this.resync(`missed messages (seq ${this.lastSeq} → ${msg.seq})`);
          return;
        }
        this.lastSeq = msg.seq;
      }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      if (ws === this.ws) this.drop("closed", null);
    };
    ws.onerror = () => {}; // onclose follows; nothing else to do
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => {
      if (ws !== this.ws) return;
      const idle = performance.now() - this.lastRx;
      if (ws.readyState === WebSocket.CONNECTING && idle > CONNECT_TIMEOUT_MS) {
        this.drop("connect timeout", null);
      } else if (ws.readyState === WebSocket.OPEN && idle > SILENCE_MS) {
        this.drop("no data from the box", null);
      }
    }, 1000);
  }

  /** Forget the current socket and schedule a reconnect (null = backoff). */
  drop(why, delayMs) {
    const ws = this.ws;
    this.ws = null;
    clearInterval(this.watchdog);
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(4000, "resync");
      } catch {
        /* already closing */
      }
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const ms = delayMs ?? BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    if (delayMs == null) this.failures++;
    this.retryTimer = setTimeout(() => this.connect(), ms);
    this.onDown(why, ms);
  }
}
