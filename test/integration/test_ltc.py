"""LTC into cuebox:ltc_in from a JACK test client (test/tools/ltc_gen.cpp,
libltc's encoder): at 24, 25, 29.97 drop-frame and 30 fps the engine's
decoded time matches the generator's to the frame at the JACK frame the
engine says that frame started; when the generator stops, the signal is
reported lost (a dropout)."""
import os
import subprocess
import time

import pytest

from stack import BUILD, wait_for, xruns

GEN = os.path.join(BUILD, "test", "tools", "cuebox-ltc-gen")
JACK_PERIOD = 1024  # see stack.CAPTURE_PERIOD: cycles the VM skips would move the stream against frame time


def ltc(stack):
    return stack.http("GET", "/api/show")[1]["live"]["ltc"]


def frames_to_tc(n, fps):
    ff = n % fps
    s = n // fps
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}", ff


@pytest.mark.parametrize("fps", [24, 25, 29.97, 30])
def test_decoded_time_matches_the_generator_to_the_frame(stack, fps):
    rate = 48000
    for attempt in range(3):
        before = xruns(stack)
        gen = subprocess.Popen([GEN, "--server", stack.server, "--fps", str(fps), "--start", "10:00:00:00", "--seconds", "3"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=stack.env)
        try:
            start = int(gen.stdout.readline().split()[1])
            time.sleep(2)
            state = ltc(stack)
        finally:
            gen.wait(timeout=20)
        if xruns(stack) != before:
            continue  # the server skipped cycles: the stream moved against frame time
        assert state["state"] == "locked", state
        assert state["fps"] == fps, state
        assert state["drop_frame"] == (fps == 29.97), state
        # The frame that started at frame_at, counted from the generator's first.
        spf = rate / fps
        k = round((state["frame_at"] - start) / spf)
        assert abs(state["frame_at"] - (start + k * spf)) <= 3, (state, start)
        nominal = round(fps)
        hms, ff = frames_to_tc(10 * 3600 * nominal + k, nominal)  # no minute boundary within 3 s of 10:00:00
        sep = ";" if fps == 29.97 else ":"
        assert state["timecode"] == f"{hms}{sep}{ff:02d}", (state, k)
        assert -20 < state["level_dbfs"] < 0, state
        # The generator has stopped: the signal is lost, a dropout counted.
        dropouts = state["dropouts"]
        assert wait_for(lambda: ltc(stack)["state"] == "lost", 5), ltc(stack)
        assert ltc(stack)["dropouts"] == dropouts + 1
        return
    pytest.fail("the dummy server skipped cycles in all 3 attempts: not judged")
