"""Whole-stack latency harness (a figure, not a test): starts cuebox through
scripts/run on a dummy-driver jackd at 48 kHz / 64 frames, and with ONE
capture client on cuebox:out_1 for the whole run (a client joining the graph
makes JACK reorder it, which would disturb the figures) fires a clip N times,
measuring through JACK:
  - command reached the engine -> first sample (the engine's frame stamps),
  - HTTP request sent -> first sample at the output (the capture),
then prints p50/p99/max, the engine's worst process() time and the xruns."""
import json
import os
import sys
import time

import numpy as np
import websocket

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "integration"))
from stack import Stack, frame_index, frame_time, silence  # noqa: E402

RUNS = int(os.environ.get("CUEBOX_BENCH_RUNS", "60"))
SLOT = 0.4  # seconds per trigger
PERIOD = 64


def main():
    s = Stack("bench")
    try:
        clip, _ = s.clip_id("Tone A4")
        silence(s)
        ws = websocket.create_connection(f"ws://127.0.0.1:{s.port}/api/ws", timeout=5)
        _, h0 = s.http("GET", "/api/health")
        cap = s.capture(["cuebox:out_1"], RUNS * SLOT + 1.0)
        time.sleep(0.3)
        sent, engine_lat = [], []
        for _ in range(RUNS):
            t0 = time.time()
            sent.append(s.frame_time())
            s.http("POST", f"/api/clips/{clip}/start")
            while True:
                m = json.loads(ws.recv())
                if m["type"] == "event" and m.get("event") == "clip_started" and m["clip"] == clip:
                    engine_lat.append(m["latency_frames"])
                    break
            time.sleep(SLOT / 2)
            s.http("POST", f"/api/clips/{clip}/stop", body={"fade_ms": 0})
            time.sleep(max(0.0, SLOT - (time.time() - t0)))
        data, meta = cap.result()
        x = np.abs(data[:, 0]) > 0
        http_lat, skipped = [], []
        cyc = meta["cycle_frames"]
        for f in sent:
            i = frame_index(meta, f)
            nz = np.flatnonzero(x[i:i + 24000])
            # The file's first sample is 0 (edge ramp): sound starts one later.
            onset = i + int(nz[0]) - 1
            http_lat.append(frame_time(meta, onset) - f)
            k0, k1 = max(i // PERIOD - 1, 0), onset // PERIOD + 1
            skipped.append(bool(np.any(np.diff(cyc[k0:k1 + 1]) != PERIOD)))
        _, h1 = s.http("GET", "/api/health")
        eng = h1["engine"]

        def row(name, xs, budget):
            a = np.array(xs)
            print(f"{name}: p50 {np.percentile(a, 50):.0f}  p99 {np.percentile(a, 99):.0f}  max {a.max()} frames"
                  f"  (budget: {budget})")

        period_us = PERIOD / 48000 * 1e6
        print(f"runs: {RUNS}, 48 kHz, period {eng['period']}, scheduling "
              f"{eng['scheduling']['policy']}/{eng['scheduling']['priority']}")
        row("command reached engine -> first sample", engine_lat, f"<= {PERIOD} frames (one period)")
        clean = [lat for lat, sk in zip(engine_lat, skipped) if not sk]
        row(f"  the same, {len(clean)} triggers without a server-skipped cycle", clean, f"<= {PERIOD} frames")
        print(f"  triggers over one period: {sum(1 for v in engine_lat if v > PERIOD)} of {len(engine_lat)}, "
              f"of which during a server-skipped cycle: {sum(1 for v, sk in zip(engine_lat, skipped) if v > PERIOD and sk)}")
        row("HTTP request sent -> first sample at out_1", http_lat, "none (HTTP + IPC + period)")
        print(f"worst process() after warm-up: {eng['process_worst_us']} us of {period_us:.0f} us "
              f"({eng['process_worst_us'] / period_us * 100:.1f}% of the period; budget < 10%)")
        print(f"xruns during the run: {eng['xruns'] - h0['engine']['xruns']} "
              f"(server cycles skipped: {meta['discontinuities']})")
        ws.close()
    finally:
        s.stop()


if __name__ == "__main__":
    main()
