"""The linuxptp management client (firmware/sync/Ptp.h, through the
cuebox-ptp-status tool) against real ptp4l 3.1.1 in two network namespaces
(ptpnet.py): a grandmaster and the box's ptp4l (slaveOnly, free_running).

What ptp4l 3.1.1 does, as these tests pin it down:
- with free_running the box's port stays UNCALIBRATED while it follows the
  grandmaster;
- a grandmaster reports itself in PARENT_DATA_SET (parent port <own>-0) and
  gmPresent false in TIME_STATUS_NP;
- a request in another domain gets no answer at all;
- after the grandmaster stops, the box's port goes UNCALIBRATED -> LISTENING
  on ANNOUNCE_RECEIPT_TIMEOUT_EXPIRES (announceReceiptTimeout x announce
  interval, plus up to one interval), and that is the only sign: the
  PARENT_DATA_SET keeps the old grandmaster and gmPresent stays true (a
  slaveOnly clock never takes the grandmaster role, so its parent data set
  is not reset); only ingress_time drops to 0.
Needs root; CUEBOX_BUILD names the build dir with cuebox-ptp-status."""
import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import ptpnet  # noqa: E402
from ptpnet import PtpNet, host_clock  # noqa: E402

DOMAIN = 24          # not the default 0: a client that ignored the domain would show
GM_PRIORITY1 = 100   # not the default 128: shows PARENT_DATA_SET is read, not assumed

# Needs root (network namespaces) and linuxptp (scripts/setup installs it):
# without them these tests fail, they are not skipped.


# conftest.py's autouse fixture starts a whole cuebox stack for every test;
# these tests need none.
@pytest.fixture(scope="module")
def stack():
    yield None


@pytest.fixture(autouse=True)
def quiet():
    yield


@pytest.fixture(scope="module")
def net():
    before = host_clock()
    with PtpNet(domain=DOMAIN, gm_priority1=GM_PRIORITY1) as n:
        n.start()
        n.wait_tracking(30)
        yield n
    # Neither ptp4l touched the host clock (free_running 1, kernel_leap 0).
    assert host_clock() == before


def wait_for(fn, timeout, what):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        ok, last = fn()
        if ok:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout} s: {last}")


def pmc_value(net, which, command, key):
    out = net.pmc(which, command)
    m = re.search(rf"^\s*{key}\s+(\S+)", out, re.M)
    assert m, out
    return m.group(1)


def identity(port_identity):
    return port_identity.rsplit("-", 1)[0]


def test_box_tracks_the_grandmaster(net):
    # The path delay needs a Delay_Req/Delay_Resp exchange after the port
    # starts tracking: the first answers say 0.
    def delay():
        rc, s, err = net.status()
        return rc == 0 and s["tracking"] and s["mean_path_delay_ns"] > 0, s or err
    box = wait_for(delay, 10, "a path delay")
    rc, gm, err = net.status("gm")
    assert rc == 0, err

    # The grandmaster: MASTER, and its own grandmaster.
    gm_id = identity(gm["port_identity"])
    assert gm["port_state_name"] == "MASTER" and gm["port_state"] == 6
    assert not gm["tracking"]
    assert gm["grandmaster"] == gm_id
    assert gm["parent_port"] == gm_id + "-0"
    assert gm["gm_present"] is False  # TIME_STATUS_NP of the grandmaster itself
    assert gm["gm_priority1"] == GM_PRIORITY1 and gm["domain"] == DOMAIN

    # The box: follows it, UNCALIBRATED for good (free_running).
    assert re.fullmatch(r"[0-9a-f]{6}\.[0-9a-f]{4}\.[0-9a-f]{6}", box["grandmaster"])
    assert box["port_state_name"] == "UNCALIBRATED" and box["port_state"] == 8
    assert box["tracking"] and box["gm_present"]
    assert box["grandmaster"] == gm_id
    assert box["parent_port"] == gm_id + "-1"
    assert identity(box["port_identity"]) != gm_id
    assert box["domain"] == DOMAIN
    assert box["steps_removed"] == 1
    assert box["gm_priority1"] == GM_PRIORITY1
    assert box["gm_clock_class"] == 248  # ptp4l's default clockClass
    # Software time stamps over a veth pair on one host clock: microseconds.
    assert 0 < box["mean_path_delay_ns"] < 1e6
    assert abs(box["offset_from_master_ns"]) < 1e6
    assert abs(box["master_offset_ns"]) < 1e6

    # linuxptp's own pmc reads the same.
    assert pmc_value(net, "box", "GET PARENT_DATA_SET", "grandmasterIdentity") == box["grandmaster"]
    assert pmc_value(net, "box", "GET PORT_DATA_SET", "portState") == box["port_state_name"]
    assert pmc_value(net, "box", "GET PORT_DATA_SET", "portIdentity") == box["port_identity"]
    assert pmc_value(net, "gm", "GET PORT_DATA_SET", "portState") == "MASTER"


def test_answers_are_live(net):
    # TIME_STATUS_NP ingress_time: CLOCK_REALTIME of the newest Sync (one a
    # second), so it is recent and moves on.
    rc, a, err = net.status()
    assert rc == 0, err
    assert abs(a["ingress_time_ns"] - time.time_ns()) < 5e9
    time.sleep(1.5)
    rc, b, err = net.status()
    assert rc == 0, err
    assert b["ingress_time_ns"] > a["ingress_time_ns"]


def test_wrong_domain_gets_no_answer(net):
    for which in ("box", "gm"):
        rc, snap, err = net.status(which, domain=DOMAIN + 1, wait_ms=1000)
        assert rc == 1 and snap is None
        assert "no complete answer" in err, err
        rc, snap, err = net.status(which, wait_ms=1000)
        assert rc == 0 and snap["domain"] == DOMAIN, err


def test_no_ptp4l_is_an_error():
    rc, snap, err = ptpnet.status("/tmp/cuebox-no-such-ptp4l.sock", DOMAIN, 500)
    assert rc == 1 and snap is None
    assert "not listening" in err, err


def test_losing_and_regaining_the_grandmaster():
    before = host_clock()
    with PtpNet(domain=DOMAIN, gm_priority1=GM_PRIORITY1) as n:
        n.start()
        first = n.wait_tracking(30)
        gm_id = first["grandmaster"]
        interval = 2.0 ** n.log_announce_interval

        n.stop_grandmaster()
        t0 = time.time()

        def lost():
            rc, s, err = n.status(wait_ms=500)
            return rc == 0 and not s["tracking"], s or err
        after = wait_for(lost, n.announce_timeout_s + interval + 3, "leaving tracking")
        took = time.time() - t0
        print(f"\nbox left tracking {took:.2f} s after the grandmaster stopped: {after}")
        # The announce receipt timeout counts from the last Announce (up to
        # one interval before the stop) and ptp4l adds up to one interval.
        assert n.announce_timeout_s - interval - 0.5 <= took <= n.announce_timeout_s + interval + 1.0

        assert after["port_state_name"] == "LISTENING" and after["port_state"] == 4
        # ptp4l 3.1.1 keeps the parent data set of the lost grandmaster.
        assert after["grandmaster"] == gm_id
        assert after["gm_present"] is True
        assert after["ingress_time_ns"] == 0
        # and stays there (no flapping) while no grandmaster is around.
        time.sleep(2)
        rc, s, err = n.status()
        assert rc == 0 and s["port_state_name"] == "LISTENING", s or err

        # The grandmaster comes back (same interface, same identity): it
        # first listens for an announce timeout, then the box qualifies it.
        n.start_grandmaster()
        t1 = time.time()
        back = n.wait_tracking(n.announce_timeout_s + 4 * interval + 5)
        print(f"box tracking again {time.time() - t1:.2f} s after the grandmaster restarted: {back}")
        assert back["grandmaster"] == gm_id and back["gm_present"]
    assert host_clock() == before
