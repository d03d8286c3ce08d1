"""Long clips stream from disk (RAM head + disk thread), checked through JACK:
every captured sample equals the file's across the head/stream boundary, and
a stalled disk makes a faded gap (no click), a reported underrun and a
resume at the frame the clock reached, never a wait."""
import os
import time

import numpy as np
import pytest
import soundfile as sf

from stack import CAPTURE_PERIOD, judged_unless_disturbed, retry_on_xrun, Stack, align
from test_overload import EngineSocket

RATE = 48000


@pytest.fixture(scope="module")
def stack():
    # Clips over 5 s stream: the 30 s Drone does, with 2 s of it in RAM.
    s = Stack("stream", env={"CUEBOX_STREAM_ABOVE_S": "5", "CUEBOX_TEST_HOOKS": "1", "CUEBOX_JACK_PERIOD": str(CAPTURE_PERIOD)})
    yield s
    s.stop()


def test_a_long_clip_streams_sample_exact_across_the_ram_head(stack):
    def attempt():
        clip, path = stack.clip_id("Drone")
        cap = stack.capture(["cuebox:out_1", "cuebox:out_2"], 4.0)
        time.sleep(0.1)
        assert stack.http("POST", f"/api/clips/{clip}/start")[0] == 202
        data, _ = cap.result()
        _, health = stack.http("GET", "/api/health")
        assert health["engine"]["stream_underruns"] == 0, "the disk thread fell behind"
        ref, _ = sf.read(path, dtype="float32", always_2d=True)
        start = align(data[:, 0], ref[:, 0])
        n = len(data) - start
        assert n > 3 * RATE  # well past the 2 s head
        assert np.abs(data[start:] - ref[:n]).max() < 1e-6
        stack.http("POST", "/api/panic")
        stack.http("POST", "/api/panic")

    retry_on_xrun(stack, attempt)


def test_a_stalled_disk_fades_out_reports_and_resumes_in_time(stack):
    def attempt():
        time.sleep(0.5)
        clip, path = stack.clip_id("Drone")
        eng = EngineSocket(os.path.join(stack.data, "engine.sock"))
        try:
            assert eng.command({"op": "test_stall_disk", "on": True})["ok"]
            cap = stack.capture(["cuebox:out_1"], 4.0)
            time.sleep(0.1)
            stack.http("POST", f"/api/clips/{clip}/start")
            time.sleep(2.8)  # the 2 s head plays, then the dry ring
            assert eng.command({"op": "test_stall_disk", "on": False})["ok"]
            data, meta = cap.result()
        finally:
            eng.command({"op": "test_stall_disk", "on": False})

        def check():
            x = data[:, 0]
            ref, _ = sf.read(path, dtype="float32", always_2d=True)
            start = align(x, ref[:, 0])
            head = 2 * RATE
            # The ring runs dry within a block of the head's end.
            margin = 300 + meta["period"]
            # The head played exactly...
            assert np.abs(x[start:start + head - margin] - ref[:head - margin, 0]).max() < 1e-6
            # ...then a fade to silence, not a cut...
            assert np.abs(np.diff(x, 2)).max() < 0.03
            gap = x[start + head + margin:start + head + RATE // 2]
            assert np.abs(gap).max() == 0.0
            # ...and after the disk came back, the clip at the frame the clock reached.
            tail = slice(len(x) - RATE // 4, len(x))
            frames = np.arange(tail.start, tail.stop) - start
            assert np.abs(x[tail] - ref[frames, 0]).max() < 1e-6

        judged_unless_disturbed(meta, check)

    retry_on_xrun(stack, attempt)
    _, health = stack.http("GET", "/api/health")
    assert health["engine"]["stream_underruns"] >= 1
