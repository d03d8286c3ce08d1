"""The session model over HTTP against the real stack: change history with
undo/redo that survives a kill -9 of cuebox-web, the event log and its
exports, backups (a damaged one refused), recovery points, many shows, and
bad input that changes nothing."""
import csv
import io
import os
import signal
import time
import xml.etree.ElementTree as ET

from stack import CAPTURE_PERIOD  # noqa: E402

JACK_PERIOD = CAPTURE_PERIOD  # compares captured samples: see stack.CAPTURE_PERIOD


def revision(stack):
    return stack.http("GET", "/api/show")[1]["revision"]


def restart_web(stack):
    pid = stack.pid("cuebox-web")
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            if stack.pid("cuebox-web") != pid:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    stack.wait_ready()


def test_undo_and_redo_survive_a_restart_and_name_the_client(stack):
    clip, _ = stack.clip_id("Click 120 BPM")
    hdr = {"X-Cuebox-Client": "stage-left iPad"}
    assert stack.http("PATCH", f"/api/clips/{clip}", {"label": "Click A"}, headers=hdr)[0] == 200
    assert stack.http("PATCH", f"/api/clips/{clip}", {"label": "Click B"}, headers=hdr)[0] == 200
    restart_web(stack)
    status, h = stack.http("GET", "/api/history?limit=3")
    assert status == 200
    top = h["entries"][0]
    assert "stage-left iPad" in top["client"] and top["client"].startswith("http 127.0.0.1")
    assert not top["undone"]
    assert h["store"]["last_save"]
    assert stack.http("POST", "/api/undo")[0] == 200
    restart_web(stack)
    assert stack.clip_id("Click A")[0] == clip
    assert stack.http("POST", "/api/redo")[0] == 200
    assert stack.clip_id("Click B")[0] == clip
    status, err = stack.http("POST", "/api/redo")
    assert status == 409 and err["error"]["field"] == "redo"


def test_triggers_and_edits_reach_the_event_log_in_csv_json_and_xml(stack):
    clip, _ = stack.clip_id("Tone A4")
    since = time.time_ns()
    assert stack.http("POST", f"/api/clips/{clip}/start")[0] == 202
    time.sleep(0.3)
    assert stack.http("POST", f"/api/clips/{clip}/stop")[0] == 202
    deadline = time.time() + 5
    kinds = set()
    while time.time() < deadline and not {"trigger", "stop"} <= kinds:
        time.sleep(0.3)
        _, j = stack.http("GET", f"/api/log?format=json&from_ns={since}")
        kinds = {e["kind"] for e in j["entries"] if "Tone A4" in e["detail"]}
    assert {"trigger", "stop"} <= kinds, j
    _, text = stack.http("GET", f"/api/log?format=csv&from_ns={since}")
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    assert any(r["kind"] == "trigger" and "Tone A4" in r["detail"] for r in rows)
    _, xml = stack.http("GET", f"/api/log?format=xml&kind=trigger&from_ns={since}")
    entries = ET.fromstring(xml).findall("entry")
    assert entries and all(e.get("kind") == "trigger" for e in entries)
    status, err = stack.http("GET", "/api/log?format=pdf")
    assert status == 400 and err["error"]["field"] == "format"


def test_a_backup_restores_and_a_damaged_one_is_refused(stack):
    clip, _ = stack.clip_id("Tone A4")
    stack.http("PATCH", f"/api/clips/{clip}", {"label": "Backed up"})
    status, good = stack.http("POST", "/api/backups")
    assert status == 201 and good["valid"]
    status, bad = stack.http("POST", "/api/backups")
    assert status == 201
    _, listing = stack.http("GET", "/api/backups")
    path = os.path.join(listing["location"], bad["name"], "data.mdb")
    with open(path, "r+b") as f:
        f.seek(bad["bytes"] // 2)
        b = f.read(1)
        f.seek(bad["bytes"] // 2)
        f.write(bytes([b[0] ^ 0x01]))
    _, listing = stack.http("GET", "/api/backups")
    damaged = next(b for b in listing["backups"] if b["name"] == bad["name"])
    assert not damaged["valid"] and "checksum" in damaged["problem"]
    stack.http("PATCH", f"/api/clips/{clip}", {"label": "Later"})
    rev = revision(stack)
    status, err = stack.http("POST", f"/api/backups/{bad['name']}/restore")
    assert status == 409 and "checksum" in err["error"]["reason"]
    assert revision(stack) == rev and stack.clip_id("Later")[0] == clip
    status, _ = stack.http("POST", f"/api/backups/{good['name']}/restore")
    assert status == 200
    assert stack.clip_id("Backed up")[0] == clip
    assert stack.http("GET", "/api/health")[1]["engine"]["connected"]
    status, err = stack.http("POST", "/api/backups/..%2Fstore/restore")
    assert status in (400, 404)


def test_recovery_points_and_many_shows(stack):
    _, snap = stack.http("GET", "/api/show")
    clip, label = snap["show"]["clips"][0]["id"], snap["show"]["clips"][0]["label"]
    status, p = stack.http("POST", "/api/recovery", {"name": "before the dress"})
    assert status == 201 and p["kind"] == "named"
    stack.http("PATCH", f"/api/clips/{clip}", {"label": "Changed after"})
    assert stack.http("POST", f"/api/recovery/{p['id']}/restore")[0] == 200
    assert stack.clip_id(label)[0] == clip
    demo = stack.http("GET", "/api/show")[1]["show"]["id"]
    status, copy = stack.http("POST", f"/api/shows/{demo}/duplicate", {"name": "Matinee"})
    assert status == 201
    status, _ = stack.http("POST", f"/api/shows/{copy['id']}/load")
    assert status == 200
    _, snap = stack.http("GET", "/api/show")
    assert snap["show"]["name"] == "Matinee" and len(snap["show"]["clips"]) == 16
    # The engine follows the loaded show: a clip of the copy plays.
    c = snap["show"]["clips"][0]["id"]
    assert stack.http("POST", f"/api/clips/{c}/start")[0] == 202
    stack.http("POST", f"/api/clips/{c}/stop")
    assert stack.http("DELETE", f"/api/shows/{copy['id']}")[0] == 409
    assert stack.http("POST", f"/api/shows/{demo}/load")[0] == 200
    assert stack.http("DELETE", f"/api/shows/{copy['id']}")[0] == 200
    _, backups = stack.http("GET", "/api/backups")
    assert any(b["reason"] == f"before deleting show {copy['id']}" and b["valid"] for b in backups["backups"])
    _, shows = stack.http("GET", "/api/shows")
    assert [s["id"] for s in shows["shows"]] == [demo]


def test_bad_input_is_a_clear_4xx_and_changes_nothing(stack):
    clip = stack.http("GET", "/api/show")[1]["show"]["clips"][0]["id"]
    rev = revision(stack)
    cases = [
        ("PATCH", "/api/clips/999999", {"label": "x"}, 404, "id"),
        ("PATCH", "/api/pages/0/tabs/8", {"name": "ninth"}, 404, "tab"),
        ("PUT", "/api/pages/0/tabs/0/cells/9/0", {"clip": clip}, 400, "row"),
        ("PATCH", f"/api/clips/{clip}", {"color": "red"}, 400, "color"),
        ("PATCH", f"/api/clips/{clip}", {"level_db": 40}, 400, "level_db"),
        ("PATCH", f"/api/clips/{clip}", {"fade_in_ms": -5}, 400, "fade_in_ms"),
        ("PATCH", "/api/settings/voices", {"stream_above_s": 0}, 400, "voices.stream_above_s"),
        ("POST", "/api/mappings", {"source": "osc", "address": "/go", "action": "start"}, 400, "clip"),
        ("POST", "/api/shows", {"name": "\u0007bell"}, 400, "name"),
        ("DELETE", "/api/shows/424242", None, 404, "show"),
        ("POST", "/api/recovery/424242/restore", None, 404, "id"),
    ]
    for method, path, body, want, field in cases:
        status, err = stack.http(method, path, body)
        assert status == want, (method, path, status, err)
        assert err["error"]["field"] == field, (path, err)
        assert err["error"]["reason"]
    assert revision(stack) == rev


def test_a_show_bundle_exports_and_imports_with_its_media_and_bad_ones_are_refused(stack):
    demo = stack.http("GET", "/api/show")[1]["show"]["id"]
    status, e = stack.http("POST", f"/api/shows/{demo}/export")
    assert status == 201 and e["media_files"] == 16 and e["missing_media"] == 0
    with open(e["file"], "rb") as f:
        data = f.read()
    assert len(data) == e["bytes"]
    imp = os.path.join(stack.data, "import")
    os.makedirs(imp, exist_ok=True)
    with open(os.path.join(imp, "cut.cuebox"), "wb") as f:
        f.write(data[: len(data) // 2])
    shows_before = len(stack.http("GET", "/api/shows")[1]["shows"])
    status, err = stack.http("POST", "/api/shows/import", {"path": "cut.cuebox"})
    assert status == 400 and "truncated" in err["error"]["reason"], err
    status, err = stack.http("POST", "/api/shows/import", {"path": "../store/data.mdb"})
    assert status == 400 and err["error"]["field"] == "path"
    assert len(stack.http("GET", "/api/shows")[1]["shows"]) == shows_before
    status, r = stack.http("POST", "/api/shows/import", {"path": e["file"], "name": "Touring copy"})
    assert status == 201 and r["media_files"] == 16, r
    assert stack.http("POST", f"/api/shows/{r['id']}/load")[0] == 200
    _, snap = stack.http("GET", "/api/show")
    assert snap["show"]["name"] == "Touring copy"
    assert all(c["file"].startswith("media/imported/") and c["status"] == "ok" for c in snap["show"]["clips"])
    c = snap["show"]["clips"][0]["id"]
    assert stack.http("POST", f"/api/clips/{c}/start")[0] == 202
    stack.http("POST", f"/api/clips/{c}/stop")
    assert stack.http("POST", f"/api/shows/{demo}/load")[0] == 200


def test_the_streaming_threshold_setting_reaches_the_engine(stack):
    clip, _ = stack.clip_id("Pink noise")  # 10 s

    def streams_while_playing():
        assert stack.http("POST", f"/api/clips/{clip}/start")[0] == 202
        time.sleep(0.4)
        n = stack.http("GET", "/api/health")[1]["engine"]["streams_active"]
        stack.http("POST", f"/api/clips/{clip}/stop", {"fade_ms": 0})
        time.sleep(0.3)
        return n

    assert streams_while_playing() == 0  # default: clips up to 60 s stay in RAM
    status, _ = stack.http("PATCH", "/api/settings/voices", {"stream_above_s": 5})
    assert status == 200
    deadline = time.time() + 10
    n = 0
    while time.time() < deadline and n == 0:
        n = streams_while_playing()
    assert n == 1
    stack.http("PATCH", "/api/settings/voices", {"stream_above_s": 60})


def test_a_bundle_downloads_and_uploads_over_http(stack):
    demo = stack.http("GET", "/api/show")[1]["show"]["id"]
    status, e = stack.http("POST", f"/api/shows/{demo}/export")
    assert status == 201
    _, listing = stack.http("GET", "/api/exports")
    assert e["name"] in [x["name"] for x in listing["exports"]]
    status, data = stack.http("GET", f"/api/exports/{e['name']}")
    assert status == 200 and len(data) == e["bytes"] > 1 << 20
    assert stack.http("GET", "/api/exports/..%2Fstore%2Fdata.mdb")[0] in (400, 404)
    assert stack.http("GET", "/api/exports/nosuch.cuebox")[0] == 404
    # A tampered upload is refused whole...
    bad = bytearray(data)
    bad[-5000] ^= 0x01
    shows = len(stack.http("GET", "/api/shows")[1]["shows"])
    status, err = stack.http("POST", "/api/shows/import?name=Bad", bytes(bad),
                             headers={"Content-Type": "application/octet-stream"})
    assert status == 400 and "SHA-256" in err["error"]["reason"], err
    assert len(stack.http("GET", "/api/shows")[1]["shows"]) == shows
    # ...the real one imports, named by the query.
    status, r = stack.http("POST", "/api/shows/import?name=Uploaded%20copy", bytes(data),
                           headers={"Content-Type": "application/octet-stream", "X-Cuebox-Client": "laptop"})
    assert status == 201 and r["media_files"] == 16, r
    names = [s["name"] for s in stack.http("GET", "/api/shows")[1]["shows"]]
    assert "Uploaded copy" in names
    # Uploads leave no partial files behind; other bodies stay small.
    imp = os.path.join(stack.data, "import")
    assert not [f for f in os.listdir(imp) if f.startswith(".upload-")]
    status, err = stack.http("PATCH", "/api/show", b"{" + b" " * 70000 + b"}")
    assert status == 413


def test_a_clip_added_from_media_plays_and_deleting_it_while_playing_fades_it_out(stack):
    import numpy as np
    from stack import retry_on_xrun

    # The demo's A4 tone, found by its file (earlier tests relabel clips).
    _, snap = stack.http("GET", "/api/show")
    rel = next(c["file"] for c in snap["show"]["clips"] if c["file"].endswith("tone_a4.wav"))
    status, r = stack.http("POST", "/api/clips", {"file": rel, "label": "Added tone",
                                                   "cell": {"page": 0, "tab": 1, "row": 0, "col": 0}})
    assert status == 201, r
    added = r["clip"]["id"]
    _, snap = stack.http("GET", "/api/show")
    assert any(c["id"] == added and c["status"] == "ok" for c in snap["show"]["clips"])
    assert any(c["clip"] == added for c in snap["show"]["pages"][0]["tabs"][1]["cells"])

    def attempt():
        # A retried attempt adds the clip again (the last one deleted it).
        nonlocal added
        if stack.http("GET", f"/api/clips/{added}")[0] == 404:
            st, again = stack.http("POST", "/api/clips", {"file": rel, "label": "Added tone"})
            assert st == 201, again
            added = again["clip"]["id"]
        cap = stack.capture(["cuebox:out_1"], 2.0)
        assert stack.http("POST", f"/api/clips/{added}/start")[0] == 202
        time.sleep(0.6)
        assert stack.http("DELETE", f"/api/clips/{added}")[0] == 200
        x = cap.result()[0][:, 0]
        assert np.abs(x).max() > 0.05, "the added clip did not sound"
        # Deleting it faded it out: no click, and silence after the fade.
        assert np.abs(np.diff(x, 2)).max() < 0.03
        assert np.abs(x[-int(0.3 * 48000):]).max() == 0.0

    retry_on_xrun(stack, attempt)
    assert stack.http("POST", f"/api/clips/{added}/start")[0] == 404
