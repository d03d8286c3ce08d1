"""PTP as a time source of the running engine: a grandmaster and the box's
ptp4l (slaveOnly, free_running 1: the host clock is never adjusted) in two
network namespaces (ptpnet.py). cuebox reads the box's ptp4l through its
management socket and reports the grandmaster identity, offset, path delay
and port state (UNCALIBRATED counts as tracking); stopping the grandmaster
fails over to the next source within the emergency phase budgets; a
grandmaster not on the allow-list is refused. Needs root and linuxptp
(scripts/setup installs it): without them these tests fail."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from ptpnet import PtpNet, host_clock  # noqa: E402
from stack import wait_for  # noqa: E402
from test_time_sources import Events, clock, emergency_switch, settings  # noqa: E402

DOMAIN = 5


@pytest.fixture(scope="module")
def net():
    before = host_clock()
    with PtpNet(domain=DOMAIN, gm_priority1=100) as n:
        n.start()
        n.wait_tracking(40)
        yield n
    assert host_clock() == before  # neither ptp4l touched the host clock


def ptp_source(stack):
    return next(s for s in clock(stack)["sources"] if s["name"] == "ptp")


def test_ptp_is_followed_then_its_loss_fails_over_and_a_foreign_grandmaster_is_refused(stack, net):
    _, gm = net.status("gm")[:2]
    gm_id = gm["grandmaster"]  # a grandmaster names itself
    settings(stack, order=["ptp", "internal"], recover_ms=300, ptp_socket=net.box_socket, ptp_domain=DOMAIN,
             ptp_allowed_grandmasters=[], ptp_allowed_domains=[DOMAIN])
    assert wait_for(lambda: clock(stack)["source"] == "ptp", 10), clock(stack)
    p = ptp_source(stack)
    assert p["state"] == "locked", p
    assert p["grandmaster"] == gm_id, (p, gm_id)
    assert p["port_state"] in ("UNCALIBRATED", "SLAVE"), p
    assert p["domain"] == DOMAIN
    assert "mean_path_delay_ns" in p and "master_offset_ns" in p, p
    print(f"\nMEASURE ptp offset_ns={p['master_offset_ns']} path_delay_ns={p['mean_path_delay_ns']} "
          f"jitter_ns={p.get('jitter_ns')} quality={p['quality']}")

    # The grandmaster stops: the box's port leaves tracking after the
    # announce timeout (ptp4l's detection, ~3 s); from there the switch runs
    # within the budgets.
    ev = Events(stack)
    try:
        net.stop_grandmaster()
        emergency_switch(ev, "ptp", 12)
    finally:
        ev.close()
    assert wait_for(lambda: ptp_source(stack)["state"] == "lost", 3), ptp_source(stack)

    # Back, but its identity is not on the allow-list: refused, never used.
    settings(stack, ptp_allowed_grandmasters=["00aabb.fffe.ccddee"])
    net.start_grandmaster()
    net.wait_tracking(40)
    assert wait_for(lambda: ptp_source(stack)["state"] == "refused", 10), ptp_source(stack)
    assert clock(stack)["source"] == "internal"
    # On the list: taken back once locked for recover_ms.
    settings(stack, ptp_allowed_grandmasters=[gm_id])
    assert wait_for(lambda: clock(stack)["source"] == "ptp", 10), clock(stack)
    # A domain not allowed: refused too.
    settings(stack, ptp_allowed_domains=[DOMAIN + 1])
    assert wait_for(lambda: ptp_source(stack)["state"] == "refused", 5), ptp_source(stack)
    assert wait_for(lambda: clock(stack)["source"] == "internal", 5), clock(stack)
    settings(stack, order=["ptp", "ltc", "mtc", "midi_clock", "internal"], ptp_socket="/var/run/ptp4l", ptp_domain=0,
             ptp_allowed_grandmasters=[], ptp_allowed_domains=[])
