"""Power-cut safety of edits: a stream of edits while cuebox-web (and then
cuebox-engine) is killed with SIGKILL at random moments. Every acknowledged
edit must be there afterwards, no edit may be half-applied, and the store
must open. Each edit sets a label and a level together, so a half-applied
edit would show as a label whose level does not match."""
import os
import random
import signal
import threading
import time

from stack import Stack  # noqa: F401  (fixture from conftest)


def level_for(n):
    return -float(n % 40)


def edit_stream(stack, clips, stop, acked, attempted):
    n = 0
    while not stop.is_set():
        n += 1
        clip = clips[n % len(clips)]
        attempted.setdefault(clip, []).append(n)
        try:
            status, body = stack.http("PATCH", f"/api/clips/{clip}", body={"label": f"e{n}", "level_db": level_for(n)})
        except OSError:
            time.sleep(0.05)  # the web process is down: the edit was not acknowledged
            continue
        if status == 200:
            acked[clip] = max(acked.get(clip, 0), n)


def kill_during_edits(stack, which, kills, seed):
    rng = random.Random(seed)
    _, show = stack.http("GET", "/api/show")
    clips = [c["id"] for c in show["show"]["clips"]]
    stop = threading.Event()
    acked, attempted = {}, {}
    t = threading.Thread(target=edit_stream, args=(stack, clips, stop, acked, attempted))
    t.start()
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(0.2, 0.9))
            pid = stack.pid(which)
            os.kill(pid, signal.SIGKILL)
            # The supervisor restarts it after a second; the next kill hits
            # the new process, at another random moment of the edit stream.
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    new = stack.pid(which)
                    if new != pid:
                        os.kill(new, 0)
                        break
                except (OSError, ValueError):
                    pass
                time.sleep(0.05)
        time.sleep(1.5)
    finally:
        stop.set()
        t.join()
    stack.wait_ready()
    status, show = stack.http("GET", "/api/show")
    assert status == 200  # the store opened again
    by_id = {c["id"]: c for c in show["show"]["clips"]}
    assert sum(len(v) for v in attempted.values()) > 50
    for clip, last in acked.items():
        c = by_id[clip]
        n = int(c["label"][1:])
        # The clip holds its last acknowledged edit, or a later one whose
        # acknowledgement was lost in the kill -- never an older one.
        assert n >= last, f"clip {clip}: acknowledged edit e{last} lost (has {c['label']})"
        assert n in attempted[clip]
        assert c["level_db"] == level_for(n), f"clip {clip}: half-applied edit {c}"
    print(f"\nMEASURE crash {which}: {kills} kills, {sum(len(v) for v in attempted.values())} edits tried, "
          f"{len(acked)} clips with acknowledged edits, all present")


def test_kill_9_of_the_web_process_during_edits_loses_no_acknowledged_edit(stack):
    kill_during_edits(stack, "cuebox-web", kills=5, seed=1)


def test_kill_9_of_the_engine_during_edits_loses_nothing(stack):
    kill_during_edits(stack, "cuebox-engine", kills=3, seed=2)
