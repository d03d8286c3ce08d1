"""The seed's lesson, measured over real HTTP on loopback: the whole 4096-clip
show in ONE request (GET /api/show) against the same information one item per
request (4096 x GET /api/clips/{id}), both on one keep-alive connection.
cuebox-web runs on a data folder holding the big show (made by
`store_bench --make`); no engine is needed for reads."""
import http.client
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "integration"))
from stack import BUILD, ROOT, admin_token, free_port  # noqa: E402


def main():
    with tempfile.TemporaryDirectory(prefix="cuebox-snap-") as data:
        subprocess.run([os.path.join(BUILD, "bench", "store_bench"), "--make", data], check=True)
        port = free_port()
        web = subprocess.Popen([os.path.join(BUILD, "firmware", "app", "cuebox-web"), "--data", data, "--webui",
                                os.path.join(ROOT, "webui"), "--bind", "127.0.0.1", "--port", str(port),
                                "--socket", os.path.join(data, "none.sock")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for _ in range(100):
                try:
                    conn.request("GET", "/api/health")
                    r = conn.getresponse()
                    r.read()
                    if r.status == 200:
                        break
                except OSError:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    time.sleep(0.1)
            import json
            auth = {"Authorization": "Bearer " + admin_token(port, data)}
            conn.request("GET", "/api/show", headers=auth)
            show = json.loads(conn.getresponse().read())
            ids = [c["id"] for c in show["show"]["clips"]]
            t = time.perf_counter()
            for _ in range(10):
                conn.request("GET", "/api/show", headers=auth)
                body = conn.getresponse().read()
            one = (time.perf_counter() - t) / 10
            t = time.perf_counter()
            for i in ids:
                conn.request("GET", f"/api/clips/{i}", headers=auth)
                conn.getresponse().read()
            many = time.perf_counter() - t
            print(f"over HTTP (loopback, keep-alive), {len(ids)} clips:")
            print(f"  one GET /api/show: {one * 1000:.1f} ms round trip for {len(body)} bytes")
            print(f"  {len(ids)} x GET /api/clips/{{id}}: {many * 1000:.0f} ms ({many / one:.0f}x slower)")
        finally:
            web.terminate()
            web.wait()


if __name__ == "__main__":
    main()
