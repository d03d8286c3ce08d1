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


def test_record_a_captures_its_inputs_into_a_clip_ready_file(stack):
    env = stack.env
    for a, b in (("cuebox:out_1", "cuebox:rec_a_1"), ("cuebox:out_2", "cuebox:rec_a_2")):
        subprocess.run(["jack_connect", a, b], env=env, check=True)
    ws = websocket.create_connection(f"ws://127.0.0.1:{stack.port}/api/ws", timeout=5)
    try:
        status, body = stack.http("POST", "/api/record/A/start", body={"level_db": 0})
        assert status == 202, body
        assert stack.http("POST", "/api/record/A/start")[0] == 409  # already recording
        clip, path = stack.clip_id("Noise bursts")
        stack.http("POST", f"/api/clips/{clip}/start")
        time.sleep(4.5)
        assert stack.http("POST", "/api/record/A/stop")[0] == 202
        done = None
        deadline = time.time() + 5
        while time.time() < deadline and done is None:
            m = json.loads(ws.recv())
            if m["type"] == "event" and m.get("event") == "recording_done":
                done = m
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
