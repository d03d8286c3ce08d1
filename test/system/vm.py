"""The firmware image under QEMU (qemu-system-x86_64 with OVMF): a copy of
the disk image on a virtio disk, the web UI forwarded to a loopback port,
the serial console in a file and the emulated Intel HDA card's output
recorded to a WAV file (QEMU's wav audio backend). Software emulation
(TCG) unless CUEBOX_QEMU_ACCEL=kvm."""
import json
import os
import shutil
import socket
import subprocess
import time
import http.client

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accel():
    # Software emulation unless asked: on this workplace's machines /dev/kvm
    # exists but nested KVM fails inside OVMF (an emulation failure).
    return os.environ.get("CUEBOX_QEMU_ACCEL", "tcg")


class Vm:
    def __init__(self, disk, workdir, name="vm"):
        self.workdir = workdir
        self.disk = os.path.join(workdir, f"{name}.img")
        subprocess.run(["cp", "--sparse=always", disk, self.disk], check=True)
        self.vars = os.path.join(workdir, f"{name}-vars.fd")
        shutil.copy(OVMF_VARS, self.vars)
        self.port = free_port()
        self.serial = os.path.join(workdir, f"{name}-serial.log")
        self.wav = os.path.join(workdir, f"{name}-audio.wav")
        self.qmp_path = os.path.join(workdir, f"{name}-qmp.sock")
        self.proc = None
        self.accel = accel()
        self.boots = 0
        self.started = None
        self.first_answer = None  # seconds from start to the web's first answer

    def start(self):
        smp = "2"
        cmd = [
            "qemu-system-x86_64", "-machine", "q35", "-accel", self.accel, "-m", "1024", "-smp", smp,
            "-cpu", "max" if self.accel == "tcg" else "host",
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={self.vars}",
            "-drive", f"file={self.disk},format=raw,if=virtio,cache=unsafe",
            "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.port}-:80",
            "-device", "virtio-net-pci,netdev=n0",
            "-audiodev", f"wav,id=snd0,path={self.wav},out.frequency=48000,out.channels=2,out.format=s16",
            "-device", "intel-hda", "-device", "hda-duplex,audiodev=snd0",
            "-serial", f"file:{self.serial}", "-display", "none",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
        ]
        if self.accel == "tcg":
            cmd[cmd.index("-accel") + 1] = "tcg,thread=multi"
        self.log = open(os.path.join(self.workdir, "qemu.log"), "a")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def console(self):
        try:
            with open(self.serial, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def boot_lines(self):
        return [l for l in self.console().splitlines() if "cuebox: booting slot" in l]

    def wait_for_console(self, text, timeout, after=0):
        """Waits until `text` appears in the console after offset `after`;
        returns the offset just past it."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            c = self.console()
            i = c.find(text, after)
            if i >= 0:
                return i + len(text)
            if self.proc.poll() is not None:
                raise AssertionError(f"QEMU exited ({self.proc.returncode}); console tail:\n{c[-3000:]}")
            time.sleep(1)
        raise AssertionError(f"'{text}' not on the console within {timeout} s; tail:\n{self.console()[-4000:]}")

    def call(self, method, path, body=None, headers=None, timeout=30, raw=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        data = None
        if raw is not None:
            data = raw
            h.setdefault("Content-Type", "application/octet-stream")
        elif body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        text = r.read()
        conn.close()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text.decode(errors="replace")
        return r.status, parsed, r.getheaders()

    def wait_web(self, timeout):
        """Waits until /api/health answers with the engine connected and the
        show loaded; returns the seconds since QEMU started."""
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            try:
                st, body, _ = self.call("GET", "/api/health", timeout=5)
                last = (st, body)
                if self.first_answer is None:
                    self.first_answer = time.monotonic() - self.started
                if st == 200 and body.get("status") == "ok":
                    return time.monotonic() - self.started
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            if self.proc.poll() is not None:
                raise AssertionError(f"QEMU exited; console tail:\n{self.console()[-3000:]}")
            time.sleep(1)
        raise AssertionError(f"web not healthy within {timeout} s: {last}\nconsole tail:\n{self.console()[-4000:]}")
