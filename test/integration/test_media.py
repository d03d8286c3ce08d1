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
