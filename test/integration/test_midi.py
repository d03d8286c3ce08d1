"""MIDI and MIDI Show Control through JACK MIDI against the real stack: a
JACK MIDI test client plays notes, controllers and MSC SysEx into
cuebox:midi_in and reads the feedback notes from cuebox:midi_out. Mapped
notes start and stop clips (heard at the output), a controller moves the
master fader, velocity sets a start's level, MSC GO/STOP act on the clip of
the cue number only for this box's device id, learn mode maps the next
message, a tab-scoped mapping wins over a show-wide one, and a mapped
action the box refuses lands in the event log."""
import os
import queue
import subprocess
import sys
import threading
import time

import numpy as np

from stack import CAPTURE_PERIOD, ROOT, out1_rms, playing, silence, wait_for

JACK_PERIOD = CAPTURE_PERIOD  # judges captured sound: see stack.CAPTURE_PERIOD


class MidiClient:
    """Sends raw MIDI into cuebox:midi_in and collects what cuebox:midi_out
    sends, through test/tools/midi_client.py (a JACK client in a process of
    its own: libjack does not take a process from one server to the next)."""

    def __init__(self, stack):
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "test", "tools", "midi_client.py"), stack.server],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=stack.env, bufsize=1)
        self.received = queue.Queue()
        self.replies = queue.Queue()
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError("the MIDI test client did not start: " + line)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            kind, _, rest = line.strip().partition(" ")
            if kind == "recv":
                self.received.put(bytes.fromhex(rest))
            else:
                self.replies.put((kind, rest))

    def _cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def send(self, *msg):
        self._cmd("send " + bytes(msg).hex())

    def connections(self):
        self._cmd("connections")
        kind, rest = self.replies.get(timeout=5)
        return rest.split()

    def connect(self):
        self._cmd("connect")
        self.replies.get(timeout=5)

    def feedback(self, want, timeout=3.0):
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            try:
                m = self.received.get(timeout=0.1)
            except queue.Empty:
                continue
            if m == bytes(want):
                return True
            seen.append(m.hex())
        raise AssertionError(f"no feedback {bytes(want).hex()} (saw {seen})")

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def msc(device, command, cue=b"", fmt=0x10):
    return (0xF0, 0x7F, device, 0x02, fmt, command, *cue, 0xF7)


def mapping(stack, **m):
    status, body = stack.http("POST", "/api/mappings", m)
    assert status == 201, body
    return body["id"]


def test_midi_and_msc_drive_the_box_and_light_the_pads(stack):
    silence(stack)
    tone, _ = stack.clip_id("Tone A4")
    bell, _ = stack.clip_id("Bell")
    heartbeat, _ = stack.clip_id("Heartbeat")
    ids = [
        mapping(stack, source="midi", address="note/1/60", action="toggle", clip=tone),
        mapping(stack, source="midi", address="cc/1/7", action="master_level"),
        mapping(stack, source="midi", address="note/2/40", action="start", clip=tone, velocity="level"),
        mapping(stack, source="midi", address="note/1/50", action="pause", clip=bell),
    ]
    midi = MidiClient(stack)
    try:
        # A note toggles the clip: heard at the output, and the pad lights.
        midi.send(0x90, 60, 100)
        assert wait_for(lambda: tone in playing(stack)), "note 60 did not start the clip"
        loud = out1_rms(stack)
        assert loud > 0.05, loud
        midi.feedback((0x90, 60, 127))
        midi.send(0x80, 60, 0)  # a note off does nothing to a toggle
        time.sleep(0.3)
        assert tone in playing(stack)
        midi.send(0x90, 60, 100)
        assert wait_for(lambda: tone not in playing(stack)), "the second note 60 did not stop it"
        midi.feedback((0x90, 60, 0))

        # A controller moves the master fader (127 = 0 dB, 64 = -11.9 dB).
        midi.send(0xB0, 7, 64)
        assert wait_for(lambda: abs(stack.http("GET", "/api/show")[1]["show"]["audio"]["master_db"] + 11.9) < 0.1)
        midi.send(0xB0, 7, 127)
        assert wait_for(lambda: abs(stack.http("GET", "/api/show")[1]["show"]["audio"]["master_db"]) < 1e-6)

        # Velocity sets the start's level: velocity 32 is 40 log10(32/127) = -23.9 dB.
        midi.send(0x91, 40, 32)
        assert wait_for(lambda: tone in playing(stack))
        soft = out1_rms(stack)
        ratio_db = 20 * np.log10(soft / loud)
        print(f"\nMEASURE midi velocity 32: {ratio_db:.1f} dB against velocity-less (expected -23.9)")
        assert abs(ratio_db + 23.9) < 1.5, ratio_db
        silence(stack)

        # MSC: GO with a cue number starts the clip of that id, for our
        # device id (1) or all-call; another device's GO is ignored.
        cue = str(bell).encode()
        midi.send(*msc(5, 0x01, cue))
        time.sleep(0.5)
        assert bell not in playing(stack), "an MSC GO for device 5 was acted on"
        midi.send(*msc(0x7F, 0x01, cue))
        assert wait_for(lambda: bell in playing(stack)), "MSC GO (all-call) did not start the clip"
        midi.send(*msc(1, 0x02, cue))
        assert wait_for(lambda: bell not in playing(stack)), "MSC STOP did not stop it"
        midi.send(*msc(1, 0x01, str(heartbeat).encode(), fmt=0x01))  # lighting format: not for us
        time.sleep(0.5)
        assert heartbeat not in playing(stack)

        # A mapped action the box refuses (pause of a clip not playing) is in the event log.
        midi.send(0x90, 50, 100)
        assert wait_for(lambda: any("MIDI note/1/50" in e["detail"] and "409" in e["detail"] for e in
                                    stack.http("GET", "/api/log?format=json&kind=control&order=newest&limit=20")[1]["entries"]))
    finally:
        midi.close()
        for i in ids:
            stack.http("DELETE", f"/api/mappings/{i}")
        silence(stack)


def test_learn_and_scope(stack):
    silence(stack)
    tone, _ = stack.clip_id("Tone A4")
    bell, _ = stack.clip_id("Bell")
    midi = MidiClient(stack)
    ids = []
    try:
        # Learn: the next note becomes the mapping's address, and is not acted on.
        answer = queue.Queue()
        threading.Thread(target=lambda: answer.put(stack.http("POST", "/api/mappings/learn",
                                                              {"action": "start", "clip": bell, "timeout_ms": 5000})),
                         daemon=True).start()
        time.sleep(0.5)
        midi.send(0x92, 70, 90)
        status, body = answer.get(timeout=10)
        assert status == 201 and body["mapping"]["address"] == "note/3/70" and body["mapping"]["source"] == "midi", body
        ids.append(body["id"])
        assert bell not in playing(stack), "the learned note was acted on"
        midi.send(0x92, 70, 90)
        assert wait_for(lambda: bell in playing(stack)), "the learned mapping does not fire"
        silence(stack)
        # Nothing comes: 503 naming learn.
        status, body = stack.http("POST", "/api/mappings/learn", {"action": "start", "clip": bell, "timeout_ms": 500})
        assert status == 503 and body["error"]["field"] == "learn", body
        # A bad mapping is refused before waiting.
        status, body = stack.http("POST", "/api/mappings/learn", {"action": "start", "clip": 999999})
        assert status == 404 and body["error"]["field"] == "clip", body

        # Scope: on page 1 tab 1 (the active one) the tab-scoped mapping wins.
        ids.append(mapping(stack, source="midi", address="note/1/61", action="start", clip=bell))
        ids.append(mapping(stack, source="midi", address="note/1/61", action="start", clip=tone, page=0, tab=0))
        midi.send(0x90, 61, 100)
        assert wait_for(lambda: tone in playing(stack))
        time.sleep(0.3)
        assert bell not in playing(stack), "the show-wide mapping fired beside the tab-scoped one"
        silence(stack)
        assert stack.http("PATCH", "/api/pages/0", {"active_tab": 1})[0] == 200
        midi.send(0x90, 61, 100)
        assert wait_for(lambda: bell in playing(stack)), "on another tab the show-wide mapping should fire"
        assert tone not in playing(stack)
    finally:
        stack.http("PATCH", "/api/pages/0", {"active_tab": 0})
        midi.close()
        for i in ids:
            stack.http("DELETE", f"/api/mappings/{i}")
        silence(stack)


def test_the_midi_allow_list_cuts_off_other_ports(stack):
    silence(stack)
    tone, _ = stack.clip_id("Tone A4")
    mid = mapping(stack, source="midi", address="note/1/60", action="toggle", clip=tone)
    midi = MidiClient(stack)
    try:
        status, body = stack.http("PATCH", "/api/control/midi", {"allow": "midi-test:*"})
        assert status == 400 and body["error"]["field"] == "midi.allow", body
        status, body = stack.http("PATCH", "/api/control/midi", {"deny": []})
        assert status == 400 and body["error"]["field"] == "midi.deny", body
        status, body = stack.http("PATCH", "/api/control/midi", {"allow": ["a2j:*"]})
        assert status == 200 and body["control"]["midi"]["allow"] == ["a2j:*"], body
        assert wait_for(lambda: not midi.connections(), 3), "a port off the list stayed connected"
        midi.send(0x90, 60, 100)
        time.sleep(0.5)
        assert tone not in playing(stack)
        assert wait_for(lambda: any("midi-test:out refused" in e["detail"] for e in
                                    stack.http("GET", "/api/log?format=json&kind=control&order=newest&limit=20")[1]["entries"]))
        # On the list: it may connect again, and plays.
        assert stack.http("PATCH", "/api/control/midi", {"allow": ["a2j:*", "midi-test:*"]})[0] == 200
        midi.connect()
        time.sleep(1.2)  # two checks of the engine's
        assert midi.connections() == ["cuebox:midi_in"], "a port on the list was cut off"
        midi.send(0x90, 60, 100)
        assert wait_for(lambda: tone in playing(stack)), "the allowed port's note did not fire"
    finally:
        stack.http("PATCH", "/api/control/midi", {"allow": []})
        midi.close()
        stack.http("DELETE", f"/api/mappings/{mid}")
        silence(stack)
