"""OSC against the real stack (docs/OSC.md): liblo's oscsend and raw UDP
packets start and stop clips (heard on the JACK outputs), a TCP client gets
whole lists in one reply and pushed updates after /cuebox/subscribe (both
TCP framings), bad messages are logged and change nothing, and the
allow-list and passcode keep strangers out (counted, logged, never acted
on)."""
import json
import socket
import struct
import subprocess
import time


from stack import CAPTURE_PERIOD, out1_rms, playing, silence, wait_for

JACK_PERIOD = CAPTURE_PERIOD  # judges captured sound: see stack.CAPTURE_PERIOD


# ------------------------------------------------------------------ OSC 1.0
def _pad(b):
    return b + b"\0" * (4 - len(b) % 4)


def osc(address, *args):
    """One OSC message: ints as i, floats as f, str as s."""
    tags, data = ",", b""
    for a in args:
        if isinstance(a, bool) or isinstance(a, int):
            tags += "i"
            data += struct.pack(">i", int(a))
        elif isinstance(a, float):
            tags += "f"
            data += struct.pack(">f", a)
        else:
            tags += "s"
            data += _pad(a.encode())
    return _pad(address.encode()) + _pad(tags.encode()) + data


def parse(packet):
    """-> (address, [args]) for the types cuebox sends (i, f, s)."""
    def string(off):
        end = packet.index(b"\0", off)
        return packet[off:end].decode(), (end // 4 + 1) * 4
    address, off = string(0)
    tags, off = string(off)
    args = []
    for t in tags[1:]:
        if t == "i":
            args.append(struct.unpack(">i", packet[off:off + 4])[0])
            off += 4
        elif t == "f":
            args.append(struct.unpack(">f", packet[off:off + 4])[0])
            off += 4
        elif t == "s":
            s, off = string(off)
            args.append(s)
        else:
            raise AssertionError(f"unexpected OSC type {t}")
    return address, args


class OscTcp:
    """A TCP OSC client, length-prefixed (OSC 1.0, liblo) or SLIP (OSC 1.1)."""

    def __init__(self, port, slip=False):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.slip = slip
        self.buf = b""

    def send(self, address, *args):
        m = osc(address, *args)
        if self.slip:
            m = b"\xc0" + m.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"
        else:
            m = struct.pack(">I", len(m)) + m
        self.s.sendall(m)

    def recv(self, timeout=5.0):
        deadline = time.time() + timeout
        while True:
            if self.slip:
                if b"\xc0" in self.buf.lstrip(b"\xc0"):
                    self.buf = self.buf.lstrip(b"\xc0")
                    frame, self.buf = self.buf.split(b"\xc0", 1)
                    return parse(frame.replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb"))
            elif len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    frame, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return parse(frame)
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no OSC message")
            self.s.settimeout(left)
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the box closed the connection")
            self.buf += chunk

    def until(self, address, timeout=5.0):
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            a, args = self.recv(deadline - time.time())
            if a == address:
                return args
            seen.append(a)
        raise AssertionError(f"no {address} (saw {seen})")

    def close(self):
        self.s.close()


def udp(port, packet):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(packet, ("127.0.0.1", port))


def oscsend(stack, address, *typed):
    subprocess.run(["oscsend", "localhost", str(stack.osc_port), address, *typed], check=True, timeout=5)


def log_details(stack, kind="control"):
    _, log = stack.http("GET", f"/api/log?format=json&kind={kind}&order=newest&limit=50")
    return [e["detail"] for e in log["entries"]]


# ------------------------------------------------------------------ tests
def test_oscsend_over_udp_starts_and_stops_a_clip_heard_at_the_output(stack):
    silence(stack)
    tone, _ = stack.clip_id("Tone A4")
    assert out1_rms(stack, 0.3) < 1e-4
    oscsend(stack, f"/cuebox/clip/{tone}/start")
    assert wait_for(lambda: tone in playing(stack)), "the clip did not start"
    level = out1_rms(stack)
    print(f"\nMEASURE osc udp start: out_1 rms={level:.3f}")
    assert level > 0.05, level
    oscsend(stack, f"/cuebox/clip/{tone}/stop", "i", "50")
    assert wait_for(lambda: tone not in playing(stack)), "the clip did not stop"
    time.sleep(0.3)
    assert out1_rms(stack, 0.3) < 1e-4


def test_raw_udp_cells_groups_and_the_qlab_subset(stack):
    silence(stack)
    _, show = stack.http("GET", "/api/show")
    cells = show["show"]["pages"][0]["tabs"][0]["cells"]
    first = next(c for c in cells if c["row"] == 0 and c["col"] == 0)["clip"]
    udp(stack.osc_port, osc("/cuebox/cell/1/1/1/1/start"))
    assert wait_for(lambda: first in playing(stack)), "the cell's clip did not start"
    assert out1_rms(stack) > 0.01
    group = next(c["group"] for c in show["show"]["clips"] if c["id"] == first)
    udp(stack.osc_port, osc(f"/cuebox/group/{group}/stop", 20))
    assert wait_for(lambda: first not in playing(stack)), "the group stop did not stop it"

    # QLab: a cue number is a clip id; /select moves the playhead, /go
    # starts the clip there and moves on to the next.
    tone, _ = stack.clip_id("Tone A4")
    udp(stack.osc_port, osc(f"/cue/{tone}/start"))
    assert wait_for(lambda: tone in playing(stack))
    udp(stack.osc_port, osc(f"/cue/{tone}/stop"))
    assert wait_for(lambda: tone not in playing(stack))
    udp(stack.osc_port, osc(f"/select/{tone}"))
    udp(stack.osc_port, osc("/go"))
    assert wait_for(lambda: tone in playing(stack)), "/go did not start the clip at the playhead"
    udp(stack.osc_port, osc("/panic"))
    assert wait_for(lambda: not playing(stack), 8), "/panic did not fade everything"


def test_tcp_bulk_replies_and_pushed_updates_in_both_framings(stack):
    silence(stack)
    tone, _ = stack.clip_id("Tone A4")
    for slip in (False, True):
        assert wait_for(lambda: not playing(stack))  # the live state follows a stop within a frame or two
        c = OscTcp(stack.osc_port, slip=slip)
        try:
            c.send("/cuebox/query/cells/1/1")
            status, data = c.until("/cuebox/reply/cuebox/query/cells/1/1")
            assert status == "ok"
            tab = json.loads(data)
            assert tab["rows"] == 4 and tab["cols"] == 4 and len(tab["cells"]) == 16, tab
            assert {c_["state"] for c_ in tab["cells"]} == {"idle"}, tab
            c.send("/cuebox/query/groups")
            groups = json.loads(c.until("/cuebox/reply/cuebox/query/groups")[1])
            assert [g["group"] for g in groups["groups"]] == ["A", "B", "C", "D"]
            assert sum(g["clips"] for g in groups["groups"]) == 16
            c.send("/cuebox/query/show")
            snap = json.loads(c.until("/cuebox/reply/cuebox/query/show")[1])
            assert len(snap["show"]["clips"]) == 16 and "live" in snap
            c.send("/cuebox/query/stats")
            assert json.loads(c.until("/cuebox/reply/cuebox/query/stats")[1])["clips"] == 16

            c.send("/cuebox/subscribe")
            assert json.loads(c.until("/cuebox/reply/cuebox/subscribe")[1])["subscribed"] is True
            assert len(c.until("/cuebox/levels")) == 5  # master, A-D: sent at once on subscribing
            c.send(f"/cuebox/clip/{tone}/start")
            assert c.until("/cuebox/reply/cuebox/clip/%d/start" % tone)[0] == "ok"  # TCP clients get replies
            assert c.until("/cuebox/clip/started") == [tone]
            progress = c.until("/cuebox/progress")
            assert progress[0] == tone and progress[1] == "playing" and progress[3] > 0, progress
            c.send("/cuebox/master/level", -6.0)
            levels = c.until("/cuebox/levels")
            assert abs(levels[0] + 6.0) < 1e-6, levels
            c.send(f"/cuebox/clip/{tone}/stop", 10)
            assert c.until("/cuebox/clip/stopped") == [tone]
            c.send("/cuebox/master/level", 0.0)
            c.until("/cuebox/reply/cuebox/master/level")
        finally:
            c.close()


def test_bad_osc_is_logged_answered_and_changes_nothing(stack):
    rev = stack.http("GET", "/api/show")[1]["revision"]
    # First, as its kind of error (field address) is logged once per 10 s
    # per source, and the unknown address below is of the same kind.
    udp(stack.osc_port, b"garbage!")
    assert wait_for(lambda: any("OSC packet" in d for d in log_details(stack)))
    c = OscTcp(stack.osc_port)
    try:
        c.send("/cuebox/clip/999999/start")
        status, data = c.until("/cuebox/reply/cuebox/clip/999999/start")
        assert status == "error" and json.loads(data)["error"]["field"] == "id", data
        c.send("/cuebox/master/level", "loud")
        status, data = c.until("/cuebox/reply/cuebox/master/level")
        assert status == "error" and json.loads(data)["error"]["field"] == "level_db", data
        c.send("/cuebox/clip/1/explode")
        assert c.until("/cuebox/reply/cuebox/clip/1/explode")[0] == "error"
    finally:
        c.close()
    time.sleep(0.5)
    details = log_details(stack)
    assert any("/cuebox/clip/999999/start" in d and "404" in d for d in details), details
    assert any("/cuebox/master/level" in d and "level_db" in d for d in details), details
    assert stack.http("GET", "/api/show")[1]["revision"] == rev
    stats = stack.http("GET", "/api/control")[1]["control"]["osc"]["stats"]
    assert stats["errors"] >= 4, stats


def test_the_allow_list_and_the_passcode_keep_strangers_out(stack):
    silence(stack)
    tone, _ = stack.clip_id("Tone A4")
    try:
        # Bad settings are refused and change nothing.
        status, body = stack.http("PATCH", "/api/control/osc", {"port": 80})
        assert status == 400 and body["error"]["field"] == "osc.port", body
        status, body = stack.http("PATCH", "/api/control/osc", {"allow": ["10.0.0.0/99"]})
        assert status == 400 and body["error"]["field"] == "osc.allow", body
        status, body = stack.http("PATCH", "/api/control/osc", {"passcode": "ab"})
        assert status == 400 and body["error"]["field"] == "osc.passcode", body
        assert stack.http("GET", "/api/control")[1]["control"]["osc"]["allow"] == []

        # Not on the allow-list: never acted on, counted and logged.
        status, body = stack.http("PATCH", "/api/control/osc", {"allow": ["10.9.9.0/24"]})
        assert status == 200 and body["control"]["osc"]["allow"] == ["10.9.9.0/24"], body
        before = stack.http("GET", "/api/control")[1]["control"]["osc"]["stats"]["refused"]
        for _ in range(3):
            oscsend(stack, f"/cuebox/clip/{tone}/start")
        time.sleep(0.5)
        assert tone not in playing(stack)
        assert stack.http("GET", "/api/control")[1]["control"]["osc"]["stats"]["refused"] == before + 3
        assert any("not on the OSC allow-list" in d for d in log_details(stack))
        assert out1_rms(stack, 0.3) < 1e-4

        # On the list, but a passcode is set: /connect first.
        status, body = stack.http("PATCH", "/api/control/osc", {"allow": ["127.0.0.0/8"], "passcode": "4321"})
        assert status == 200 and body["control"]["osc"]["passcode_set"] is True, body
        assert "4321" not in json.dumps(body)
        c = OscTcp(stack.osc_port)
        try:
            c.send(f"/cue/{tone}/start")
            reply = json.loads(c.until(f"/reply/cue/{tone}/start")[0])
            assert reply["status"] == "denied", reply
            c.send("/connect", "9999")
            assert json.loads(c.until("/reply/connect")[0])["status"] == "denied"
            time.sleep(0.3)
            assert tone not in playing(stack)
            c.send("/connect", "4321")
            assert json.loads(c.until("/reply/connect")[0])["status"] == "ok"
            c.send(f"/cue/{tone}/start")
            assert json.loads(c.until(f"/reply/cue/{tone}/start")[0])["status"] == "ok"
            assert wait_for(lambda: tone in playing(stack))
            assert out1_rms(stack) > 0.05
        finally:
            c.close()
        # UDP: the source address is let in for 61 s after /connect.
        oscsend(stack, f"/cuebox/clip/{tone}/stop")
        time.sleep(0.5)
        assert tone in playing(stack), "a UDP client without the passcode stopped the clip"
        oscsend(stack, "/cuebox/connect", "s", "4321")
        oscsend(stack, f"/cuebox/clip/{tone}/stop")
        assert wait_for(lambda: tone not in playing(stack))
        details = log_details(stack)
        assert any("wrong passcode" in d for d in details), details
        assert any("no passcode" in d for d in details), details
    finally:
        stack.http("PATCH", "/api/control/osc", {"allow": [], "passcode": None})
    assert stack.http("GET", "/api/control")[1]["control"]["osc"]["passcode_set"] is False


def test_the_shows_own_osc_addresses_come_from_its_mappings(stack):
    silence(stack)
    tone, _ = stack.clip_id("Tone A4")
    status, body = stack.http("POST", "/api/mappings", {"source": "osc", "address": "/sfx/tone", "action": "toggle", "clip": tone})
    assert status == 201, body
    mid = body["id"]
    try:
        udp(stack.osc_port, osc("/sfx/tone"))
        assert wait_for(lambda: tone in playing(stack)), "the mapped address did not fire"
        udp(stack.osc_port, osc("/sfx/tone", 0.0))  # a button's release: nothing
        time.sleep(0.4)
        assert tone in playing(stack)
        udp(stack.osc_port, osc("/sfx/tone", 1.0))
        assert wait_for(lambda: tone not in playing(stack)), "the second press did not toggle it off"
        # An address nobody mapped is still an error naming the address.
        c = OscTcp(stack.osc_port)
        try:
            c.send("/sfx/nothing")  # not a /cuebox address: answered QLab style
            reply = json.loads(c.until("/reply/sfx/nothing")[0])
            assert reply["status"] == "error" and reply["data"]["error"]["field"] == "address", reply
        finally:
            c.close()
    finally:
        stack.http("DELETE", f"/api/mappings/{mid}")
        silence(stack)
