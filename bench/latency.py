"""Whole-stack latency harness (a figure, not a test). Starts cuebox through
scripts/run on a dummy-driver jackd at 48 kHz / 64 frames and, with ONE
capture client on cuebox:out_1 for the whole run (a client joining the graph
makes JACK reorder it, which would disturb the figures), fires a clip N times.

Measured without JACK's frame-time estimate (a DLL that is off by tens of
frames on this VM):
  - pick-up: how many cycles after the command reached the engine the RT
    thread rendered its first sample (1 = the next cycle, the budget), and the
    CLOCK_MONOTONIC time from posting to that process() call;
  - HTTP request sent -> the capture cycle carrying the first sample, in
    CLOCK_MONOTONIC (both processes read the same clock).
Then the engine's worst process() time and the xruns during the run."""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "integration"))
from stack import Stack, sample_ns, silence  # noqa: E402

RUNS = int(os.environ.get("CUEBOX_BENCH_RUNS", "60"))
SLOT = 0.4  # seconds per trigger
PERIOD = 64
RATE = 48000


def pct(a, q):
    return float(np.percentile(np.array(a, dtype=float), q))


def main():
    s = Stack("bench")
    try:
        clip, _ = s.clip_id("Tone A4")
        silence(s)
        ws = s.ws()
        _, h0 = s.http("GET", "/api/health")
        cap = s.capture(["cuebox:out_1"], RUNS * SLOT + 1.0)
        time.sleep(0.3)
        sent, cycles, wait_us = [], [], []
        for _ in range(RUNS):
            t0 = time.time()
            sent.append(time.monotonic_ns())
            s.http("POST", f"/api/clips/{clip}/start")
            while True:
                m = json.loads(ws.recv())
                if m["type"] == "event" and m.get("event") == "clip_started" and m["clip"] == clip:
                    cycles.append(m["cycles_waited"])
                    wait_us.append(m["wait_us"])
                    break
            time.sleep(SLOT / 2)
            s.http("POST", f"/api/clips/{clip}/stop", body={"fade_ms": 0})
            time.sleep(max(0.0, SLOT - (time.time() - t0)))
        data, meta = cap.result()
        nz = np.flatnonzero(np.abs(data[:, 0]) > 0)
        http_ms = []
        for t in sent:
            k = int(np.searchsorted(meta["cycle_ns"], t))  # first cycle run after the request
            onset = int(nz[np.searchsorted(nz, k * PERIOD)]) - 1  # the file's first sample is 0
            http_ms.append((sample_ns(meta, onset) - t) / 1e6)
        _, h1 = s.http("GET", "/api/health")
        eng = h1["engine"]
        period_us = PERIOD / RATE * 1e6
        c = np.array(cycles)
        print(f"runs: {RUNS}, {RATE} Hz, period {eng['period']} ({period_us:.0f} us), scheduling "
              f"{eng['scheduling']['policy']}/{eng['scheduling']['priority']}")
        print(f"command reached engine -> first sample rendered: picked up by the next cycle in {int((c == 1).sum())} "
              f"of {len(c)} triggers (max {c.max()} cycles; budget: the next cycle, i.e. <= one period)")
        print(f"  posting -> start of that process() call: p50 {pct(wait_us, 50):.0f} us, p99 {pct(wait_us, 99):.0f} us, "
              f"max {max(wait_us)} us ({max(wait_us) / period_us:.2f} periods)")
        print(f"HTTP request sent -> first sample at cuebox:out_1: p50 {pct(http_ms, 50):.2f} ms, "
              f"p99 {pct(http_ms, 99):.2f} ms, max {max(http_ms):.2f} ms (no budget: HTTP + IPC + period)")
        print(f"worst process() after warm-up: {eng['process_worst_us']} us of {period_us:.0f} us "
              f"({eng['process_worst_us'] / period_us * 100:.1f}% of the period; budget < 10%)")
        print(f"xruns during the run: {eng['xruns'] - h0['engine']['xruns']} "
              f"(server cycles skipped: {meta['discontinuities']})")
        ws.close()
    finally:
        s.stop()


if __name__ == "__main__":
    main()
