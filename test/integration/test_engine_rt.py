"""The engine's JACK process callback makes no allocation, lock or file/socket
call, checked in the real process: cuebox-engine runs with the LD_PRELOAD
interposer (test/tools/rtguard) that counts such calls made inside the
callback, while a script of every command kind, level edits, clip-table
swaps and MIDI in both directions (notes into cuebox:midi_in, feedback notes
out of cuebox:midi_out) runs against it, while MTC plays into
cuebox:sync_in_1 and MIDI clock into cuebox:sync_in_2 (cuebox:ltc_in is
copied every cycle whatever it carries)."""
import json
import os
import subprocess
import time

import pytest

from stack import BUILD, Stack
from test_midi import MidiClient

RTGUARD = os.path.join(BUILD, "test", "tools", "rtguard", "libcuebox-rtguard.so")


@pytest.fixture(scope="module")
def stack():
    report = os.path.join("/tmp", f"cuebox-rtguard-{os.getpid()}.json")
    if os.path.exists(report):
        os.unlink(report)
    s = Stack("rt", env={
        "CUEBOX_ENGINE_WRAPPER": f"env LD_PRELOAD={RTGUARD} CUEBOX_RTGUARD_REPORT={report}"})
    s.report = report
    yield s
    s.stop()


def test_process_callback_never_allocates_locks_or_does_io(stack):
    _, show = stack.http("GET", "/api/show")
    clips = [c["id"] for c in show["show"]["clips"]]
    status, body = stack.http("POST", "/api/mappings", {"source": "midi", "address": "note/1/60", "action": "toggle", "clip": clips[1]})
    assert status == 201, body
    midi = MidiClient(stack)
    # (cuebox:ltc_in is copied into the LTC ring every cycle whatever it
    # carries, so that path is watched without a generator.)
    gens = [subprocess.Popen([os.path.join(BUILD, "test", "tools", "cuebox-midi-sync-gen"), "--server", stack.server,
                              "--connect", "cuebox:sync_in_1", "--mtc", "30", "--start", "01:00:00:00", "--seconds", "7",
                              "--client-name", "mtc"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=stack.env),
            subprocess.Popen([os.path.join(BUILD, "test", "tools", "cuebox-midi-sync-gen"), "--server", stack.server,
                              "--connect", "cuebox:sync_in_2", "--clock", "140", "--seconds", "7", "--client-name", "clock"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=stack.env)]
    deadline = time.time() + 6
    n = 0
    while time.time() < deadline:
        midi.send(0x90, 60, 100)  # toggles clips[1]: a feedback note goes out of midi_out
        midi.send(0xB0, 1, n % 128)  # a controller nobody mapped
        midi.send(0xF8)  # a MIDI clock byte: no control message
        clip = clips[n % len(clips)]
        stack.http("POST", f"/api/clips/{clip}/toggle")
        if n % 5 == 0:
            stack.http("POST", f"/api/clips/{clips[(n * 7) % len(clips)]}/start")
        if n % 11 == 0:
            # An edit: the engine builds a new clip table and swaps it in.
            stack.http("PATCH", f"/api/clips/{clip}", body={"level_db": -float(n % 20)})
        if n % 23 == 0:
            stack.http("POST", "/api/panic")
        n += 1
        time.sleep(0.02)
    feedback = midi.received.qsize()
    midi.close()
    _, live = stack.http("GET", "/api/show")
    sources = {x["name"]: x for x in live["live"]["clock"]["sources"]}
    for g in gens:
        g.wait(timeout=20)
    time.sleep(2.5)  # the interposer rewrites its report every second
    with open(stack.report) as f:
        report = json.load(f)
    print(f"\nMEASURE rtguard sections={report['sections']} commands={n} midi_feedback={feedback} violations={report['violations']}")
    assert feedback > 10, "no feedback notes came out of cuebox:midi_out"
    # The time sources were really decoded while the guard watched.
    assert sources["mtc:1"].get("timecode", "").startswith("01:00:0"), sources["mtc:1"]
    assert sources["midi_clock:2"].get("bpm", 0) > 0, sources["midi_clock:2"]  # a tempo was read (the guard slows the engine: not judged)
    assert report["sections"] > 3000, "the process callback was not observed"
    assert report["violations"] == {}, f"RT violations in process(): {report}"
