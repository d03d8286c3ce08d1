"""LTC into cuebox:ltc_in from a JACK test client (test/tools/ltc_gen.cpp,
libltc's encoder): at 24, 25, 29.97 drop-frame and 30 fps the engine's
decoded time matches the generator's to the frame at the JACK frame the
engine says that frame started; when the generator stops, the signal is
reported lost (a dropout). The generator's signal follows JACK frame time
(cycles the dummy server skips on this VM skip signal too), so the check
holds through skipped cycles; only a skip long enough to lose the signal
just before the reading makes an attempt unjudged."""
import os
import signal
import subprocess
import time

import pytest

from stack import BUILD, wait_for, xruns

GEN = os.path.join(BUILD, "test", "tools", "cuebox-ltc-gen")
JACK_PERIOD = 1024  # see stack.CAPTURE_PERIOD: fewer, longer cycles for the VM to skip


def ltc(stack):
    return stack.http("GET", "/api/show")[1]["live"]["ltc"]


def frames_to_tc(n, fps):
    ff = n % fps
    s = n // fps
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}", ff


def judge(state, start, fps, rate=48000):
    """The decoded frame is the one the generator played at frame_at."""
    assert state["state"] == "locked", state
    assert state["fps"] == fps, state
    assert state["drop_frame"] == (fps == 29.97), state
    # The frame that started at frame_at, counted from the generator's first.
    spf = rate / fps
    k = round((state["frame_at"] - start) / spf)
    assert abs(state["frame_at"] - (start + k * spf)) <= 3, (state, start)
    nominal = round(fps)
    hms, ff = frames_to_tc(10 * 3600 * nominal + k, nominal)  # no minute boundary within 4 s of 10:00:00
    sep = ";" if fps == 29.97 else ":"
    assert state["timecode"] == f"{hms}{sep}{ff:02d}", (state, k)
    assert -20 < state["level_dbfs"] < 0, state


def generator(stack, fps, seconds):
    gen = subprocess.Popen([GEN, "--server", stack.server, "--fps", str(fps), "--start", "10:00:00:00", "--seconds", str(seconds)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=stack.env)
    return gen, int(gen.stdout.readline().split()[1])


@pytest.mark.parametrize("fps", [24, 25, 29.97, 30])
def test_decoded_time_matches_the_generator_to_the_frame(stack, fps):
    for attempt in range(3):
        before = xruns(stack)
        gen, start = generator(stack, fps, 3)
        try:
            time.sleep(2)
            state = ltc(stack)
        finally:
            gen.wait(timeout=20)
        skipped = xruns(stack) != before
        if skipped and state["state"] != "locked":
            continue  # the server skipped long enough to lose the signal: not judged
        judge(state, start, fps)
        # The generator has stopped: the signal is lost, a dropout counted.
        dropouts = state["dropouts"]
        assert wait_for(lambda: ltc(stack)["state"] == "lost", 5), ltc(stack)
        if xruns(stack) == before:
            assert ltc(stack)["dropouts"] == dropouts + 1
        else:  # a long skip after the reading may have lost and found the signal once more
            assert ltc(stack)["dropouts"] >= dropouts + 1
        return
    pytest.fail("the signal was lost to skipped cycles in all 3 attempts: not judged")


def test_decoded_time_holds_when_the_server_skips_cycles(stack):
    """jackd stopped for 150 ms: the dummy driver skips the cycles it missed,
    frame time jumps, and a frame is cut. The decoder drops what it had half
    decoded and the next whole frame is again the generator's, to the frame."""
    before = xruns(stack)
    gen, start = generator(stack, 25, 4)
    try:
        time.sleep(1)
        jackd = stack.pid("jackd")
        os.kill(jackd, signal.SIGSTOP)
        time.sleep(0.15)
        os.kill(jackd, signal.SIGCONT)
        time.sleep(1.5)
        state = ltc(stack)
    finally:
        gen.wait(timeout=20)
    assert xruns(stack) > before, "stopping jackd did not make the server skip cycles"
    judge(state, start, 25)
