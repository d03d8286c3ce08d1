"""The walking skeleton end to end: HTTP -> cuebox-web -> IPC -> cuebox-engine
-> JACK, verified by capturing cuebox:out_1/out_2 with a JACK client."""
import json
import os
import signal
import time

import numpy as np
import soundfile as sf
import websocket

from stack import retry_on_xrun, align, in_thread, sample_ns, wait_for

from stack import CAPTURE_PERIOD  # noqa: E402

JACK_PERIOD = CAPTURE_PERIOD  # compares captured samples: see stack.CAPTURE_PERIOD

RATE = 48000


def compare_to_file(data, meta, path):
    """Finds the clip in the capture and checks every captured sample of it
    equals the file's (unity gain, stereo: out_1 = left, out_2 = right)."""
    ref, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == RATE
    start = align(data[:, 0], ref[:, 0])
    assert start >= 0, "the clip began before the capture"
    n = min(len(data) - start, len(ref))
    assert n > RATE // 2, "less than half a second of the clip was captured"
    diff = np.abs(data[start:start + n] - ref[:n])
    return start, n, float(diff.max())


def report_server_skips(meta):
    """Cycles the JACK server itself skipped (the dummy driver waking late on
    a shared VM): they affect every client alike and are reported, not
    judged; the sample-exact comparison is what proves cuebox kept up."""
    print(f"\nMEASURE jack_server_cycle_skips={meta['discontinuities']} xruns={meta['xruns']}")


def test_start_plays_the_files_samples_on_out_1_and_2(stack):
    def attempt():
        clip, path = stack.clip_id("Noise bursts")
        cap = stack.capture(["cuebox:out_1", "cuebox:out_2"], 3.0)
        time.sleep(0.2)
        sent_ns = time.monotonic_ns()
        status, body = stack.http("POST", f"/api/clips/{clip}/start")
        assert status == 202 and body["accepted"] and body["action"] == "start"
        data, meta = cap.result()
        start, n, maxdiff = compare_to_file(data, meta, path)
        assert maxdiff < 1e-6, f"captured samples differ from the file by {maxdiff}"
        report_server_skips(meta)
        # Wall clock from the request to the cycle that carried the first sample
        # (JACK's own frame-time estimate is too coarse on this VM to time this).
        latency_ms = (sample_ns(meta, start) - sent_ns) / 1e6
        print(f"\nMEASURE http_to_first_sample_ms={latency_ms:.2f} ({latency_ms * RATE / 1000:.0f} frames)")
        # HTTP + IPC + one period: a generous bound; scripts/bench measures the
        # distribution.
        assert 0 < latency_ms < 100

    retry_on_xrun(stack, attempt)


def test_stop_fades_instead_of_cutting(stack):
    def attempt():
        clip, path = stack.clip_id("Tone A4")
        cap = stack.capture(["cuebox:out_1"], 2.0)
        stack.http("POST", f"/api/clips/{clip}/start")
        time.sleep(0.8)
        status, _ = stack.http("POST", f"/api/clips/{clip}/stop")
        assert status == 202
        data, _ = cap.result()
        x = data[:, 0]
        nz = np.flatnonzero(np.abs(x) > 0)
        tail = x[nz[-1] + 1 - 7680:nz[-1] + 1]  # the last 160 ms of sound
        env = np.abs(tail).reshape(-1, 480).max(axis=1)  # 10 ms peaks
        # The clip's 150 ms fade: the envelope falls steadily, no cut from full level.
        assert env[0] > 0.2, "the tone was not at full level before the fade"
        assert env[-1] < 0.1 * env[0]  # last 10 ms of a 150 ms linear fade: <= 1/15
        assert np.all(np.diff(env) <= 1e-3), f"envelope did not fall steadily: {env}"
        assert np.max(np.abs(np.diff(x))) < 0.06, "a sample-to-sample jump (click)"

    retry_on_xrun(stack, attempt)


def test_kill_9_of_the_web_process_leaves_no_gap(stack):
    def attempt():
        clip, path = stack.clip_id("Drone")
        old_pid = stack.pid("cuebox-web")
        cap = stack.capture(["cuebox:out_1", "cuebox:out_2"], 4.0)
        time.sleep(0.2)
        stack.http("POST", f"/api/clips/{clip}/start")
        in_thread(lambda: os.kill(old_pid, signal.SIGKILL), 1.0).join()
        data, meta = cap.result()
        start, n, maxdiff = compare_to_file(data, meta, path)
        assert n > 3 * RATE
        # Every sample of the clip arrived, in order: a missed engine cycle would
        # show as silence or a shift against the file.
        assert maxdiff < 1e-6, "the output changed when the web process died"
        report_server_skips(meta)
        # The supervisor brings the web process back and it answers again.
        wait_for_new_web(stack, old_pid)
        status, show = stack.http("GET", "/api/show")
        assert status == 200
        assert any(c["id"] == clip for c in show["live"]["clips"]), "the new web process does not see the playing clip"
        stack.http("POST", "/api/panic")

    retry_on_xrun(stack, attempt)


def snapshot_without_live(stack):
    status, show = stack.http("GET", "/api/show")
    assert status == 200
    show.pop("live")
    return show


def check_error(status, body, expect_status, field):
    assert status == expect_status, (status, body)
    assert body["error"]["status"] == expect_status
    assert body["error"]["field"] == field
    assert body["error"]["reason"]


def test_bad_input_gets_a_clear_error_and_changes_nothing(stack):
    before = snapshot_without_live(stack)
    clip, _ = stack.clip_id("Bell")
    check_error(*stack.http("POST", "/api/clips/987654/start"), 404, "id")
    check_error(*stack.http("PATCH", f"/api/clips/{clip}", body='{"label": "x",'), 400, "body")
    check_error(*stack.http("PATCH", f"/api/clips/{clip}", body={"label": "y" * 100_000}), 413, "body")
    check_error(*stack.http("PATCH", f"/api/clips/{clip}", body={"fade_out_ms": 5000}), 400, "fade_out_ms")
    check_error(*stack.http("PATCH", f"/api/clips/{clip}", body={"color": "blue"}), 400, "color")
    raw = b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    check_error(*stack.http("GET", "", raw=raw), 400, "path")
    raw = f"GET /api/../api/show HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {stack.token}\r\nConnection: close\r\n\r\n".encode()
    status, _ = stack.http("GET", "", raw=raw)
    assert status in (400, 404)
    assert snapshot_without_live(stack) == before


def test_an_edit_is_durable_and_bumps_the_revision(stack):
    clip, _ = stack.clip_id("Doorbell")
    rev = snapshot_without_live(stack)["revision"]
    status, body = stack.http("PATCH", f"/api/clips/{clip}", body={"label": "Front door", "level_db": -6})
    assert status == 200 and body["revision"] == rev + 1
    assert body["clip"]["label"] == "Front door"
    show = snapshot_without_live(stack)
    assert show["revision"] == rev + 1
    assert [c for c in show["show"]["clips"] if c["id"] == clip][0]["label"] == "Front door"


def wait_for_new_web(stack, old_pid, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            status, health = stack.http("GET", "/api/health")
            if status == 200 and health["web"]["pid"] != old_pid and health["engine"]["connected"]:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("cuebox-web did not come back")


def test_an_acknowledged_edit_survives_kill_9_of_the_web_process(stack):
    clip, _ = stack.clip_id("Thunder")
    status, body = stack.http("PATCH", f"/api/clips/{clip}", body={"label": "Storm", "fade_out_ms": 2500})
    assert status == 200
    old = stack.pid("cuebox-web")
    os.kill(old, signal.SIGKILL)
    wait_for_new_web(stack, old)
    show = snapshot_without_live(stack)
    assert show["revision"] == body["revision"]
    edited = [c for c in show["show"]["clips"] if c["id"] == clip][0]
    assert edited["label"] == "Storm" and edited["fade_out_ms"] == 2500


def ws_connect(stack):
    ws = stack.ws()
    first = json.loads(ws.recv())
    assert first["type"] == "snapshot" and first["seq"] == 1
    return ws, first


def ws_until(ws, pred, timeout=5):
    deadline = time.time() + timeout
    seq = None
    while time.time() < deadline:
        m = json.loads(ws.recv())
        if seq is not None:
            assert m["seq"] == seq + 1, "sequence gap"
        seq = m["seq"]
        if pred(m):
            return m
    raise AssertionError("message not seen")


def test_two_websocket_clients_see_the_same_start(stack):
    clip, _ = stack.clip_id("Click 120 BPM")
    a, snap = ws_connect(stack)
    b, _ = ws_connect(stack)
    assert len(snap["show"]["pages"][0]["tabs"]) == 8
    a.send(json.dumps({"cmd": "toggle", "clip": clip, "req": 41}))
    ack = ws_until(a, lambda m: m["type"] in ("ack", "error") and m.get("req") == 41)
    assert ack["type"] == "ack" and ack["action"] == "start"
    for ws in (a, b):
        ev = ws_until(ws, lambda m: m["type"] == "event" and m.get("event") == "clip_started" and m["clip"] == clip)
        print(f"\nMEASURE engine_pickup cycles_waited={ev['cycles_waited']} wait_us={ev['wait_us']}")
        assert ev["cycles_waited"] == 1, "the command was not picked up by the next cycle"
        st = ws_until(ws, lambda m: m["type"] == "state" and any(c["id"] == clip for c in m["live"]["clips"]))
        playing = [c for c in st["live"]["clips"] if c["id"] == clip][0]
        assert playing["state"] == "playing" and playing["remaining_s"] > 0
    a.send(json.dumps({"cmd": "toggle", "clip": clip, "req": 42}))
    ack = ws_until(a, lambda m: m["type"] in ("ack", "error") and m.get("req") == 42)
    assert ack["action"] == "stop"
    ws_until(b, lambda m: m["type"] == "event" and m.get("event") == "clip_stopped" and m["clip"] == clip)
    a.send("{not json")
    err = ws_until(a, lambda m: m["type"] == "error")
    assert err["error"]["field"] == "body"
    a.close()
    b.close()


def test_engine_reports_its_real_scheduling(stack):
    _, health = stack.http("GET", "/api/health")
    sched = health["engine"]["scheduling"]
    print(f"\nMEASURE scheduling={sched['policy']}/{sched['priority']} "
          f"process_worst_us={health['engine']['process_worst_us']}")
    assert sched["policy"] in ("SCHED_FIFO", "SCHED_RR", "SCHED_OTHER")
    if os.geteuid() == 0:
        assert sched["policy"] == "SCHED_FIFO" and sched["priority"] > 0


def test_the_audio_thread_is_pinned_to_the_cpu_the_settings_name(stack):
    """emergency.audio_cpu: the JACK process thread's affinity, read back
    from the kernel (/proc) as well as from the engine's health."""
    def cpus():
        return stack.http("GET", "/api/health")[1]["engine"]["scheduling"]

    def pinned_threads():
        # Threads of the engine the kernel allows only on CPU 1.
        pid = stack.http("GET", "/api/health")[1]["engine"]["pid"]
        n = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                n += any(line.split() == ["Cpus_allowed_list:", "1"] for line in f)
        return n

    status, body = stack.http("PATCH", "/api/settings/emergency", body={"audio_cpu": 1})
    assert status == 200, body
    assert wait_for(lambda: cpus()["cpus"] == [1], 3), cpus()
    assert cpus()["cpu_error"] == ""
    assert pinned_threads() == 1  # the process thread, and only it
    status, body = stack.http("PATCH", "/api/settings/emergency", body={"audio_cpu": 63})
    assert status == 200, body
    assert wait_for(lambda: "no CPU 63" in cpus()["cpu_error"], 3), cpus()
    assert cpus()["cpus"] == [1]  # unchanged
    stack.http("PATCH", "/api/settings/emergency", body={"audio_cpu": -1})
    assert wait_for(lambda: len(cpus()["cpus"]) == os.cpu_count(), 3), cpus()


def test_a_layout_edit_reaches_every_client_as_its_page_or_a_fresh_snapshot(stack):
    ws, snap = ws_connect(stack)
    try:
        # A tab edit: an `edit` carrying the whole page it is on.
        status, body = stack.http("PATCH", "/api/pages/0/tabs/1", body={"name": "Act 2 cues", "rows": 6, "cols": 5})
        assert status == 200, body
        m = ws_until(ws, lambda m: m["type"] in ("edit", "snapshot") and "clip" not in m)
        assert m["type"] == "edit" and m["revision"] == body["revision"]
        assert m["page"]["index"] == 0 and len(m["page"]["tabs"]) == 8
        tab = m["page"]["tabs"][1]
        assert tab["name"] == "Act 2 cues"
        assert (tab["grid"]["rows"], tab["grid"]["cols"], tab["grid"]["prev_rows"]) == (6, 5, 4)
        # A cell: the same.
        clip = snap["show"]["clips"][0]["id"]
        status, body = stack.http("PUT", "/api/pages/0/tabs/1/cells/5/4", body={"clip": clip})
        assert status == 200, body
        m = ws_until(ws, lambda m: m["type"] in ("edit", "snapshot") and "clip" not in m)
        assert m["type"] == "edit" and {"row": 5, "col": 4, "clip": clip}.items() <= m["page"]["tabs"][1]["cells"][0].items()
        # The show's own data (its name): a fresh snapshot.
        status, body = stack.http("PATCH", "/api/show", body={"name": "Renamed"})
        assert status == 200, body
        m = ws_until(ws, lambda m: m["type"] == "snapshot")
        assert m["show"]["name"] == "Renamed" and m["revision"] == body["revision"]
    finally:
        ws.close()
