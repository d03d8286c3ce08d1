"""Soak (a figure, not a test): cuebox on dummy JACK at 48 kHz / 64 frames for
CUEBOX_SOAK_SECONDS (default 600) with 50 WebSocket clients receiving the
30 Hz state while clips start and stop twice a second. Prints the xruns,
split by what jackd says caused them: "client = cuebox was not finished"
(cuebox missed its deadline) versus the dummy driver waking late
("JackTimedDriver::Process XRun", nothing to do with any client); the
engine's worst process() time; cuebox-web's CPU use; and, as a control run
alongside, how often a paced real-time loop doing almost nothing is itself
woken more than a period late on this machine (bench/WakeupProbe.cpp)."""
import os
import re
import subprocess
import sys
import threading
import time


sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "integration"))
from stack import BUILD, Stack, silence  # noqa: E402

SECONDS = float(os.environ.get("CUEBOX_SOAK_SECONDS", "600"))
CLIENTS = 50


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    s = Stack("soak")
    stop = threading.Event()
    received = [0] * CLIENTS

    def client(i):
        ws = s.ws(timeout=10)
        while not stop.is_set():
            try:
                ws.recv()
                received[i] += 1
            except Exception:
                break
        ws.close()

    try:
        silence(s)
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        _, show = s.http("GET", "/api/show")
        clips = [c["id"] for c in show["show"]["clips"]]
        _, h0 = s.http("GET", "/api/health")
        web = s.pid("cuebox-web")
        cpu0, t0 = cpu_seconds(web), time.time()
        # The control: the machine's own wake-up lateness, in the same run,
        # at the engine's priority (jackd gives cuebox 5 with -R).
        probe_cmd = [os.path.join(BUILD, "bench", "wakeup_probe"), str(SECONDS)]
        if subprocess.run(["chrt", "-f", "5", "true"]).returncode == 0:
            probe_cmd = ["chrt", "-f", "5"] + probe_cmd
        probe = subprocess.Popen(probe_cmd, stdout=subprocess.PIPE, text=True)
        n = 0
        while time.time() - t0 < SECONDS:
            s.http("POST", f"/api/clips/{clips[n % len(clips)]}/toggle")
            n += 1
            time.sleep(0.5)
        elapsed = time.time() - t0
        web_cpu = (cpu_seconds(web) - cpu0) / elapsed
        _, h1 = s.http("GET", "/api/health")
        stop.set()
        with open(os.path.join(s.data, "jackd.log")) as f:
            log = f.read()
        late_client = len(re.findall(r"client = cuebox was not finished", log))
        driver_late = len(re.findall(r"JackTimedDriver::Process XRun", log))
        eng = h1["engine"]
        print(f"soak: {elapsed:.0f} s, 48 kHz, period {eng['period']}, {CLIENTS} WebSocket clients, {n} toggles")
        print(f"xruns reported to cuebox: {eng['xruns'] - h0['engine']['xruns']} (budget: 0)")
        print(f"  jackd: cuebox did not finish in time: {late_client}; dummy driver woke late: {driver_late}")
        print(f"worst process() after warm-up: {eng['process_worst_us']} us "
              f"({eng['process_worst_us'] / (64 / 48000 * 1e6) * 100:.1f}% of the period)")
        print(probe.communicate(timeout=60)[0].strip())
        print(f"cuebox-web CPU: {web_cpu * 100:.1f}% of one core (budget: under one core); "
              f"messages received per client: {min(received)}..{max(received)} "
              f"({min(received) / elapsed:.1f}/s at the least)")
    finally:
        stop.set()
        s.stop()


if __name__ == "__main__":
    main()
