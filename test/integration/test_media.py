"""The media library end to end: files of every format libsndfile reads,
made here with sox and libsndfile (python-soundfile), uploaded through the
HTTP API like the browser does, imported in the background, placed as clips,
and played through JACK: the capture must hold the tone at the right pitch
(so the rate conversion is right) and for the right length. Bad files are
refused with their reason. Then missing-media reconciliation (moves,
renames, duplicates, a near miss) and tempo/pitch renders."""
import os
import shutil
import struct
import subprocess
import time

import numpy as np
import soundfile as sf

from stack import judged_unless_disturbed, retry_on_xrun

from stack import CAPTURE_PERIOD  # noqa: E402

JACK_PERIOD = CAPTURE_PERIOD  # compares captured samples: see stack.CAPTURE_PERIOD

TONE_HZ = 440.0


def sox(path, rate, channels, seconds, *opts):
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", str(channels), *opts, path,
                    "synth", str(seconds), "sine", str(TONE_HZ), "gain", "-6"], check=True)


def tone(rate, channels, seconds):
    t = np.arange(int(rate * seconds)) / rate
    x = 0.5 * np.sin(2 * np.pi * TONE_HZ * t)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def add_bext(path):
    """Makes a WAV a Broadcast Wave file: a bext chunk after fmt."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    fmt = data.find(b"fmt ")
    size = struct.unpack("<I", data[fmt + 4:fmt + 8])[0]
    at = fmt + 8 + size + (size & 1)
    body = b"cuebox test".ljust(256, b"\0") + b"sound dept".ljust(32, b"\0") + b"ref".ljust(32, b"\0")
    body += b"2026-11-21" + b"12:00:00" + struct.pack("<IIH", 0, 0, 1) + bytes(64) + bytes(190)
    chunk = b"bext" + struct.pack("<I", len(body)) + body
    data[at:at] = chunk
    struct.pack_into("<I", data, 4, len(data) - 8)
    with open(path, "wb") as f:
        f.write(data)


# name -> (maker(path), source rate, channels, seconds, length tolerance in s)
def make_files(folder):
    files = {}

    def add(name, maker, rate, channels, seconds, slack=0.003):
        path = os.path.join(folder, name)
        maker(path)
        files[name] = (path, rate, channels, seconds, slack)

    add("wav16_44k.wav", lambda p: sox(p, 44100, 2, 1.0, "-b", "16"), 44100, 2, 1.0)
    add("pcm8.wav", lambda p: sox(p, 22050, 1, 1.0, "-b", "8"), 22050, 1, 1.0)
    add("hires96k.wav", lambda p: sox(p, 96000, 2, 1.0, "-b", "24"), 96000, 2, 1.0)
    add("six_ch.wav", lambda p: sox(p, 48000, 6, 1.0, "-b", "24"), 48000, 6, 1.0)
    add("extensible.wav", lambda p: sf.write(p, tone(44100, 2, 1.0), 44100, format="WAVEX", subtype="PCM_24"), 44100, 2, 1.0)
    add("float32.wav", lambda p: sf.write(p, tone(88200, 2, 1.0), 88200, format="WAV", subtype="FLOAT"), 88200, 2, 1.0)

    def bwf(p):
        sf.write(p, tone(48000, 2, 1.0), 48000, format="WAV", subtype="PCM_24")
        add_bext(p)
    add("broadcast.wav", bwf, 48000, 2, 1.0)
    add("long.rf64", lambda p: sf.write(p, tone(96000, 2, 1.0), 96000, format="RF64", subtype="PCM_24"), 96000, 2, 1.0)
    add("tone.aiff", lambda p: sox(p, 32000, 2, 1.0, "-b", "16"), 32000, 2, 1.0)
    add("tone.flac", lambda p: sox(p, 44100, 2, 1.0, "-b", "24"), 44100, 2, 1.0)
    add("tone.ogg", lambda p: sox(p, 44100, 2, 1.0), 44100, 2, 1.0, 0.01)
    add("tone.opus", lambda p: sf.write(p, tone(48000, 2, 1.0), 48000, format="OGG", subtype="OPUS"), 48000, 2, 1.0, 0.01)
    # MP3 frames carry encoder delay and padding.
    add("tone.mp3", lambda p: sox(p, 44100, 2, 1.0), 44100, 2, 1.0, 0.08)
    return files


def upload(stack, path, name, cell=None, target="project"):
    with open(path, "rb") as f:
        data = f.read()
    q = f"/api/media/upload?name={name}&target={target}"
    if cell:
        q += "&page={}&tab={}&row={}&col={}".format(*cell)
    status, body = stack.http("POST", q, body=data, headers={"Content-Type": "application/octet-stream"})
    assert status == 202, body
    return body["job"]["id"]


def wait_job(stack, job, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, body = stack.http("GET", f"/api/media/jobs/{job}")
        assert status == 200, body
        if body["job"]["state"] not in ("queued", "running"):
            return body["job"]
        time.sleep(0.1)
    raise AssertionError(f"media job {job} did not finish")


def snapshot(stack):
    return stack.http("GET", "/api/show")[1]


def played(stack, clip, seconds, check):
    """Starts a clip, captures out_1/out_2 for `seconds` and runs
    check(samples) on the capture (retried only when JACK was disturbed)."""
    def attempt():
        cap = stack.capture(["cuebox:out_1", "cuebox:out_2"], seconds)
        status, body = stack.http("POST", f"/api/clips/{clip}/start")
        assert status in (200, 202), body
        data, meta = cap.result()
        judged_unless_disturbed(meta, lambda: check(data))
    retry_on_xrun(stack, attempt)


def sounding(x, threshold=1e-3):
    idx = np.nonzero(np.abs(x) > threshold)[0]
    assert len(idx), "nothing sounded"
    return idx[0], idx[-1] + 1


def frequency(x, rate=48000):
    """The strongest frequency (Hann window, parabolic peak interpolation)."""
    x = x[:min(len(x), rate)]
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=8 * len(x)))
    k = int(np.argmax(spec[1:-1])) + 1
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-30)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / (8 * len(x))


def test_every_format_imports_and_plays_at_the_right_length_and_pitch(stack, tmp_path):
    files = make_files(str(tmp_path))
    jobs = {}
    for i, name in enumerate(files):
        jobs[name] = upload(stack, files[name][0], name, cell=(0, 1, i // 4, i % 4))
    clips = {}
    for name, job in jobs.items():
        j = wait_job(stack, job)
        item = j["items"][0]
        assert j["state"] == "done" and item["state"] == "done", (name, j)
        clips[name] = item["details"]["clip"]
    show = snapshot(stack)
    media = {m["name"]: m for m in show["show"]["media"]}
    for name, (path, rate, channels, seconds, slack) in files.items():
        m = media[name]
        assert m["source_rate"] == rate and m["channels"] == channels, m
        assert abs(m["duration_s"] - seconds) <= slack, (name, m)
        # The converted file is at the engine's rate; the original is kept.
        info = sf.info(os.path.join(stack.data, m["file"]))
        assert info.samplerate == 48000 and info.channels == channels and info.subtype == "FLOAT", (name, info)
        status, full = stack.http("GET", f"/api/media/{m['id']}")
        assert status == 200
        original = os.path.join(stack.data, full["media"]["original"])
        assert open(original, "rb").read() == open(path, "rb").read(), name
        assert len(full["media"]["waveform"]["max"]) > 100
        assert full["media"]["used_by"] == [clips[name]]

    for name, (path, rate, channels, seconds, slack) in files.items():
        def check(data, name=name, seconds=seconds, slack=slack):
            left = data[:, 0]
            on, off = sounding(left)
            length = (off - on) / 48000
            assert abs(length - seconds) <= slack + 0.002, f"{name}: played {length:.4f} s of {seconds} s"
            hz = frequency(left[on + 480:off - 480])
            assert abs(hz - TONE_HZ) < 1.0, f"{name}: played at {hz:.2f} Hz (rate conversion wrong?)"
        played(stack, clips[name], seconds + 1.0, check)


def test_bad_files_are_refused_with_their_reason_and_change_nothing(stack, tmp_path):
    sox(str(tmp_path / "whole.wav"), 44100, 2, 1.0, "-b", "16")
    whole = (tmp_path / "whole.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(whole[:len(whole) // 3])
    sox(str(tmp_path / "whole.flac"), 44100, 2, 2.0, "-b", "16")
    flac = (tmp_path / "whole.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(flac[:len(flac) // 2])
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "words.wav").write_text("These are the director's notes, not audio.\n")
    before = snapshot(stack)
    for name, why in (("cut.wav", "truncated"), ("cut.flac", "truncated"), ("empty.wav", "is empty"),
                      ("words.wav", "is not audio")):
        j = wait_job(stack, upload(stack, str(tmp_path / name), name, cell=(0, 2, 0, 0)))
        item = j["items"][0]
        assert item["state"] == "failed" and why in item["error"] and name in item["error"], (name, j)
    after = snapshot(stack)
    assert after["show"]["media"] == before["show"]["media"]
    assert after["show"]["clips"] == before["show"]["clips"]
    # Nothing of them is left in the project folder or the upload folder.
    folder = os.path.join(stack.data, "media", "show-1")
    names = os.listdir(folder) + os.listdir(os.path.join(folder, "originals")) if os.path.isdir(folder) else []
    assert not [n for n in names if n.startswith(("cut", "empty", "words"))], names
    assert not [n for n in os.listdir(os.path.join(stack.data, "import")) if not n.startswith(".")]
    # Bad requests name the field.
    status, body = stack.http("POST", "/api/media/upload?target=project", body=b"RIFF",
                              headers={"Content-Type": "application/octet-stream"})
    assert status == 400 and body["error"]["field"] == "name", body
    status, body = stack.http("POST", "/api/media/import", body={"path": "relative/folder"})
    assert status == 400 and body["error"]["field"] == "path", body
    status, body = stack.http("POST", "/api/media/import", body={"path": "/nonexistent/stick"})
    assert status == 404 and body["error"]["field"] == "path", body


def clip_by_media(stack, name):
    show = snapshot(stack)
    mid = next(m["id"] for m in show["show"]["media"] if m["name"] == name)
    return next(c for c in show["show"]["clips"] if c["media"] == mid)


def settled(stack, name, status="ok", timeout=5):
    """The clip of media `name` once its status is `status` (the engine
    reports what it loaded a moment after the store changed)."""
    deadline = time.time() + timeout
    while True:
        c = clip_by_media(stack, name)
        if c["status"] == status or time.time() > deadline:
            return c
        time.sleep(0.05)


def check_media(stack):
    status, body = stack.http("POST", "/api/media/check")
    assert status == 202, body
    j = wait_job(stack, body["job"]["id"])
    assert j["state"] == "done", j
    return j["result"]


def sounds_at(stack, clip, hz, seconds=1.5):
    def check(data):
        on, off = sounding(data[:, 0])
        got = frequency(data[on + 480:off - 480, 0])
        assert abs(got - hz) < 2.0, f"played {got:.1f} Hz, expected {hz}"
    played(stack, clip, seconds, check)


def test_missing_media_is_reconciled_by_hash_name_size_and_confirmation(stack, tmp_path):
    src = tmp_path / "sfx"
    src.mkdir()
    for name, hz, secs in (("alarm.wav", 550, 1.0), ("bell.wav", 660, 1.2), ("chime.wav", 770, 1.4), ("door.wav", 880, 0.8)):
        subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", "-b", "16", str(src / name), "synth", str(secs),
                        "sine", str(hz), "gain", "-6"], check=True)
    # A folder on a stick: every audio file in it, placed from row 0 of tab 4.
    status, body = stack.http("POST", "/api/media/import", body={"path": str(src), "place": {"page": 0, "tab": 3, "row": 0, "col": 0}})
    assert status == 202, body
    j = wait_job(stack, body["job"]["id"])
    assert [i["state"] for i in j["items"]] == ["done"] * 4 and j["result"]["placed"] == 4, j
    alarm, bell, chime = (clip_by_media(stack, n) for n in ("alarm.wav", "bell.wav", "chime.wav"))
    assert check_media(stack)["missing"] == 0
    data = stack.data

    # 1. Moved and renamed inside the library: one exact content match is
    #    relinked without asking, and the relink is recorded.
    os.makedirs(os.path.join(data, "media", "moved"))
    shutil.move(os.path.join(data, alarm["file"]), os.path.join(data, "media", "moved", "alarm (final).wav"))
    r = check_media(stack)
    assert r["relinked"] == 1 and r["missing"] == 0, r
    alarm = settled(stack, "alarm.wav")
    assert alarm["file"] == "media/moved/alarm (final).wav" and alarm["status"] == "ok", alarm
    assert alarm["media_check"]["relinks"] == 1
    status, hist = stack.http("GET", "/api/history?limit=5")
    assert any("relinked clip" in e["what"] for e in hist["entries"]), hist
    sounds_at(stack, alarm["id"], 550)

    # 2. Two identical copies on the alternate search paths: both are exact
    #    matches, so the operator chooses; meanwhile the clip is missing and
    #    never stalls another clip.
    alt1, alt2 = tmp_path / "alt1", tmp_path / "alt2"
    (alt1 / "deep").mkdir(parents=True)
    alt2.mkdir()
    status, body = stack.http("PATCH", "/api/settings/media", body={"search_paths": [str(alt1), str(alt2)]})
    assert status == 200, body
    bell_file = os.path.join(data, bell["file"])
    shutil.copy(bell_file, alt1 / "deep" / "bell copy.wav")
    shutil.move(bell_file, alt2 / "bell.wav")
    r = check_media(stack)
    assert r["relinked"] == 0 and r["missing"] == 1, r
    status, body = stack.http("GET", "/api/media/missing")
    entry = next(m for m in body["missing"] if m["clip"] == bell["id"])
    assert entry["status"] == "missing"
    cands = entry["candidates"]
    assert len(cands) == 2 and all(c["hash_match"] and c["score"] == 1.0 for c in cands), cands
    assert {c["where"] for c in cands} == {"alternate"}
    assert any("content hash" in p for p in entry["patterns"]), entry["patterns"]
    assert settled(stack, "bell.wav", "missing")["status"] == "missing"
    stack.http("POST", f"/api/clips/{bell['id']}/start")
    sounds_at(stack, chime["id"], 770)
    # The operator confirms one; bad confirmations change nothing.
    status, body = stack.http("POST", f"/api/media/missing/{bell['id']}/relink", body={"path": "relative.wav"})
    assert status == 400 and body["error"]["field"] == "path"
    status, body = stack.http("POST", f"/api/media/missing/{bell['id']}/relink", body={"path": str(tmp_path / "nothing.wav")})
    assert status == 400 and body["error"]["field"] == "path"
    chosen = next(c["path"] for c in cands if c["path"].endswith("bell copy.wav"))
    status, body = stack.http("POST", f"/api/media/missing/{bell['id']}/relink", body={"path": chosen})
    assert status == 200, body
    bell = settled(stack, "bell.wav")
    assert bell["file"] == chosen and bell["status"] == "ok"
    sounds_at(stack, bell["id"], 660)
    status, body = stack.http("GET", "/api/media/missing")
    assert not [m for m in body["missing"] if m["clip"] == bell["id"]]

    # 3. A near miss: the same name but other content and size. Offered with
    #    a lower score, never relinked by itself.
    chime_file = os.path.join(data, chime["file"])
    name = os.path.basename(chime_file)
    os.remove(chime_file)
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "2", "-b", "16", str(alt2 / name), "synth", "0.3",
                    "sine", "300"], check=True)
    r = check_media(stack)
    assert r["relinked"] == 0, r
    status, body = stack.http("GET", "/api/media/missing")
    entry = next(m for m in body["missing"] if m["clip"] == chime["id"])
    near = [c for c in entry["candidates"] if c["path"] == str(alt2 / name)]
    assert near and not near[0]["hash_match"] and 0.3 <= near[0]["score"] < 0.9, entry["candidates"]
    assert "same name" in near[0]["reasons"], near
    assert clip_by_media(stack, "chime.wav")["file"] == chime["file"]

    # 4. The whole project folder renamed: its clips are found again in one check.
    inside = {c["id"] for c in snapshot(stack)["show"]["clips"]
              if c["file"].startswith("media/show-1/") and os.path.exists(os.path.join(data, c["file"]))}
    folder = os.path.join(data, "media", "show-1")
    os.rename(folder, folder + " (old)")
    r = check_media(stack)
    show = snapshot(stack)
    moved = {c["id"]: c for c in show["show"]["clips"] if c["file"].startswith("media/show-1 (old)/")}
    assert set(moved) == inside and r["relinked"] == len(inside), (r, [c["file"] for c in show["show"]["clips"]])
    door = settled(stack, "door.wav")
    assert door["id"] in moved and os.path.exists(os.path.join(data, door["file"]))
    sounds_at(stack, door["id"], 880)


def test_tempo_sync_and_pitch_play_renders_made_in_the_background(stack, tmp_path):
    # A click every 0.5 s (120 bpm) for 8 s, and a 440 Hz tone.
    rate = 44100
    clicks = np.zeros((rate * 8, 2), dtype=np.float32)
    for k in range(16):
        at = int(k * 0.5 * rate)
        clicks[at:at + 200] = 0.8 * np.hanning(200)[:, None] * np.sin(2 * np.pi * 2000 * np.arange(200) / rate)[:, None]
    sf.write(str(tmp_path / "clicks120.wav"), clicks, rate, subtype="PCM_16")
    sox(str(tmp_path / "a440.wav"), 48000, 2, 2.0, "-b", "16")
    j = wait_job(stack, upload(stack, str(tmp_path / "clicks120.wav"), "clicks120.wav", cell=(0, 4, 0, 0)))
    assert j["items"][0]["state"] == "done", j
    j = wait_job(stack, upload(stack, str(tmp_path / "a440.wav"), "a440.wav", cell=(0, 4, 0, 1)))
    assert j["items"][0]["state"] == "done", j
    clicks_clip = clip_by_media(stack, "clicks120.wav")
    tone_clip = clip_by_media(stack, "a440.wav")
    status, m = stack.http("GET", f"/api/media/{clicks_clip['media']}")
    tempo = m["media"]["analysis"]["tempo"]
    assert abs(tempo["bpm"] - 120) < 1.5, tempo
    assert len(tempo["beats"]) >= 12

    assert stack.http("PATCH", "/api/settings/transport", body={"tempo_bpm": 150})[0] == 200
    assert stack.http("PATCH", f"/api/clips/{clicks_clip['id']}", body={"tempo_sync": True})[0] == 200
    assert stack.http("PATCH", f"/api/clips/{tone_clip['id']}", body={"pitch_semitones": 12})[0] == 200

    deadline = time.time() + 90
    while time.time() < deadline:
        renders = {r["clip"]: r for r in stack.http("GET", "/api/media/renders")[1]["renders"]}
        if all(renders[c]["state"] == "ready" for c in (clicks_clip["id"], tone_clip["id"])):
            break
        time.sleep(0.5)
    assert renders[clicks_clip["id"]]["state"] == "ready", renders
    assert abs(renders[clicks_clip["id"]]["time_ratio"] - tempo["bpm"] / 150) < 1e-4
    # The engine picks the renders up with the media record's new revision.
    time.sleep(1.0)

    def clicks_at_150(data):
        x = np.abs(data[:, 0])
        peaks = []
        i = 0
        while i < len(x):
            if x[i] > 0.1:
                peaks.append(i)
                i += 2400  # 50 ms
            else:
                i += 1
        gaps = np.diff(peaks) / 48000
        assert len(peaks) >= 14, peaks
        # 120 bpm (as analysed) played at 150 bpm.
        assert abs(np.median(gaps) - 0.5 * 120 / 150) < 0.006, gaps
    played(stack, clicks_clip["id"], 7.5, clicks_at_150)
    sounds_at(stack, tone_clip["id"], 880, seconds=2.5)
    status, m = stack.http("GET", f"/api/media/{tone_clip['media']}")
    assert m["media"]["renders"] and m["media"]["renders"][0]["pitch_semitones"] == 12


def test_a_take_from_record_a_is_imported(stack):
    env = stack.env
    for a, b in (("cuebox:out_1", "cuebox:rec_a_1"), ("cuebox:out_2", "cuebox:rec_a_2")):
        subprocess.run(["jack_connect", a, b], env=env, check=True)
    try:
        assert stack.http("POST", "/api/record/A/start")[0] == 202
        clip, _ = stack.clip_id("Noise bursts")
        stack.http("POST", f"/api/clips/{clip}/start")
        time.sleep(1.5)
        assert stack.http("POST", "/api/record/A/stop")[0] == 202
        time.sleep(0.5)
    finally:
        for a, b in (("cuebox:out_1", "cuebox:rec_a_1"), ("cuebox:out_2", "cuebox:rec_a_2")):
            subprocess.run(["jack_disconnect", a, b], env=env)
    status, body = stack.http("POST", "/api/media/import", body={"recording": "A", "place": {"page": 0, "tab": 5, "row": 0, "col": 0}})
    assert status == 202, body
    j = wait_job(stack, body["job"]["id"])
    assert j["items"][0]["state"] == "done", j
    assert j["items"][0]["name"].startswith("rec_a_")
    status, body = stack.http("POST", "/api/media/import", body={"recording": "B"})
    assert status == 404 and body["error"]["field"] == "recording"


def test_a_normalised_clip_plays_at_the_loudness_target(stack, tmp_path):
    sox(str(tmp_path / "loud.wav"), 48000, 2, 1.5, "-b", "16")
    j = wait_job(stack, upload(stack, str(tmp_path / "loud.wav"), "loud.wav", cell=(0, 6, 0, 0)))
    assert j["items"][0]["state"] == "done", j
    clip = clip_by_media(stack, "loud.wav")
    analysis = stack.http("GET", f"/api/media/{clip['media']}")[1]["media"]["analysis"]
    assert abs(analysis["peak_db"] - (-6.02)) < 0.1, analysis
    assert stack.http("PATCH", "/api/settings/media", body={"loudness_target_lufs": -20})[0] == 200
    assert stack.http("PATCH", f"/api/clips/{clip['id']}", body={"normalize": True})[0] == 200
    gain = min(-20 - analysis["loudness_lufs"], -1 - analysis["true_peak_db"])
    expected = 0.5 * 10 ** (gain / 20)

    def at_target(data):
        on, off = sounding(data[:, 0])
        peak = np.abs(data[on + 4800:off - 4800, 0]).max()
        assert abs(20 * np.log10(peak / expected)) < 0.2, f"peak {peak:.4f}, expected {expected:.4f} ({gain:.1f} dB)"
    played(stack, clip["id"], 2.0, at_target)
    # Off again: the file's own level.
    assert stack.http("PATCH", f"/api/clips/{clip['id']}", body={"normalize": False})[0] == 200
    played(stack, clip["id"], 2.0, lambda d: np.testing.assert_allclose(
        np.abs(d[:, 0]).max(), 0.5, rtol=0.03))
