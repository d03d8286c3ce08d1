"""Record A through JACK: cuebox's own outputs are patched into its record
inputs (jack_connect), a clip plays, and the recording must hold that clip
sample for sample (24-bit WAV at the engine rate, in media/recordings)."""
import json
import os
import subprocess
import time

import numpy as np
import soundfile as sf
import websocket

from stack import align


def wait_event(ws, want, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        ws.settimeout(max(0.1, deadline - time.time()))
        try:
            m = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            break
        if m["type"] == "event" and want(m):
            return m
    return None


def test_record_a_captures_its_inputs_into_a_clip_ready_file(stack):
    env = stack.env
    for a, b in (("cuebox:out_1", "cuebox:rec_a_1"), ("cuebox:out_2", "cuebox:rec_a_2")):
        subprocess.run(["jack_connect", a, b], env=env, check=True)
    ws = stack.ws()
    try:
        status, body = stack.http("POST", "/api/record/A/start", body={"level_db": 0})
        assert status == 202, body
        assert stack.http("POST", "/api/record/A/start")[0] == 409  # already recording
        clip, path = stack.clip_id("Noise bursts")
        assert stack.http("POST", f"/api/clips/{clip}/start")[0] == 202
        # Stop when the clip has ended in JACK time, not after a wall-clock
        # sleep: on this VM the dummy server can lose a second of cycles to
        # stalls, and a clip 4 s long then takes longer than 4 s to play.
        stopped = wait_event(ws, lambda m: m.get("event") == "clip_stopped" and m.get("clip") == clip, 15)
        assert stopped, "the clip ended"
        time.sleep(0.3)  # its last period passes out_1/2 -> rec_a_1/2
        assert stack.http("POST", "/api/record/A/stop")[0] == 202
        done = wait_event(ws, lambda m: m.get("event") == "recording_done", 5)
        assert done and done["bus"] == "A" and done["overruns"] == 0, done
    finally:
        ws.close()
        for a, b in (("cuebox:out_1", "cuebox:rec_a_1"), ("cuebox:out_2", "cuebox:rec_a_2")):
            subprocess.run(["jack_disconnect", a, b], env=env)
    rec, rate = sf.read(os.path.join(stack.data, done["file"]), dtype="float32", always_2d=True)
    assert rate == 48000 and rec.shape[1] == 2
    assert abs(len(rec) / rate - done["duration_s"]) < 1e-6
    ref, _ = sf.read(path, dtype="float32", always_2d=True)
    start = align(rec[:, 0], ref[:, 0])
    n = min(len(rec) - start, len(ref))
    assert n == len(ref), "the whole clip is in the recording"
    # 24-bit PCM both ways: equal within one 24-bit step.
    assert np.abs(rec[start:start + n] - ref[:n]).max() < 2.0 ** -22
    status, body = stack.http("POST", "/api/record/C/start")
    assert status == 404 and body["error"]["field"] == "bus"
