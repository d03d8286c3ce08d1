"""GET /metrics in the Prometheus text format: every family has HELP and
TYPE, every sample parses, and the figures follow what the box does (a
clip playing, requests and errors, OSC packets)."""
import re
import socket
import time
import urllib.request

from stack import silence

SAMPLE = re.compile(r'^(cuebox_[a-z_]+)(\{([a-z_]+="(?:[^"\\]|\\.)*")(,[a-z_]+="(?:[^"\\]|\\.)*")*\})? (-?[0-9.e+-]+|NaN)$')


def metrics(stack):
    req = urllib.request.Request(f"http://127.0.0.1:{stack.port}/metrics", headers=stack.auth)
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    families, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            families.setdefault(line.split()[2], {})["help"] = True
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert kind in ("gauge", "counter"), line
            families.setdefault(name, {})["type"] = kind
        else:
            m = SAMPLE.match(line)
            assert m, f"not a Prometheus sample: {line!r}"
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(5))
            assert m.group(1) in families, f"{line!r} has no HELP/TYPE"
    for name, f in families.items():
        assert f.get("help") and f.get("type"), name
        if f["type"] == "counter":
            assert name.endswith("_total"), name
    return samples


def test_metrics_follow_what_the_box_does(stack):
    silence(stack)
    m = metrics(stack)
    for name in ("cuebox_voices_active", "cuebox_voices_pool", "cuebox_dsp_load_ratio", "cuebox_xruns_total",
                 "cuebox_websocket_clients", "cuebox_http_errors_total", "cuebox_clock_offset_seconds",
                 "cuebox_osc_packets_total", "cuebox_engine_connected"):
        assert name in m, name
    assert m["cuebox_engine_connected"] == 1
    assert m["cuebox_voices_active"] == 0 and m["cuebox_voices_pool"] == 48
    assert m['cuebox_dsp_load_state{state="normal"}'] == 1
    assert any(k.startswith("cuebox_clock_state{") for k in m)

    tone, _ = stack.clip_id("Tone A4")
    assert stack.http("POST", f"/api/clips/{tone}/start")[0] == 202
    assert stack.http("POST", "/api/clips/999999/start")[0] == 404
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"/cuebox/ping\0\0\0\0,\0\0\0", ("127.0.0.1", stack.osc_port))
    time.sleep(0.5)
    n = metrics(stack)
    assert n["cuebox_voices_active"] >= 2  # a stereo clip
    assert n["cuebox_clips_playing"] >= 1
    assert n['cuebox_http_requests_total{method="POST"}'] >= m.get('cuebox_http_requests_total{method="POST"}', 0) + 2
    assert n['cuebox_http_responses_total{code="404"}'] >= 1
    assert n["cuebox_http_errors_total"] >= m["cuebox_http_errors_total"] + 1
    assert n["cuebox_osc_packets_total"] == m["cuebox_osc_packets_total"] + 1
    silence(stack)
