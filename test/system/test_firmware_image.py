"""System test of the firmware image (issue 9): the image built by
scripts/build-image boots in QEMU with OVMF; the web UI answers through a
forwarded loopback port; a clip started through the API is found in the
VM's recorded audio; a signed bundle of a newer version installs through
the web API and boots from the other slot, which the box marks good; a
bundle whose system fails the health check falls back by itself; unsigned,
wrongly signed, corrupt and other-compatible bundles are refused and change
nothing. Boot and install times are printed (docs/PERFORMANCE.md).

The tests run in order on one VM (module scope); each needs the one
before."""
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import wave

import numpy as np
import pytest

from vm import Vm

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BOARD = "qemu-x86_64"
OUT = os.environ.get("CUEBOX_IMAGE_DIR", os.path.join(ROOT, "build-image", BOARD))
BOARD_ENV = os.path.join(ROOT, "board", BOARD, "board.env")
PASSWORD = "system-test-admin-1"
FIGURES = {}


def run(cmd, **kw):
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def figure(name, value, unit):
    FIGURES[name] = (value, unit)
    print(f"MEASURE {name}: {value:.1f} {unit}", flush=True)


@pytest.fixture(scope="module")
def work():
    base = os.path.join(os.environ.get("CUEBOX_TEST_OUTPUT", os.path.join(ROOT, "test-output")), "system")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    yield base
    # The disk copies are large; the logs stay for a failure's reading.
    for f in os.listdir(base):
        if f.endswith(".img") or f.endswith(".raucb"):
            os.remove(os.path.join(base, f))


@pytest.fixture(scope="module")
def bundles(work):
    """The image, and the bundles the tests install or must refuse."""
    t0 = time.monotonic()
    run([os.path.join(ROOT, "scripts", "build-image"), "--board", BOARD, "--out", OUT, "--no-bundle"])
    figure("image build", time.monotonic() - t0, "s")
    b = {}
    rootfs = os.path.join(OUT, "rootfs")
    bb = os.path.join(ROOT, "scripts", "build-bundle")
    b["newer"] = os.path.join(work, "newer.raucb")
    run([bb, "--rootfs", rootfs, "--board-env", BOARD_ENV, "--version", "0.1.1", "--out", b["newer"]])
    # A system that fails its health check: the owner's audio device setting
    # names a card the box does not have, so JACK never starts.
    broken = os.path.join(work, "broken-overlay")
    os.makedirs(os.path.join(broken, "etc", "default"))
    with open(os.path.join(OUT, "rootfs", "etc", "default", "cuebox")) as f:
        defaults = f.read()
    with open(os.path.join(broken, "etc", "default", "cuebox"), "w") as f:
        f.write(re.sub(r"CUEBOX_ALSA_PORTS=.*", 'CUEBOX_ALSA_PORTS="-P hw:7"', defaults))
    b["broken"] = os.path.join(work, "broken.raucb")
    run([bb, "--rootfs", rootfs, "--board-env", BOARD_ENV, "--version", "0.1.2", "--overlay", broken, "--out", b["broken"]])

    # ...signed by a key the box does not trust...
    other = os.path.join(work, "other-key")
    os.makedirs(other)
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{other}/key.pem",
         "-out", f"{other}/cert.pem", "-days", "30", "-subj", "/CN=somebody else"], capture_output=True)
    small = os.path.join(work, "small")
    os.makedirs(small)
    with open(os.path.join(small, "rootfs.img"), "wb") as f:
        f.write(os.urandom(1 << 20))

    def small_bundle(name, compatible, key, cert):
        with open(os.path.join(small, "manifest.raucm"), "w") as f:
            f.write(f"[update]\ncompatible={compatible}\nversion=9.9.9\n\n[bundle]\nformat=verity\n\n"
                    "[image.rootfs]\nfilename=rootfs.img\n")
        path = os.path.join(work, name)
        run(["rauc", "bundle", f"--cert={cert}", f"--key={key}", small, path], capture_output=True)
        return path

    keys = os.environ.get("CUEBOX_KEYS", os.path.join(ROOT, ".cuebox", "keys"))
    # Refused: no signature at all (a good small bundle's squashfs without
    # the CMS signature and its size that end a bundle)...
    good = small_bundle("small-good.raucb", "cuebox-qemu-x86_64", f"{keys}/signing.key.pem", f"{keys}/signing.cert.pem")
    with open(good, "rb") as f:
        data = f.read()
    (sig_size,) = struct.unpack(">Q", data[-8:])
    b["unsigned"] = os.path.join(work, "unsigned.raucb")
    with open(b["unsigned"], "wb") as f:
        f.write(data[: len(data) - 8 - sig_size])
    # ...bytes changed inside the payload (the image; the signature covers
    # the verity root hash, the hash tree covers every block)...
    b["corrupt"] = os.path.join(work, "corrupt.raucb")
    bad = bytearray(data)
    for off in range(4096, 4096 * 64, 4096):
        bad[off] ^= 0xFF
    with open(b["corrupt"], "wb") as f:
        f.write(bad)
    b["wrong_key"] = small_bundle("wrong-key.raucb", "cuebox-qemu-x86_64", f"{other}/key.pem", f"{other}/cert.pem")
    # ...and properly signed, but for another kind of box.
    b["other_compatible"] = small_bundle("other-compatible.raucb", "cuebox-pc-x86_64",
                                         f"{keys}/signing.key.pem", f"{keys}/signing.cert.pem")
    return b


@pytest.fixture(scope="module")
def vm(work, bundles):
    v = Vm(os.path.join(OUT, "disk.img"), work)
    v.start()
    yield v
    v.stop()
    if os.environ.get("CUEBOX_KEEP_CONSOLE"):
        print(v.console()[-8000:])


class Session:
    token = None


def auth():
    return {"Authorization": f"Bearer {Session.token}"}


def firmware(vm):
    st, body, _ = vm.call("GET", "/api/firmware", headers=auth())
    assert st == 200, (st, body)
    return body


def slot(fw, bootname):
    for s in fw["slots"]:
        if s.get("bootname") == bootname:
            return s
    raise AssertionError(f"no slot {bootname} in {fw['slots']}")


def wait_firmware(vm, pred, timeout, what):
    end = time.monotonic() + timeout
    fw = None
    while time.monotonic() < end:
        try:
            fw = firmware(vm)
            if pred(fw):
                return fw
        except (OSError, AssertionError):
            pass
        time.sleep(2)
    raise AssertionError(f"{what} not within {timeout} s: {fw}\nconsole tail:\n{vm.console()[-4000:]}")


def tone_level(samples, rate, hz):
    """Amplitude of `hz` in `samples` (mono float) by correlation."""
    t = np.arange(len(samples)) / rate
    c = np.dot(samples, np.cos(2 * np.pi * hz * t))
    s = np.dot(samples, np.sin(2 * np.pi * hz * t))
    return 2 * np.hypot(c, s) / len(samples)


def test_boots_to_web_ui_and_plays_a_clip(vm):
    vm.wait_web(600)
    figure("boot: power on to web UI answering", vm.first_answer, "s")
    # Audio ready: the engine's process thread is being called by JACK on
    # the emulated card.
    end = time.monotonic() + 120
    while True:
        st, health, _ = vm.call("GET", "/api/health")
        if health["engine"].get("connected") and health["engine"].get("cycles", 0) > 0:
            break
        assert time.monotonic() < end, health
        time.sleep(0.5)
    figure("boot: power on to audio ready", time.monotonic() - vm.started, "s")

    # The demo's one-time administrator password is printed on the console.
    vm.wait_for_console("one-time password for user admin: ", 60)
    otp = re.search(r"one-time password for user admin: (\S+)", vm.console()).group(1)
    st, body, hdrs = vm.call("POST", "/api/login", {"user": "admin", "password": otp})
    assert st == 200 and body["must_change"], (st, body)
    cookie = [v for k, v in hdrs if k.lower() == "set-cookie" and v.startswith("cuebox_session=")][0].split(";")[0]
    h = {"Cookie": cookie, "X-CSRF-Token": body["csrf"]}
    st, body, _ = vm.call("POST", "/api/session/password", {"password": PASSWORD}, h)
    assert st == 200, (st, body)
    st, body, _ = vm.call("POST", "/api/tokens", {"name": "system-test", "role": "admin"}, h)
    assert st == 201, (st, body)
    Session.token = body["secret"]

    st, show, _ = vm.call("GET", "/api/show", headers=auth())
    assert st == 200, (st, show)
    # The demo's "Tone A4": a 440 Hz sine.
    tone = [c for c in show["show"]["clips"] if c.get("label") == "Tone A4"]
    assert tone, [c.get("label") for c in show["show"]["clips"]]
    before = os.path.getsize(vm.wav)
    st, body, _ = vm.call("POST", f"/api/clips/{tone[0]['id']}/start", {}, auth())
    assert st in (200, 202), (st, body)
    time.sleep(4)
    vm.call("POST", f"/api/clips/{tone[0]['id']}/stop", {}, auth())
    time.sleep(1)
    with open(vm.wav, "rb") as f:
        f.seek(before - (before - 44) % 4)
        raw = f.read()
    pcm = np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<i2").reshape(-1, 2).astype(np.float64) / 32768.0
    left = pcm[:, 0]
    assert len(left) > 48000, f"only {len(left)} frames recorded after the start"
    # The loudest second of what the card played after the start.
    win = 48000
    best = max(range(0, len(left) - win, win // 4), key=lambda i: np.sqrt(np.mean(left[i:i + win] ** 2)))
    seg = left[best:best + win]
    a440 = tone_level(seg, 48000, 440.0)
    a_off = max(tone_level(seg, 48000, hz) for hz in (300.0, 523.0, 659.0, 880.0))
    print(f"recorded: {len(left) / 48000:.1f} s after the start; 440 Hz at {a440:.4f}, other tones below {a_off:.4f}")
    assert a440 > 0.02 and a440 > 10 * a_off, (a440, a_off)


def test_bad_bundles_are_refused_and_change_nothing(vm, bundles):
    fw0 = wait_firmware(vm, lambda f: slot(f, "A").get("boot_status") == "good", 300, "slot A marked good")
    assert fw0["available"] and fw0["booted_slot"] == "A", fw0
    reasons = {}
    for name in ("unsigned", "wrong_key", "corrupt", "other_compatible"):
        with open(bundles[name], "rb") as f:
            st, body, _ = vm.call("POST", "/api/firmware/bundle", raw=f.read(), headers=auth(), timeout=300)
        assert st == 422, (name, st, body)
        assert body["error"]["field"] == "bundle", body
        reasons[name] = body["error"]["reason"]
        print(f"{name}: {reasons[name]}")
    assert "sign" in reasons["unsigned"].lower(), reasons
    assert "key" in reasons["wrong_key"].lower() or "trust" in reasons["wrong_key"].lower(), reasons
    assert "corrupt" in reasons["corrupt"].lower(), reasons
    assert "cuebox-pc-x86_64" in reasons["other_compatible"], reasons
    fw = firmware(vm)
    assert fw["bundle"] is None and fw["job"]["state"] == "idle", fw
    assert fw["booted_slot"] == "A" and fw["image_version"] == fw0["image_version"], fw
    assert [(s["bootname"], s.get("boot_status"), s.get("bundle_version")) for s in fw["slots"]] == \
           [(s["bootname"], s.get("boot_status"), s.get("bundle_version")) for s in fw0["slots"]]


def upload(vm, path):
    with open(path, "rb") as f:
        return vm.call("POST", "/api/firmware/bundle", raw=f.read(), headers=auth(), timeout=300)


def test_an_enrolled_owner_key_is_trusted_until_removed(vm, bundles, work):
    """The owner enrols their own signing certificate through the web API;
    the box re-assembles RAUC's keyring (cuebox-keyring.path) and a bundle
    signed with that key is accepted; removed, it is refused again."""
    with open(os.path.join(work, "other-key", "cert.pem")) as f:
        pem = f.read()
    st, body, _ = vm.call("POST", "/api/firmware/keys", {"name": "owner", "pem": pem}, auth())
    assert st == 201, (st, body)
    end = time.monotonic() + 60
    while True:
        st, body, _ = upload(vm, bundles["wrong_key"])
        if st == 200:
            break
        assert time.monotonic() < end, ("an enrolled key's bundle still refused", st, body)
        time.sleep(2)
    assert body["bundle"]["version"] == "9.9.9", body
    st, body, _ = vm.call("DELETE", "/api/firmware/keys/owner", None, auth())
    assert st in (200, 204), (st, body)
    end = time.monotonic() + 60
    while True:
        st, body, _ = upload(vm, bundles["wrong_key"])
        if st == 422:
            break
        assert time.monotonic() < end, ("a removed key's bundle still accepted", st, body)
        time.sleep(2)
    assert "trust" in body["error"]["reason"], body


def install(vm, path):
    with open(path, "rb") as f:
        t0 = time.monotonic()
        st, body, _ = vm.call("POST", "/api/firmware/bundle", raw=f.read(), headers=auth(), timeout=600)
    assert st == 200, (st, body)
    upload_s = time.monotonic() - t0
    t0 = time.monotonic()
    st, body, _ = vm.call("POST", "/api/firmware/install", {}, auth())
    assert st == 202, (st, body)
    fw = wait_firmware(vm, lambda f: f["job"]["state"] in ("done", "failed"), 900, "install")
    assert fw["job"]["state"] == "done", fw
    assert fw["reboot_required"], fw
    return upload_s, time.monotonic() - t0


def reboot(vm):
    boots = len(vm.boot_lines())
    st, body, _ = vm.call("POST", "/api/firmware/reboot", {}, auth())
    assert st == 202, (st, body)
    return boots


def wait_boot(vm, boots, slot_name, timeout=600):
    end = time.monotonic() + timeout
    while len(vm.boot_lines()) <= boots:
        assert time.monotonic() < end, f"no new boot; console tail:\n{vm.console()[-4000:]}"
        assert vm.proc.poll() is None, vm.console()[-4000:]
        time.sleep(1)
    line = vm.boot_lines()[boots]
    assert f"booting slot {slot_name}" in line, line
    return time.monotonic()


def test_signed_newer_bundle_installs_and_boots_from_the_other_slot(vm, bundles):
    upload_s, install_s = install(vm, bundles["newer"])
    figure("bundle upload and check (web API)", upload_s, "s")
    figure("bundle install (rauc, slot B)", install_s, "s")
    boots = reboot(vm)
    t_boot = wait_boot(vm, boots, "B")
    # The console's first boot line shows the old slot was A.
    assert "booting slot A" in vm.boot_lines()[boots - 1]
    end = time.monotonic() + 600
    while True:
        try:
            st, h, _ = vm.call("GET", "/api/health", timeout=5)
            if st == 200 and h.get("status") == "ok":
                break
        except OSError:
            pass
        assert time.monotonic() < end, vm.console()[-4000:]
        time.sleep(1)
    figure("reboot into the new slot to web UI answering", time.monotonic() - t_boot, "s")
    fw = wait_firmware(vm, lambda f: f["booted_slot"] == "B" and slot(f, "B").get("boot_status") == "good", 400,
                       "slot B booted and marked good")
    assert fw["image_version"] == "0.1.1", fw
    assert slot(fw, "B").get("bundle_version") == "0.1.1", fw
    assert slot(fw, "A").get("boot_status") == "good", fw  # the previous version stays bootable


def test_a_system_failing_its_health_check_falls_back_by_itself(vm, bundles):
    install(vm, bundles["broken"])  # into slot A, the one not booted
    boots = reboot(vm)
    wait_boot(vm, boots, "A")
    # The broken system's health check gives up, marks its slot bad and
    # reboots; GRUB then starts slot B again.
    vm.wait_for_console("marking slot A bad and rebooting", 900)
    wait_boot(vm, boots + 1, "B", timeout=300)
    fw = wait_firmware(vm, lambda f: f["booted_slot"] == "B" and slot(f, "B").get("boot_status") == "good", 600,
                       "back on slot B, marked good")
    assert fw["image_version"] == "0.1.1", fw
    assert slot(fw, "A").get("boot_status") == "bad", fw
