"""Login figures (a harness, not a test), through scripts/run on a
dummy-driver jackd:

  1. One login (POST /api/login: argon2id check with libsodium's interactive
     limits, a session written to the store), N times one after another.
  2. A clip start over HTTP (POST .../start answered 202) while 8 logins are
     being checked at once, against the same with no logins: hashing runs on
     the hasher thread, so triggers must not wait for it."""
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "integration"))
from stack import ADMIN_PASSWORD, Stack, _call, silence  # noqa: E402

RUNS = int(os.environ.get("CUEBOX_BENCH_RUNS", "20"))


def pct(a, q):
    return float(np.percentile(np.array(a, dtype=float), q))


def starts(s, clip, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        status, _ = s.http("POST", f"/api/clips/{clip}/start")
        out.append((time.perf_counter() - t) * 1000)
        assert status == 202, status
        s.http("POST", f"/api/clips/{clip}/stop")
        time.sleep(0.05)
    return out


def main():
    s = Stack("login")
    try:
        logins = []
        for _ in range(RUNS):
            t = time.perf_counter()
            status, _, _ = _call(s.port, "POST", "/api/login", {"user": "admin", "password": ADMIN_PASSWORD})
            logins.append((time.perf_counter() - t) * 1000)
            assert status == 200, status
        print(f"login (argon2id interactive, session stored): p50 {pct(logins, 50):.0f} ms, "
              f"max {max(logins):.0f} ms over {RUNS}")

        clip = s.clip_id("Bell")[0]
        idle = starts(s, clip, RUNS)
        stop = threading.Event()

        def flood(i):
            # From addresses of their own, each far below the throttle.
            while not stop.is_set():
                _call(s.port, "POST", "/api/login", {"user": "admin", "password": ADMIN_PASSWORD}, source=f"127.0.1.{i}")

        threads = [threading.Thread(target=flood, args=(i,)) for i in range(1, 9)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        busy = starts(s, clip, RUNS)
        stop.set()
        for t in threads:
            t.join()
        silence(s)
        print(f"clip start over HTTP (request to 202): idle p50 {pct(idle, 50):.1f} ms p99 {pct(idle, 99):.1f} ms; "
              f"with 8 logins being checked p50 {pct(busy, 50):.1f} ms p99 {pct(busy, 99):.1f} ms "
              f"(budget: not slower by a login's hashing)")
    finally:
        s.stop()


if __name__ == "__main__":
    main()
