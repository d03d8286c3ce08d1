"""Roles and access control on a real box: no credentials get 401 (API,
/metrics, the WebSocket), an operator editing gets 403 but performs, a
cookie's change without its CSRF token gets 403, a brute-forced login is
throttled, a viewer's WebSocket cannot start clips, a foreign page cannot
open the WebSocket with the cookie, a logout ends the session, and a
restarted cuebox-web still knows every session. (A wrong OSC passcode is
ignored and logged: test_osc.)"""
import json
import os
import signal
import time

import pytest
import websocket

from stack import _call, playing, session_cookie, wait_for


def login(stack, user, password):
    status, body, hdrs = _call(stack.port, "POST", "/api/login", {"user": user, "password": password})
    assert status == 200, (status, body)
    return {"Cookie": session_cookie(hdrs)}, body["csrf"]


@pytest.fixture(scope="module")
def users(stack):
    for name, role, secret in (("op", "operator", {"pin": "2468"}), ("ro", "viewer", {"password": "just looking"})):
        status, body = stack.http("POST", "/api/users", {"name": name, "role": role, **secret})
        assert status == 201, body
    return {"op": "2468", "ro": "just looking"}


def test_no_credentials_get_401_and_nothing_happens(stack):
    clip, _ = stack.clip_id("Bell")
    for method, path in (("GET", "/api/show"), ("POST", f"/api/clips/{clip}/start"), ("GET", "/metrics"),
                         ("PATCH", f"/api/clips/{clip}"), ("GET", "/api/users")):
        status, body = stack.http(method, path, {"label": "x"} if method == "PATCH" else None, auth=False)
        assert status == 401 and body["error"]["code"] == "unauthenticated", (method, path, status, body)
    # A made-up token is no better.
    status, _ = stack.http("GET", "/api/show", auth=False, headers={"Authorization": "Bearer cbx_" + "0" * 64})
    assert status == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(f"ws://127.0.0.1:{stack.port}/api/ws", timeout=5)
    assert e.value.status_code == 401
    # Public: the UI itself, the session, health.
    assert stack.http("GET", "/", auth=False)[0] == 200
    status, body = stack.http("GET", "/api/session", auth=False)
    assert status == 200 and body["authenticated"] is False and body["setup_required"] is False
    assert stack.http("GET", "/api/health", auth=False)[0] == 200
    assert not playing(stack), "the refused start played"


def test_an_operator_performs_but_cannot_edit(stack, users):
    clip, _ = stack.clip_id("Bell")
    cookie, csrf = login(stack, "op", users["op"])
    h = dict(cookie, **{"X-CSRF-Token": csrf})
    status, body = stack.http("PATCH", f"/api/clips/{clip}", {"label": "Mine"}, headers=h, auth=False)
    assert status == 403 and body["error"]["code"] == "forbidden" and body["error"]["field"] == "role", body
    assert stack.clip_id("Bell")[0] == clip  # unchanged
    status, body = stack.http("POST", f"/api/clips/{clip}/start", headers=h, auth=False)
    assert status == 202, body
    # The master fader is performing, though it shares the audio settings' route.
    status, body = stack.http("PATCH", "/api/audio", {"master_db": -3}, headers=h, auth=False)
    assert status == 200, body
    status, body = stack.http("PATCH", "/api/audio", {"fade_in_ms": 40}, headers=h, auth=False)
    assert status == 403, body
    stack.http("PATCH", "/api/audio", {"master_db": 0})
    stack.http("POST", "/api/panic")


def test_a_cookie_change_without_its_csrf_token_is_refused(stack, users):
    clip, _ = stack.clip_id("Bell")
    cookie, csrf = login(stack, "admin", "cuebox-test-admin")
    status, body = stack.http("PATCH", f"/api/clips/{clip}", {"label": "Forged"}, headers=cookie, auth=False)
    assert status == 403 and body["error"]["code"] == "csrf", body
    status, body = stack.http("PATCH", f"/api/clips/{clip}", {"label": "Forged"}, headers=dict(cookie, **{"X-CSRF-Token": "x" * 32}),
                              auth=False)
    assert status == 403 and body["error"]["code"] == "csrf", body
    assert stack.clip_id("Bell")[0] == clip  # still called Bell
    # Reading needs no token; the right one lets the edit through.
    assert stack.http("GET", "/api/show", headers=cookie, auth=False)[0] == 200
    status, body = stack.http("PATCH", f"/api/clips/{clip}", {"label": "Bell 2"}, headers=dict(cookie, **{"X-CSRF-Token": csrf}),
                              auth=False)
    assert status == 200, body
    assert stack.http("PATCH", f"/api/clips/{clip}", {"label": "Bell"})[0] == 200


def test_a_brute_forced_login_is_throttled(stack, users):
    # From an address of its own (127.0.0.2): the hold is per address.
    for i in range(5):
        status, body, _ = _call(stack.port, "POST", "/api/login", {"user": "op", "password": f"{1000 + i}"}, source="127.0.0.2")
        assert status == 401 and body["error"]["code"] == "bad_credentials", body
    status, body, hdrs = _call(stack.port, "POST", "/api/login", {"user": "op", "password": users["op"]}, source="127.0.0.2")
    assert status == 429 and body["error"]["code"] == "too_many_attempts", body
    retry = int(dict((k.lower(), v) for k, v in hdrs)["retry-after"])
    assert 0 < retry <= 30
    # The operator at another address is not locked out.
    login(stack, "op", users["op"])
    # The event log has the failures.
    _, log = stack.http("GET", "/api/log?kind=login&limit=50")
    failures = [e for e in log["entries"] if "failed login as 'op'" in e["detail"]]
    assert len(failures) >= 5, log


def test_a_viewer_websocket_sees_but_cannot_start(stack, users):
    clip, _ = stack.clip_id("Bell")
    cookie, _ = login(stack, "ro", users["ro"])
    ws = websocket.create_connection(f"ws://127.0.0.1:{stack.port}/api/ws", timeout=5, header=[f"Cookie: {cookie['Cookie']}"],
                                     origin=f"http://127.0.0.1:{stack.port}")
    try:
        first = json.loads(ws.recv())
        assert first["type"] == "snapshot"
        ws.send(json.dumps({"cmd": "start", "clip": clip, "req": 7}))
        deadline = time.time() + 5
        while time.time() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("req") == 7:
                break
        assert msg["type"] == "error" and msg["error"]["code"] == "forbidden", msg
    finally:
        ws.close()
    # Another site's page cannot open it with the cookie.
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(f"ws://127.0.0.1:{stack.port}/api/ws", timeout=5, header=[f"Cookie: {cookie['Cookie']}"],
                                    origin="http://evil.example")
    assert e.value.status_code == 403


def test_logout_ends_the_session_and_its_websocket(stack, users):
    cookie, csrf = login(stack, "admin", "cuebox-test-admin")
    ws = websocket.create_connection(f"ws://127.0.0.1:{stack.port}/api/ws", timeout=5, header=[f"Cookie: {cookie['Cookie']}"])
    ws.recv()
    status, _ = stack.http("POST", "/api/logout", headers=dict(cookie, **{"X-CSRF-Token": csrf}), auth=False)
    assert status == 200
    assert stack.http("GET", "/api/show", headers=cookie, auth=False)[0] == 401
    # The box closes the session's WebSocket itself (state frames would
    # otherwise keep coming every second).
    closed = False
    deadline = time.time() + 5
    while time.time() < deadline and not closed:
        try:
            ws.recv()
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            closed = True
    assert closed, "the logged-out session's WebSocket stayed open"


def test_sessions_survive_a_restart_of_the_web_process(stack, users):
    cookie, _ = login(stack, "ro", users["ro"])
    old = stack.pid("cuebox-web")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: os.path.exists(os.path.join(stack.data, "cuebox-web.pid")) and stack.pid("cuebox-web") != old, 15)
    stack.wait_ready()
    status, body = stack.http("GET", "/api/session", headers=cookie, auth=False)
    assert status == 200 and body["authenticated"] and body["user"] == "ro" and body["role"] == "viewer", body
    assert stack.http("GET", "/api/show")[0] == 200  # and the token
