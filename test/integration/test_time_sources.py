"""Time sources through the real stack: the arbiter follows LTC once it is
locked, fails over to the box's clock when the LTC stops (the emergency
protocol's four phases measured and logged, a recovery point kept), records
the time source of every clip start, starts a clip set to a timecode on
its sample, and lands a quantized start on the beat. Sound is judged from
captures of cuebox:out_1, never from what the engine says it did."""
import json
import os
import subprocess
import threading
import time

import numpy as np

from stack import BUILD, frame_time, judged_unless_disturbed, retry_on_xrun, wait_for

GEN = os.path.join(BUILD, "test", "tools", "cuebox-ltc-gen")
JACK_PERIOD = 1024  # see stack.CAPTURE_PERIOD
RATE = 48000


def clock(stack):
    return stack.http("GET", "/api/show")[1]["live"]["clock"]


def ltc_gen(stack, seconds, fps=25, start="10:00:00:00"):
    gen = subprocess.Popen([GEN, "--server", stack.server, "--fps", str(fps), "--start", start, "--seconds", str(seconds)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=stack.env)
    return gen, int(gen.stdout.readline().split()[1])


class Events:
    """Collects the WebSocket's event messages in the background."""

    def __init__(self, stack):
        self.ws = stack.ws(timeout=1)
        self.items = []
        self.clocks = []
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                m = json.loads(self.ws.recv())
            except Exception:
                continue
            if m.get("type") == "event":
                self.items.append(m)
            elif m.get("type") == "state" and "clock" in m.get("live", {}):
                self.clocks.append(m["live"]["clock"])  # for a failure's message
                del self.clocks[:-20]

    def named(self, name):
        return [e for e in self.items if e.get("event") == name]

    def close(self):
        self.stop = True
        self.t.join(3)
        self.ws.close()


def emergency_switch(ev, source, timeout):
    """Waits for the loss of `source` to switch to the box's clock and checks
    the emergency protocol's four phases against their budgets. (A switch to
    the source when it locked may come first: the loss's is the one to the
    box's clock.)"""
    assert wait_for(lambda: [e for e in ev.named("clock_switch_done") if e["to"] == "internal"], timeout), ev.items[-5:]
    sw = [e for e in ev.named("clock_switch") if e["to"] == "internal"][-1]
    assert (sw["from"], sw["to"], sw["reason"], sw["emergency"]) == (source, "internal", "lost", True), \
        (sw, [next((x for x in c["sources"] if x["name"] == source), None) for c in ev.clocks[-8:]])
    done = [e for e in ev.named("clock_switch_done") if e["to"] == "internal"][-1]
    print(f"\nMEASURE {source} failover phases_us 1={done['phase1_us']:.1f} 2={done['phase2_us']:.1f} "
          f"3={done['phase3_us']:.1f} 4={done['phase4_us']:.1f}")
    assert done["phase1_us"] < 1000 and done["phase2_us"] < 2000, done
    assert done["phase3_us"] < 10000 and done["phase4_us"] < 100000, done


def settings(stack, **values):
    status, body = stack.http("PATCH", "/api/settings/time_sources", body=values)
    assert status == 200, body


def test_ltc_is_followed_and_its_loss_fails_over_within_the_phase_budgets(stack):
    # Wide quality limits: this test is about the loss. (Once, in a CI run,
    # LTC was judged degraded while it played and left before the loss; the
    # measures were not recorded then; the assertion now shows them.)
    settings(stack, order=["ltc", "internal"], recover_ms=300, ltc_max_jitter_us=100000, ltc_max_drift_ppm=1000,
             ltc_max_instability_ppm=1000, ltc_min_level_dbfs=-60)
    ev = Events(stack)
    try:
        gen, _ = ltc_gen(stack, 4)
        assert wait_for(lambda: clock(stack)["source"] == "ltc", 4), clock(stack)
        c = clock(stack)
        ltc = next(s for s in c["sources"] if s["name"] == "ltc")
        assert ltc["state"] == "locked", ltc
        assert ltc["quality"] > 0.5, ltc
        assert abs(ltc["drift_ppb"]) < 1000, ltc  # the generator runs on the same JACK clock
        # A clip started now records LTC and its time.
        tone = stack.clip_id("Tone A4")[0]
        stack.http("POST", f"/api/clips/{tone}/start")
        assert wait_for(lambda: ev.named("clip_started"), 3)
        started = ev.named("clip_started")[-1]
        assert started["time_source"] == "ltc", started
        assert started["source_time"].startswith("10:00:0"), started
        stack.http("POST", f"/api/clips/{tone}/stop")
        gen.wait(timeout=20)
        # The generator stopped: lost after 3 frames, the box's clock at once.
        # (The switch to LTC when it locked came first: wait for the loss's.)
        emergency_switch(ev, "ltc", 5)
        assert wait_for(lambda: clock(stack)["source"] == "internal", 2), clock(stack)
    finally:
        ev.close()
    # Logged with its phase times, and a recovery point kept.
    def logged():
        _, log = stack.http("GET", "/api/log?kind=clock")
        return [e for e in log["entries"] if "ltc -> internal (lost)" in e["detail"]]
    assert wait_for(lambda: any("emergency phases" in e["detail"] for e in logged()), 3), logged()
    _, points = stack.http("GET", "/api/recovery")
    assert any(p["kind"] == "time_source" for p in points["points"]), points
    # The per-source history for the plots: LTC sampled while it played, the switch with its phases.
    _, hist = stack.http("GET", "/api/clock/history")
    assert any(x["state"] == "locked" for x in hist["sources"]["ltc"]), hist["sources"].get("ltc")
    assert any(x["from"] == "ltc" and x["to"] == "internal" and x["phase4_us"] > 0 for x in hist["switches"]), hist["switches"]
    _, log = stack.http("GET", "/api/log?kind=trigger")
    assert any(e["time_source"].startswith("ltc 10:00:0") for e in log["entries"]), log["entries"][:3]


def test_a_clip_set_to_a_timecode_starts_on_its_sample(stack):
    settings(stack, order=["ltc", "internal"], recover_ms=300)
    tone = stack.clip_id("Tone A4")[0]
    status, body = stack.http("PATCH", f"/api/clips/{tone}", body={"timecode": "10:00:02:00"})
    assert status == 200, body

    def attempt():
        cap = stack.capture(["cuebox:out_1"], 4.5)
        gen, start = ltc_gen(stack, 3.5)
        data, meta = cap.result()
        gen.wait(timeout=20)
        want = start + 50 * RATE // 25  # 10:00:02:00 is 50 frames after the first
        nz = np.flatnonzero(np.abs(data[:, 0]) > 0)
        assert len(nz), "the clip did not start"
        got = frame_time(meta, int(nz[0]))
        print(f"\nMEASURE timecode_trigger_error_samples={got - want}")
        # The tone starts at phase 0: its first sample is 0, the next is not.
        assert 0 <= got - want <= 1, (got, want)
        stack.http("POST", f"/api/clips/{tone}/stop")
        wait_for(lambda: not stack.http("GET", "/api/show")[1]["live"]["clips"], 5)

    try:
        retry_on_xrun(stack, attempt, attempts=3)
        # A re-run of the timecode (a rehearsal going back) fires it again.
        retry_on_xrun(stack, attempt, attempts=3)
    finally:
        stack.http("PATCH", f"/api/clips/{tone}", body={"timecode": None})


def test_a_quantized_start_lands_on_the_beat(stack):
    status, body = stack.http("PATCH", "/api/settings/transport", body={"tempo_bpm": 120, "tempo_source": "manual"})
    assert status == 200, body
    tone = stack.clip_id("Tone A4")[0]
    status, body = stack.http("PATCH", f"/api/clips/{tone}", body={"quantize": "beat"})
    assert status == 200, body

    def attempt():
        anchor = clock(stack)["tempo"]["anchor_frame"]
        cap = stack.capture(["cuebox:out_1"], 1.5)
        time.sleep(0.1)
        stack.http("POST", f"/api/clips/{tone}/start")
        data, meta = cap.result()
        nz = np.flatnonzero(np.abs(data[:, 0]) > 0)
        assert len(nz), "the clip did not start"
        got = frame_time(meta, int(nz[0]))
        beat = RATE * 60 // 120
        off = (got - anchor) % beat
        print(f"\nMEASURE quantized_beat_error_samples={off}")
        assert 0 <= off <= 1, (got, anchor)  # the tone's first sample is 0 (phase 0)
        stack.http("POST", f"/api/clips/{tone}/stop")
        wait_for(lambda: not stack.http("GET", "/api/show")[1]["live"]["clips"], 5)

    try:
        retry_on_xrun(stack, attempt, attempts=3)
    finally:
        stack.http("PATCH", f"/api/clips/{tone}", body={"quantize": None})


SYNC_GEN = os.path.join(BUILD, "test", "tools", "cuebox-midi-sync-gen")


def sync_gen(stack, port, seconds, name, *args):
    gen = subprocess.Popen([SYNC_GEN, "--server", stack.server, "--connect", f"cuebox:sync_in_{port}", "--seconds", str(seconds),
                            "--client-name", name, *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=stack.env)
    line = gen.stdout.readline()
    assert line.startswith("start"), (line, gen.stderr.read() if gen.poll() is not None else "")
    return gen, int(line.split()[1])


def source(stack, name):
    return next(s for s in clock(stack)["sources"] if s["name"] == name)


def test_mtc_from_two_equal_ports_fails_over_between_them_and_triggers_on_its_sample(stack):
    # Wide quality limits: this test is about equal ports, failover and the
    # trigger. Cycles the dummy server skips drop quarter frames (the
    # generator skips their events): an attempt they disturb is retried.
    wide = {"max_drift_ppm": 1000, "max_jitter_us": 100000, "max_instability_ppm": 1000}
    settings(stack, order=["mtc", "internal"], recover_ms=300, midi_sources=[wide, wide, wide, wide])
    tone = stack.clip_id("Tone A4")[0]
    status, body = stack.http("PATCH", f"/api/clips/{tone}", body={"timecode": "10:00:03:00"})
    assert status == 200, body
    tries = iter(range(10))

    def attempt():
        n = next(tries)
        ev = Events(stack)
        gens = []
        try:
            cap = stack.capture(["cuebox:out_1"], 5)
            g1, start = sync_gen(stack, 1, 6, f"mtc-a{n}", "--mtc", "25", "--start", "10:00:00:00", "--full-frame")
            gens.append(g1)
            g2, _ = sync_gen(stack, 2, 4, f"mtc-b{n}", "--mtc", "25", "--start", "10:00:00:00")
            gens.append(g2)
            assert wait_for(lambda: clock(stack)["source"].startswith("mtc:"), 8), \
                [x for x in clock(stack)["sources"] if x["name"].startswith("mtc:")]
            assert source(stack, "mtc:1")["state"] == "locked" and source(stack, "mtc:2")["state"] == "locked", clock(stack)["sources"]
            data, meta = cap.result()
            # The clip set to 10:00:03:00 started on its sample (75 frames after the first).
            want = start + 75 * RATE // 25
            nz = np.flatnonzero(np.abs(data[:, 0]) > 0)
            assert len(nz), "the clip did not start"
            got = frame_time(meta, int(nz[0]))
            print(f"\nMEASURE mtc_timecode_trigger_error_samples={got - want}")
            def on_its_sample():
                assert 0 <= got - want <= 1, (got, want)

            judged_unless_disturbed(meta, on_its_sample)
            stack.http("POST", f"/api/clips/{tone}/stop")
            # Whichever port is followed, when it stops the other one takes over
            # (equal priority), and when both stop, the box's clock.
            g2.wait(timeout=20)
            g1.wait(timeout=20)
            assert wait_for(lambda: clock(stack)["source"] == "internal", 5), clock(stack)
            kinds = [(e["from"], e["to"]) for e in ev.named("clock_switch")]
            assert any(a.startswith("mtc:") and b.startswith("mtc:") and a != b for a, b in kinds) or \
                ("mtc:1", "internal") in kinds, kinds
        finally:
            ev.close()
            for g in gens:
                if g.poll() is None:
                    g.kill()
                    g.wait()
            stack.http("POST", f"/api/clips/{tone}/stop")
            wait_for(lambda: clock(stack)["source"] == "internal", 5)

    try:
        retry_on_xrun(stack, attempt, attempts=3)
    finally:
        stack.http("PATCH", f"/api/clips/{tone}", body={"timecode": None})


def test_midi_clock_sets_the_tempo_and_a_quantized_start_lands_on_its_beat(stack):
    settings(stack, order=["midi_clock", "internal"], recover_ms=300)
    status, body = stack.http("PATCH", "/api/settings/transport", body={"tempo_source": "midi_clock"})
    assert status == 200, body
    tone = stack.clip_id("Tone A4")[0]
    status, body = stack.http("PATCH", f"/api/clips/{tone}", body={"quantize": "bar"})
    assert status == 200, body
    try:
        def attempt():
            gen, start = sync_gen(stack, 3, 8, "clock", "--clock", "100")
            try:
                assert wait_for(lambda: clock(stack)["tempo"]["source"] == "midi_clock", 5), clock(stack)
                bpm = clock(stack)["tempo"]["bpm"]
                assert abs(bpm - 100) < 0.1, bpm
                assert wait_for(lambda: clock(stack)["source"] == "midi_clock:3", 5), clock(stack)
                cap = stack.capture(["cuebox:out_1"], 3.5)
                time.sleep(0.2)
                stack.http("POST", f"/api/clips/{tone}/start")
                data, meta = cap.result()
                nz = np.flatnonzero(np.abs(data[:, 0]) > 0)
                assert len(nz), "the clip did not start"
                got = frame_time(meta, int(nz[0]))
                bar = 4 * RATE * 60 // 100  # 4 beats at 100 BPM: 115200 frames
                off = (got - start) % bar
                off = min(off, bar - off)
                print(f"\nMEASURE midi_clock_bar_error_samples={off}")
                assert off <= 64, (got, start)  # the beat predicted from jittered MIDI stamps
                stack.http("POST", f"/api/clips/{tone}/stop")
            finally:
                gen.wait(timeout=20)
            wait_for(lambda: not stack.http("GET", "/api/show")[1]["live"]["clips"], 5)

        retry_on_xrun(stack, attempt, attempts=3)
    finally:
        stack.http("PATCH", f"/api/clips/{tone}", body={"quantize": None})
        stack.http("PATCH", "/api/settings/transport", body={"tempo_source": "manual"})
