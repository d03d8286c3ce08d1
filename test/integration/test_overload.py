"""Resource protection through JACK: real load on the RT thread (the engine's
test ballast, a busy-wait inside process() that its own load meter measures)
moves the engine through warning (80%), critical (90%: new voices refused,
the audition voice still allowed) and back to normal only below 70%.

The dummy server runs at 1024 frames here. The thresholds are fractions of
the period, so what is checked does not depend on it; but at 64 frames the
busy-wait is 1.1 ms and this VM's scheduling noise (tens of microseconds a
call, stalls of milliseconds) is several percent of the period, enough to
push a load set between two thresholds over the upper one. A 21 ms busy-wait
absorbs those stalls. The ballast is set against the engine's own measured
idle load, so each target lands mid-band."""
import json
import os
import socket
import struct
import threading
import time

import pytest

from stack import CAPTURE_PERIOD, Stack, retry_on_xrun

JACK_PERIOD = CAPTURE_PERIOD
PERIOD_US = JACK_PERIOD / 48000 * 1e6


class EngineSocket:
    """A second IPC client of cuebox-engine (docs/PROTOCOL.md, Engine IPC).
    A thread reads everything the engine sends, as a real client must: the
    engine gives up on a peer that leaves its socket full for a second."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.req = 0
        self.replies = {}
        self.cv = threading.Condition()
        self.closed = False
        self.send(1, {"role": "test"})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = self.s.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self.cv:
                    self.closed = True
                    self.cv.notify_all()
                return
            buf += chunk
            while len(buf) >= 12:
                _, _, type_, length = struct.unpack(">4sHHI", buf[:12])
                if len(buf) < 12 + length:
                    break
                frame, buf = json.loads(buf[12:12 + length]), buf[12 + length:]
                if type_ == 3 and "req" in frame:
                    with self.cv:
                        self.replies[frame["req"]] = frame
                        self.cv.notify_all()

    def send(self, type_, body):
        payload = json.dumps(body).encode()
        self.s.sendall(b"CBOX" + struct.pack(">HHI", 1, type_, len(payload)) + payload)

    def command(self, body):
        self.req += 1
        req = self.req
        self.send(2, dict(body, req=req))
        with self.cv:
            assert self.cv.wait_for(lambda: req in self.replies or self.closed, timeout=5), "no reply from the engine"
            assert req in self.replies, "the engine closed the connection"
            return self.replies.pop(req)

    def close(self):
        self.s.close()


@pytest.fixture(scope="module")
def stack():
    s = Stack("load", env={"CUEBOX_TEST_HOOKS": "1", "CUEBOX_JACK_PERIOD": str(JACK_PERIOD)})
    yield s
    s.stop()


def load_state(stack, want, timeout=15.0):
    """Polls until the engine's load state is `want` (the load is an average
    over 64 calls: 1.4 s at 1024 frames, so a change takes a few seconds)."""
    deadline = time.time() + timeout
    while True:
        _, show = stack.http("GET", "/api/show")
        v = show["live"]["voices"]
        if v["load_state"] == want or time.time() > deadline:
            return v["load_state"], v["load_of_ceiling"]
        time.sleep(0.05)


def idle_load(stack):
    """The engine's own load with no ballast, once its average has settled."""
    time.sleep(8.0)
    _, show = stack.http("GET", "/api/show")
    return show["live"]["voices"]["load_of_ceiling"] * 0.9


def test_warning_critical_and_recovery_thresholds(stack):
    eng = EngineSocket(os.path.join(stack.data, "engine.sock"))
    # A second client that never reads: the engine must not stall on it.
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(os.path.join(stack.data, "engine.sock"))
    payload = json.dumps({"role": "test"}).encode()
    silent.sendall(b"CBOX" + struct.pack(">HHI", 1, 1, len(payload)) + payload)
    tone, _ = stack.clip_id("Tone A4")
    bell, _ = stack.clip_id("Bell")

    def ballast(total):
        """Busy-waits so that the engine's load is `total` of the period."""
        assert eng.command({"op": "test_dsp_ballast", "us": max(0.0, total - base) * PERIOD_US})["ok"]

    def attempt():
        try:
            ballast(0.85)
            state, ceiling = load_state(stack, "warning")
            print(f"\nMEASURE load 85%: state={state} load_of_ceiling={ceiling}")
            assert state == "warning"
            assert stack.http("POST", f"/api/clips/{tone}/start")[0] == 202  # a warning refuses nothing

            ballast(0.95)
            state, ceiling = load_state(stack, "critical")
            print(f"MEASURE load 95%: state={state} load_of_ceiling={ceiling}")
            assert state == "critical"
            status, body = stack.http("POST", f"/api/clips/{bell}/start")
            assert status == 503 and "90%" in body["error"]["reason"], body
            assert stack.http("POST", f"/api/clips/{bell}/audition")[0] == 202  # protected

            # 77%: below critical but above recovery: still refusing.
            ballast(0.77)
            time.sleep(4.0)
            state, ceiling = load_state(stack, "critical", timeout=0.1)
            print(f"MEASURE load 77%: state={state} load_of_ceiling={ceiling}")
            assert state == "critical"
            assert stack.http("POST", f"/api/clips/{bell}/start")[0] == 503

            ballast(0.3)
            state, _ = load_state(stack, "normal")
            assert state == "normal"
            assert stack.http("POST", f"/api/clips/{bell}/start")[0] == 202
        finally:
            eng.command({"op": "test_dsp_ballast", "us": 0})
            assert load_state(stack, "normal")[0] == "normal"

    try:
        assert load_state(stack, "normal")[0] == "normal"
        base = idle_load(stack)
        print(f"\nMEASURE idle load at {JACK_PERIOD} frames: {base:.3f} of the period")
        assert base < 0.3, base
        retry_on_xrun(stack, attempt, attempts=3)
    finally:
        eng.close()
        silent.close()
    # Each state change is in the event log, the rise to critical as a fault.
    time.sleep(0.5)
    _, log = stack.http("GET", "/api/log?format=json")
    changes = [e["detail"] for e in log["entries"] if e["detail"].startswith("DSP load")]
    assert "DSP load warning -> critical" in changes, changes
    assert any(e["kind"] == "fault" and e["detail"] == "DSP load warning -> critical" for e in log["entries"])
