"""Starts a whole cuebox stack for a test: its own dummy-driver jackd (a
server name of its own, so tests run side by side), cuebox-engine and
cuebox-web, through the real scripts/run supervisor, on a free port and a
temporary data folder. Also: HTTP helpers, JACK port capture, frame time."""
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("CUEBOX_BUILD_DIR", os.path.join(ROOT, "build"))
CAPTURE = os.path.join(BUILD, "test", "tools", "cuebox-jack-capture")
OUTPUT = os.environ.get("CUEBOX_TEST_OUTPUT", os.path.join(ROOT, "test-output"))


# The JACK period of the modules that compare captured samples exactly or
# look for clicks. This VM class stalls real-time threads for 5-40 ms at a
# time (docs/PERFORMANCE.md); at 64 frames (1.3 ms) a stall skips JACK
# cycles and the capture no longer shows what the engine rendered (measured:
# 50-340 skipped cycles per 4 s capture in a bad hour, none at 1024). What
# these modules check does not depend on the period; the 64-frame
# behaviour (RT checker, crash recovery, recording) is tested at 64 in
# test_engine_rt, test_crash and test_record (test_overload runs at 1024 for
# its own reason, given there), and the
# 64-frame trigger latency is measured by scripts/bench (bench/latency.py).
CAPTURE_PERIOD = 1024


ADMIN_PASSWORD = "cuebox-test-admin"


def _call(port, method, path, body=None, headers=None, source="127.0.0.1"):
    """(status, JSON body or bytes, response headers) without credentials of
    its own, from the loopback address `source`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15, source_address=(source, 0))
    try:
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        ctype = resp.getheader("Content-Type", "")
        return resp.status, (json.loads(payload) if "json" in ctype else payload), resp.getheaders()
    finally:
        conn.close()


def session_cookie(headers):
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("cuebox_session="):
            return value.split(";")[0]
    raise AssertionError(f"no session cookie in {headers}")


def admin_token(port, data):
    """An admin bearer token for a test or benchmark, the way a person gets
    one: a box without users is set up (POST /api/setup); the demo's one-time
    password (data/one-time-password, written by cuebox-web --demo) is used
    to log in and replaced by ADMIN_PASSWORD. Then POST /api/tokens."""
    otp_file = os.path.join(data, "one-time-password")
    if os.path.exists(otp_file):
        with open(otp_file) as f:
            otp = f.read().strip()
        status, body, hdrs = _call(port, "POST", "/api/login", {"user": "admin", "password": otp})
        assert status == 200 and body["must_change"], (status, body)
        cookie = {"Cookie": session_cookie(hdrs), "X-CSRF-Token": body["csrf"]}
        status, body, _ = _call(port, "POST", "/api/session/password", {"password": ADMIN_PASSWORD}, cookie)
        assert status == 200 and not body["must_change"], (status, body)
    else:
        status, body, hdrs = _call(port, "POST", "/api/setup", {"user": "admin", "password": ADMIN_PASSWORD})
        assert status == 201, (status, body)
        cookie = {"Cookie": session_cookie(hdrs), "X-CSRF-Token": body["csrf"]}
    status, body, _ = _call(port, "POST", "/api/tokens", {"name": "tests", "role": "admin"}, cookie)
    assert status == 201, (status, body)
    return body["secret"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, name, env=None):
        self.server = f"cbt-{name}-{os.getpid()}"
        self.port = free_port()
        self.osc_port = free_port()
        self.tmp = tempfile.TemporaryDirectory(prefix="cuebox-it-")
        self.data = self.tmp.name
        self.env = dict(os.environ, JACK_DEFAULT_SERVER=self.server, JACK_NO_START_SERVER="1", **(env or {}))
        self.log = open(os.path.join(self.data, "run.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(ROOT, "scripts", "run"), "--port", str(self.port), "--data", self.data,
             "--osc-port", str(self.osc_port)],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready()
        self.token = admin_token(self.port, self.data)
        self.auth = {"Authorization": f"Bearer {self.token}"}
        self._probe = None

    def wait_ready(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("scripts/run exited:\n" + self.logtext())
            try:
                status, health = self.http("GET", "/api/health")
                if status == 200 and health["engine"].get("connected") and health["store"]["show_loaded"]:
                    return health
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("cuebox did not become ready:\n" + self.logtext())

    def logtext(self):
        self.log.flush()
        with open(os.path.join(self.data, "run.log")) as f:
            return f.read()[-4000:]

    def pid(self, name):
        with open(os.path.join(self.data, f"{name}.pid")) as f:
            return int(f.read())

    def stop(self):
        jackd = None
        try:
            jackd = self.pid("jackd")
        except OSError:
            pass
        if self._probe is not None:
            self._probe.close()
            self._probe = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if jackd:  # jackd runs in a session of its own
            try:
                os.kill(jackd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()
        self.tmp.cleanup()

    # --- HTTP -------------------------------------------------------------
    def http(self, method, path, body=None, headers=None, raw=None, auth=True):
        """(status, JSON or bytes), as the tests' admin token unless `auth`
        is False (or `headers` give an Authorization of their own)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            if raw is not None:
                conn.connect()
                conn.sock.sendall(raw)
                resp = http.client.HTTPResponse(conn.sock, method="GET")
                resp.begin()
            else:
                hdrs = dict(self.auth if auth and getattr(self, "token", None) else {}, **(headers or {}))
                data = None
                if body is not None:
                    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
                    hdrs.setdefault("Content-Type", "application/json")
                conn.request(method, path, body=data, headers=hdrs)
                resp = conn.getresponse()
            payload = resp.read()
            ctype = resp.getheader("Content-Type", "")
            return resp.status, (json.loads(payload) if "json" in ctype else payload)
        finally:
            conn.close()

    def ws(self, timeout=5):
        """A WebSocket to /api/ws with the tests' admin token."""
        import websocket
        return websocket.create_connection(f"ws://127.0.0.1:{self.port}/api/ws", timeout=timeout,
                                           header=[f"Authorization: Bearer {self.token}"])

    def clip_id(self, label):
        _, show = self.http("GET", "/api/show")
        for c in show["show"]["clips"]:
            if c["label"] == label:
                return c["id"], os.path.join(self.data, c["file"])
        raise KeyError(label)

    # --- JACK -------------------------------------------------------------
    def frame_time(self):
        if self._probe is None:
            import jack
            self._probe = jack.Client("probe", servername=self.server, no_start_server=True)
        return self._probe.frame_time

    def capture(self, ports, seconds):
        return Capture(self, ports, seconds)

    # Disturbances seen by every capture read so far (server cycle skips,
    # xruns, late cycles; see Capture.result): retry_on_xrun compares it
    # before and after an attempt.
    capture_skips = 0


class Capture:
    """Records ports in the background; result() waits and returns
    (samples[frames, ports], meta)."""

    def __init__(self, stack, ports, seconds):
        self.path = os.path.join(stack.data, f"capture-{time.time_ns()}.f32")
        args = [CAPTURE, "--server", stack.server, "--seconds", str(seconds), "--out", self.path]
        for p in ports:
            args += ["--port", p]
        self.nports = len(ports)
        self.stack = stack
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=stack.env)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError("capture did not start: " + line)
        self.first_frame = int(line.split()[1])

    def result(self, timeout=60):
        self.proc.wait(timeout)
        assert self.proc.returncode == 0, "capture failed"
        with open(self.path + ".json") as f:
            meta = json.load(f)
        data = np.fromfile(self.path, dtype=np.float32).reshape(-1, self.nports)
        cycles = np.fromfile(self.path + ".cycles", dtype=np.int64).reshape(-1, 2)
        meta["cycle_frames"], meta["cycle_ns"] = cycles[:, 0], cycles[:, 1]
        # What disturbed this capture: cycles the server skipped, xruns the
        # server reported to this client, and cycles this client ran more
        # than three periods after the one before (the VM stalled a
        # real-time thread without the server noticing).
        period_ns = 1e9 * len(data) / max(1, len(cycles)) / meta.get("rate", 48000)
        gaps = np.diff(meta["cycle_ns"]) if len(cycles) > 1 else np.array([])
        meta["late_cycles"] = int((gaps > 3 * period_ns).sum())
        self.stack.capture_skips += meta.get("discontinuities", 0) + meta.get("xruns", 0) + meta["late_cycles"]
        if os.environ.get("CUEBOX_CAPTURE_DEBUG"):
            print(f"\nCAPTURE skips={meta.get('discontinuities')} xruns={meta.get('xruns')} late={meta['late_cycles']} maxgap_ms={float(gaps.max()) / 1e6 if len(gaps) else 0:.2f}")
        return data, meta


def frame_index(meta, frame):
    """Index in a capture of the sample at JACK frame time `frame` (the next
    recorded sample if that frame fell in a cycle the server skipped)."""
    cycles = meta["cycle_frames"]
    period = meta["period"]
    k = int(np.searchsorted(cycles, frame, side="right")) - 1
    if k < 0:
        return 0
    off = frame - int(cycles[k])
    return k * period + off if off < period else (k + 1) * period


def sample_ns(meta, index):
    """CLOCK_MONOTONIC (as time.monotonic_ns) of capture sample `index`: when
    its cycle ran, plus its place in the cycle."""
    period = meta["period"]
    return int(meta["cycle_ns"][index // period]) + (index % period) * 1_000_000_000 // meta["rate"]


def frame_time(meta, index):
    """JACK frame time of capture sample `index`."""
    period = meta["period"]
    return int(meta["cycle_frames"][index // period]) + index % period


def align(captured, reference):
    """Index in `captured` where `reference` begins, from the first sample
    that is not silent in each."""
    nz_cap = np.flatnonzero(np.abs(captured) > 0)
    nz_ref = np.flatnonzero(np.abs(reference) > 0)
    assert len(nz_cap), "the capture is silent"
    return int(nz_cap[0] - nz_ref[0])


def in_thread(fn, delay):
    t = threading.Timer(delay, fn)
    t.start()
    return t


def silence(stack, timeout=5):
    """Stops everything (a second panic cuts the fade short) and waits until
    no voice is active."""
    stack.wait_ready()
    stack.http("POST", "/api/panic")
    stack.http("POST", "/api/panic")
    deadline = time.time() + timeout
    while time.time() < deadline:
        _, show = stack.http("GET", "/api/show")
        if show["live"]["voices"]["active"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError("voices still active after panic")


def playing(stack):
    """Ids of the clips the box says are playing now."""
    return {c["id"] for c in stack.http("GET", "/api/show")[1]["live"]["clips"] if c["state"] == "playing"}


def wait_for(cond, timeout=5.0):
    """Polls `cond` every 50 ms; True once it holds, False after `timeout`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def out1_rms(stack, seconds=0.5):
    """RMS of cuebox:out_1 over a capture of `seconds`."""
    data, _ = stack.capture(["cuebox:out_1"], seconds).result()
    return float(np.sqrt(np.mean(data[:, 0] ** 2)))


def xruns(stack):
    return stack.http("GET", "/api/health")[1]["engine"]["xruns"]


class CaptureDisturbed(AssertionError):
    """A check failed while the capture saw the JACK server skip cycles
    (its frame clock jumped: the dummy driver woke late on this VM). A check
    that depends on where the clock went is then not meaningful: retried."""


def judged_unless_disturbed(meta, check):
    """Runs `check()`; a failure while the capture saw server cycle skips
    becomes CaptureDisturbed (retried by retry_on_xrun), otherwise it fails."""
    try:
        check()
    except AssertionError as e:
        if meta.get("discontinuities", 0) > 0:
            raise CaptureDisturbed(f"{e} (the JACK server skipped {meta['discontinuities']} cycles in the capture)") from e
        raise


def retry_on_xrun(stack, attempt, attempts=5):
    """Runs a capture-and-check `attempt`. On this class of VM a real-time
    thread is now and then woken more than a period late (see
    docs/PERFORMANCE.md), so a JACK cycle can be lost inside a capture window.
    A failed check is retried only if JACK reported an xrun while it ran, or
    a capture read during it was disturbed (server cycle skips, xruns
    reported to the capture client, cycles run late): a mismatch without
    any of these still fails at once."""
    for i in range(attempts):
        before = xruns(stack)
        skips_before = stack.capture_skips
        try:
            return attempt()
        except AssertionError as e:
            disturbed = isinstance(e, CaptureDisturbed) or stack.capture_skips > skips_before
            if (xruns(stack) == before and not disturbed) or i == attempts - 1:
                raise
            why = "the capture was disturbed (skipped, late or xrun cycles)" if disturbed else "an xrun fell"
            print(f"\nMEASURE retried: {why} inside the capture window (attempt {i + 1})")
            silence(stack)
