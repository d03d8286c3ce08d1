"""The engine's JACK process callback makes no allocation, lock or file/socket
call, checked in the real process: cuebox-engine runs with the LD_PRELOAD
interposer (test/tools/rtguard) that counts such calls made inside the
callback, while a script of every command kind, level edits and clip-table
swaps runs against it."""
import json
import os
import time

import pytest

from stack import BUILD, Stack

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
    deadline = time.time() + 6
    n = 0
    while time.time() < deadline:
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
    time.sleep(2.5)  # the interposer rewrites its report every second
    with open(stack.report) as f:
        report = json.load(f)
    print(f"\nMEASURE rtguard sections={report['sections']} commands={n} violations={report['violations']}")
    assert report["sections"] > 3000, "the process callback was not observed"
    assert report["violations"] == {}, f"RT violations in process(): {report}"
