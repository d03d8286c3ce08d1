"""A PTP test network (run as root): two network namespaces joined by a veth
pair, a ptp4l grandmaster in one and the box's ptp4l in the other, each with
its own management socket (UNIX sockets are not isolated by network
namespaces, so the tests reach both from here).

Both ptp4l use software time stamping (-S) over L2 (-2). Namespaces share the
host's clock, so neither may ever adjust it: both run with `free_running 1`
(the grandmaster would not adjust it as master anyway, but it also starts
LISTENING) and `kernel_leap 0`; no phc2sys is ever started. With
free_running the box's port stays UNCALIBRATED while it follows the
grandmaster: that counts as tracking.

    with PtpNet(domain=24, gm_priority1=100) as net:
        net.start()
        snap = net.wait_tracking(30)
        net.stop_grandmaster()
        ...

`cuebox-ptp-status` comes from the build dir in CUEBOX_BUILD (default
/work/main/build)."""
import ctypes
import ctypes.util
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("CUEBOX_BUILD", os.environ.get("CUEBOX_BUILD_DIR", os.path.join(ROOT, "build")))
STATUS_TOOL = os.path.join(BUILD, "test", "tools", "cuebox-ptp-status")
PTP4L = "/usr/sbin/ptp4l"
PMC = "/usr/sbin/pmc"

_serial = itertools.count()


def status(socket, domain, wait_ms=1000):
    """One snapshot through cuebox-ptp-status: (exit code, dict or None,
    stderr)."""
    p = subprocess.run([STATUS_TOOL, "--socket", socket, "--domain", str(domain), "--wait-ms", str(wait_ms)],
                       capture_output=True, text=True, timeout=wait_ms / 1000 + 10)
    return p.returncode, (json.loads(p.stdout) if p.returncode == 0 else None), p.stderr


class _Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("pad", ctypes.c_int * 11)]


def host_clock():
    """The host clock's discipline as adjtimex(2) reads it (modes 0: read
    only): frequency, tick and the leap/unsync status bits. A ptp4l that
    adjusted CLOCK_REALTIME would change them."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    t = _Timex()
    if libc.adjtimex(ctypes.byref(t)) < 0:
        raise OSError(ctypes.get_errno(), "adjtimex")
    STA_INS, STA_DEL, STA_UNSYNC = 0x10, 0x20, 0x40
    return {"freq": t.freq, "tick": t.tick, "status": t.status & (STA_INS | STA_DEL | STA_UNSYNC)}


def _run(*cmd):
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


class PtpNet:
    def __init__(self, domain=0, gm_priority1=128, log_announce_interval=0, announce_receipt_timeout=3):
        if os.geteuid() != 0:
            raise PermissionError("PtpNet needs root (network namespaces)")
        k = next(_serial)
        self.domain = domain
        self.gm_priority1 = gm_priority1
        self.log_announce_interval = log_announce_interval
        self.announce_receipt_timeout = announce_receipt_timeout
        self.ns_gm = f"cbx{os.getpid()}n{k}gm"
        self.ns_box = f"cbx{os.getpid()}n{k}box"
        self.tmp = tempfile.mkdtemp(prefix="cbx-ptp-")
        self.gm_socket = os.path.join(self.tmp, "gm.sock")
        self.box_socket = os.path.join(self.tmp, "box.sock")
        self._namespaces = []
        self._procs = {}  # "gm"/"box" -> Popen
        self._logs = {}
        self._closed = False

    # Announce receipt timeout in seconds: how long after its last Announce
    # a port waits before it declares its master gone (ptp4l adds up to
    # one more interval at random).
    @property
    def announce_timeout_s(self):
        return self.announce_receipt_timeout * 2.0 ** self.log_announce_interval

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _config(self, name, extra):
        path = os.path.join(self.tmp, f"{name}.cfg")
        lines = ["[global]",
                 f"domainNumber {self.domain}",
                 f"uds_address {os.path.join(self.tmp, name + '.sock')}",
                 "free_running 1",   # never adjust the shared host clock
                 "kernel_leap 0",    # nor its leap second status
                 f"logAnnounceInterval {self.log_announce_interval}",
                 f"announceReceiptTimeout {self.announce_receipt_timeout}",
                 *extra]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self):
        try:
            for ns in (self.ns_gm, self.ns_box):
                _run("ip", "netns", "add", ns)
                self._namespaces.append(ns)
            # The pair is made inside the namespaces: nothing appears in the
            # host's own.
            _run("ip", "-n", self.ns_gm, "link", "add", "vgm", "type", "veth", "peer", "name", "vbox",
                 "netns", self.ns_box)
            for ns, dev in ((self.ns_gm, "vgm"), (self.ns_box, "vbox")):
                _run("ip", "-n", ns, "link", "set", "lo", "up")
                _run("ip", "-n", ns, "link", "set", dev, "up")
            self._config("gm", [f"priority1 {self.gm_priority1}"])
            self._config("box", ["slaveOnly 1"])
            self.start_grandmaster()
            self._start("box", self.ns_box, "vbox")
        except BaseException:
            self.close()
            raise
        return self

    def _start(self, name, ns, dev):
        cfg = os.path.join(self.tmp, f"{name}.cfg")
        with open(cfg) as f:
            assert "free_running 1" in f.read()  # the one rule that keeps the host clock safe
        sock = os.path.join(self.tmp, f"{name}.sock")
        if os.path.exists(sock):
            os.unlink(sock)
        log = open(os.path.join(self.tmp, f"{name}.log"), "a")
        self._logs[name] = log.name
        proc = subprocess.Popen(["ip", "netns", "exec", ns, PTP4L, "-f", cfg, "-i", dev, "-S", "-2", "-m", "-q"],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._procs[name] = proc
        deadline = time.time() + 10
        while not os.path.exists(sock):
            if proc.poll() is not None:
                raise RuntimeError(f"ptp4l ({name}) exited {proc.returncode}:\n{self.log(name)}")
            if time.time() > deadline:
                raise RuntimeError(f"ptp4l ({name}) made no socket at {sock}:\n{self.log(name)}")
            time.sleep(0.05)

    def _stop(self, name):
        proc = self._procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def start_grandmaster(self):
        self._start("gm", self.ns_gm, "vgm")

    def stop_grandmaster(self):
        self._stop("gm")

    def running(self, name):
        p = self._procs.get(name)
        return p is not None and p.poll() is None

    def log(self, name):
        try:
            with open(os.path.join(self.tmp, f"{name}.log")) as f:
                return f.read()
        except OSError:
            return ""

    def status(self, which="box", domain=None, wait_ms=1000):
        sock = self.box_socket if which == "box" else self.gm_socket
        return status(sock, self.domain if domain is None else domain, wait_ms)

    def wait_tracking(self, timeout=30, which="box"):
        """Polls cuebox-ptp-status until the port tracks its master (SLAVE
        or UNCALIBRATED); returns that snapshot."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            rc, snap, err = self.status(which)
            last = snap or err
            if rc == 0 and snap["tracking"]:
                return snap
            time.sleep(0.2)
        raise AssertionError(f"{which} not tracking after {timeout} s: {last}\n--- gm:\n{self.log('gm')}"
                             f"\n--- box:\n{self.log('box')}")

    def pmc(self, which, command):
        """linuxptp's own pmc (the reference client), local ptp4l only:
        returns its output."""
        sock = self.box_socket if which == "box" else self.gm_socket
        own = os.path.join(self.tmp, f"pmc.{next(_serial)}")
        try:
            p = subprocess.run([PMC, "-u", "-b", "0", "-d", str(self.domain), "-s", sock, "-i", own, command],
                               capture_output=True, text=True, timeout=10)
            return p.stdout
        finally:
            if os.path.exists(own):
                os.unlink(own)

    def close(self):
        """Stops every ptp4l and deletes the namespaces (and with them the
        veth pair) and the temporary folder; safe to call after a failed
        start and more than once."""
        for name in list(self._procs):
            try:
                self._stop(name)
            except Exception:
                pass
        for ns in self._namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self._namespaces = []
        if not self._closed:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self._closed = True
