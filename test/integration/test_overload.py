"""Resource protection through JACK: real load on the RT thread (the engine's
test ballast, a busy-wait inside process() that its own load meter measures)
moves the engine through warning (80%), critical (90%: new voices refused,
the audition voice still allowed) and back to normal only below 70%."""
import json
import os
import socket
import struct
import time

import pytest

from stack import Stack

PERIOD_US = 64 / 48000 * 1e6


class EngineSocket:
    """A second IPC client of cuebox-engine (docs/PROTOCOL.md, Engine IPC)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.req = 0
        self.send(1, {"role": "test"})

    def send(self, type_, body):
        payload = json.dumps(body).encode()
        self.s.sendall(b"CBOX" + struct.pack(">HHI", 1, type_, len(payload)) + payload)

    def command(self, body):
        self.req += 1
        self.send(2, dict(body, req=self.req))
        buf = b""
        deadline = time.time() + 5
        while time.time() < deadline:
            buf += self.s.recv(65536)
            while len(buf) >= 12:
                _, _, type_, length = struct.unpack(">4sHHI", buf[:12])
                if len(buf) < 12 + length:
                    break
                frame, buf = json.loads(buf[12:12 + length]), buf[12 + length:]
                if type_ == 3 and frame.get("req") == self.req:
                    return frame
        raise AssertionError("no reply from the engine")


@pytest.fixture(scope="module")
def stack():
    s = Stack("load", env={"CUEBOX_TEST_HOOKS": "1"})
    yield s
    s.stop()


def load_state(stack, want, timeout=6.0):
    deadline = time.time() + timeout
    while True:
        _, show = stack.http("GET", "/api/show")
        v = show["live"]["voices"]
        if v["load_state"] == want or time.time() > deadline:
            return v["load_state"], v["load_of_ceiling"]
        time.sleep(0.05)


def test_warning_critical_and_recovery_thresholds(stack):
    eng = EngineSocket(os.path.join(stack.data, "engine.sock"))
    tone, _ = stack.clip_id("Tone A4")
    bell, _ = stack.clip_id("Bell")
    try:
        assert load_state(stack, "normal")[0] == "normal"
        assert eng.command({"op": "test_dsp_ballast", "us": 0.84 * PERIOD_US})["ok"]
        state, ceiling = load_state(stack, "warning")
        print(f"\nMEASURE load 84%: state={state} load_of_ceiling={ceiling}")
        assert state == "warning"
        assert stack.http("POST", f"/api/clips/{tone}/start")[0] == 202  # a warning refuses nothing

        assert eng.command({"op": "test_dsp_ballast", "us": 0.94 * PERIOD_US})["ok"]
        state, ceiling = load_state(stack, "critical")
        print(f"MEASURE load 94%: state={state} load_of_ceiling={ceiling}")
        assert state == "critical"
        status, body = stack.http("POST", f"/api/clips/{bell}/start")
        assert status == 503 and "90%" in body["error"]["reason"], body
        assert stack.http("POST", f"/api/clips/{bell}/audition")[0] == 202  # protected

        # 75%: below critical but above recovery: still refusing.
        assert eng.command({"op": "test_dsp_ballast", "us": 0.75 * PERIOD_US})["ok"]
        time.sleep(2.0)  # meanwhile this client reads nothing: the engine must not stall on it
        assert load_state(stack, "critical", timeout=0.1)[0] == "critical"
        assert stack.http("POST", f"/api/clips/{bell}/start")[0] == 503

        assert eng.command({"op": "test_dsp_ballast", "us": 0.3 * PERIOD_US})["ok"]
        state, _ = load_state(stack, "normal")
        assert state == "normal"
        assert stack.http("POST", f"/api/clips/{bell}/start")[0] == 202
    finally:
        eng.command({"op": "test_dsp_ballast", "us": 0})
    # Each state change is in the event log, the rise to critical as a fault.
    time.sleep(0.5)
    _, log = stack.http("GET", "/api/log?format=json")
    changes = [e["detail"] for e in log["entries"] if e["detail"].startswith("DSP load")]
    assert "DSP load warning -> critical" in changes, changes
    assert any(e["kind"] == "fault" and e["detail"] == "DSP load warning -> critical" for e in log["entries"])

