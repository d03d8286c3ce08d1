"""Field updates (docs/PROTOCOL.md "Firmware"): real RAUC bundles signed with
real test keys are uploaded to POST /api/firmware/bundle and checked by the
real `rauc` (info: signature and keyring; extract: the verity payload) against
a test system.conf (compatible cuebox-test, keyring = the test CA). A good
bundle is accepted; an unsigned one, one signed by an unknown CA, a corrupt
one and one for another compatible are refused with 422 and the reason, and
the earlier good bundle stays. Admin only. `rauc install` needs the RAUC
service (D-Bus), which a development host does not run: the install is
started for real and its failure must come back as a failed job with rauc's
own error line; a successful install is tested in the image's VM test.

Owner signing keys (GET/POST /api/firmware/keys, DELETE
/api/firmware/keys/{name}): certificates made with openssl here are
enrolled, listed with the subject and fingerprint openssl prints, stored as
<data>/firmware-keys/<name>.pem, refused with 422 (name, pem), 409 and 403,
and removed; the image's keyring is a temporary folder (CUEBOX_IMAGE_KEYRING).

cuebox-web gets its firmware options through the environment here
(CUEBOX_RAUC_CONF, CUEBOX_RELEASE, CUEBOX_REBOOT_REQUEST,
CUEBOX_IMAGE_KEYRING), because the stack starts it through scripts/run."""
import base64
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time

import pytest

from stack import Stack

# The bundle tests need rauc and squashfs-tools (the pki fixture skips
# them otherwise); the owner key tests at the end need only openssl.


def run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d, name):
    """A CA and a signing certificate under it (no extended key usage: rauc's
    default purpose check refuses a codeSigning-only certificate)."""
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}-ca.key", "-out", f"{name}-ca.pem",
        "-days", "3650", "-subj", f"/CN={name} CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}-sign.key", "-out", f"{name}-sign.csr",
        "-subj", f"/CN={name} signer", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n")
    run("openssl", "x509", "-req", "-in", f"{name}-sign.csr", "-CA", f"{name}-ca.pem", "-CAkey", f"{name}-ca.key",
        "-CAcreateserial", "-out", f"{name}-sign.pem", "-days", "3650", "-extfile", "ext.cnf", cwd=d)


def make_bundle(d, out, compatible, version, signer):
    content = os.path.join(d, "content-" + out)
    os.makedirs(content)
    with open(os.path.join(content, "rootfs.img"), "wb") as f:
        f.write(os.urandom(512 * 1024))
    with open(os.path.join(content, "manifest.raucm"), "w") as f:
        f.write(f"[update]\ncompatible={compatible}\nversion={version}\ndescription=test bundle {version}\nbuild=20261122\n\n"
                "[bundle]\nformat=verity\n\n[image.rootfs]\nfilename=rootfs.img\n")
    run("rauc", "bundle", f"--cert={signer}-sign.pem", f"--key={signer}-sign.key", content, out, cwd=d)
    with open(os.path.join(d, out), "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def pki():
    if shutil.which("rauc") is None or shutil.which("mksquashfs") is None:
        pytest.skip("needs rauc and squashfs-tools")
    d = tempfile.mkdtemp(prefix="cuebox-rauc-")
    make_ca(d, "good")
    make_ca(d, "evil")
    b = {
        "good": make_bundle(d, "good.raucb", "cuebox-test", "1.2.3", "good"),
        "newer": make_bundle(d, "newer.raucb", "cuebox-test", "1.2.4", "good"),
        "other": make_bundle(d, "other.raucb", "cuebox-other", "1.2.3", "good"),
        "evil": make_bundle(d, "evil.raucb", "cuebox-test", "1.2.3", "evil"),
    }
    good = b["good"]
    sig = struct.unpack(">Q", good[-8:])[0]
    b["stripped"] = good[:len(good) - 8 - sig]  # the payload without its signature
    flipped = bytearray(good)
    flipped[len(good) // 3] ^= 0xFF  # inside the squashfs payload: only the verity check sees it
    b["corrupt"] = bytes(flipped)
    b["garbage"] = os.urandom(100_000)
    conf = os.path.join(d, "system.conf")
    with open(conf, "w") as f:
        f.write(f"[system]\ncompatible=cuebox-test\nbootloader=noop\n\n[keyring]\npath={d}/good-ca.pem\n")
    release = os.path.join(d, "cuebox-release")
    with open(release, "w") as f:
        f.write("IMAGE_VERSION=9.8.7\nIMAGE_BUILD=20261122T1200Z\nBOARD=pc\nCOMPATIBLE=cuebox-test\n")
    yield {"dir": d, "bundles": b, "conf": conf, "release": release, "reboot": os.path.join(d, "run", "cuebox", "reboot-request")}
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(pki):
    s = Stack("firmware", env={"CUEBOX_RAUC_CONF": pki["conf"], "CUEBOX_RELEASE": pki["release"],
                               "CUEBOX_REBOOT_REQUEST": pki["reboot"]})
    yield s
    s.stop()


def upload(stack, data, headers=None):
    h = {"Content-Type": "application/octet-stream", **(headers or {})}
    return stack.http("POST", "/api/firmware/bundle", body=data, headers=h)


def firmware(stack):
    status, body = stack.http("GET", "/api/firmware")
    assert status == 200, body
    return body


def leftovers(stack):
    d = os.path.join(stack.data, "firmware")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_the_box_facts(stack):
    f = firmware(stack)
    assert f["available"] is True, f
    assert f["compatible"] == "cuebox-test"
    assert (f["image_version"], f["image_build"], f["board"]) == ("9.8.7", "20261122T1200Z", "pc")
    assert f["version"] and f["commit"]
    assert f["bundle"] is None
    assert f["job"] == {"state": "idle", "percent": 0, "message": "", "error": None}
    assert f["reboot_required"] is False
    assert isinstance(f["slots"], list)  # rauc status needs the RAUC service: empty here, slots_error says why


def test_install_and_reboot_need_their_conditions(stack, pki):
    status, body = stack.http("POST", "/api/firmware/install")
    assert status == 409 and body["error"]["field"] in ("bundle", "busy"), body
    status, body = stack.http("POST", "/api/firmware/reboot")
    assert status == 409 and body["error"]["field"] == "reboot", body
    assert not os.path.exists(pki["reboot"])
    status, body = stack.http("POST", "/api/firmware/reboot", {"force": "yes"})
    assert status == 400 and body["error"]["field"] == "force", body
    status, body = stack.http("POST", "/api/firmware/reboot", {"force": True})
    assert status == 202 and body == {"reboot": "requested"}, body
    with open(pki["reboot"]) as f:
        assert "reboot requested by" in f.read()
    os.unlink(pki["reboot"])


def test_a_good_bundle_is_accepted(stack, pki):
    status, body = upload(stack, pki["bundles"]["good"])
    assert status == 200, body
    b = body["bundle"]
    assert (b["version"], b["compatible"], b["description"], b["build"]) == ("1.2.3", "cuebox-test", "test bundle 1.2.3", "20261122")
    assert b["size"] == len(pki["bundles"]["good"])
    import hashlib
    assert b["sha256"] == hashlib.sha256(pki["bundles"]["good"]).hexdigest()
    assert firmware(stack)["bundle"]["version"] == "1.2.3"
    assert [n for n in leftovers(stack) if n.endswith(".raucb")] == [n for n in leftovers(stack)]
    assert len(leftovers(stack)) == 1


@pytest.mark.parametrize("case,expected", [
    ("stripped", "not a signed bundle (unsigned): Invalid bundle format: Signature size is 0"),
    ("garbage", "not a signed bundle (unsigned): Invalid bundle format:"),
    ("evil", "signed by a key this box does not trust: signature verification failed: Verify error: unable to get local issuer certificate"),
    ("corrupt", "corrupt: the payload does not match its hash tree"),
    ("other", "for another compatible: cuebox-other (this box is cuebox-test)"),
])
def test_a_bad_bundle_is_refused_and_the_good_one_stays(stack, pki, case, expected):
    before = leftovers(stack)
    status, body = upload(stack, pki["bundles"][case])
    assert status == 422, body
    e = body["error"]
    assert (e["status"], e["code"], e["field"]) == (422, "bundle_refused", "bundle"), e
    assert e["reason"].startswith(expected), e["reason"]
    f = firmware(stack)
    assert f["bundle"] is not None and f["bundle"]["version"] == "1.2.3", f["bundle"]
    assert leftovers(stack) == before  # the refused file is gone
    _, log = stack.http("GET", "/api/log?format=json&order=newest&limit=5&kind=system")
    assert any("firmware bundle refused" in x["detail"] for x in log["entries"]), log


def role_auth(stack, role, prefix):
    """A bearer token of `role` (made by the admin), as request headers."""
    status, body = stack.http("POST", "/api/tokens", {"name": f"{prefix}-{role}", "role": role})
    assert status == 201, body
    return {"Authorization": f"Bearer {body['secret']}"}


def test_an_upload_must_be_the_file_itself(stack):
    status, body = stack.http("POST", "/api/firmware/bundle", {"path": "/tmp/x.raucb"})
    assert status == 400 and body["error"]["field"] == "content-type", body


def test_only_an_admin_may_change_the_firmware(stack, pki):
    for role in ("viewer", "operator", "designer"):
        auth = role_auth(stack, role, "fw")
        status, body = stack.http("GET", "/api/firmware", headers=auth)
        assert status == 200, (role, body)
        for path in ("/api/firmware/install", "/api/firmware/reboot"):
            status, body = stack.http("POST", path, {}, headers=auth)
            assert status == 403 and body["error"]["code"] == "forbidden", (role, path, body)
        # Refused before the body is read (the connection then closes): a
        # small body, so that the refusal is read, not a broken pipe.
        status, body = upload(stack, b"not read", headers=auth)
        assert status == 403 and body["error"]["code"] == "forbidden", (role, body)
    assert firmware(stack)["bundle"]["version"] == "1.2.3"


def test_a_newer_bundle_replaces_the_checked_one(stack, pki):
    before = leftovers(stack)
    status, body = upload(stack, pki["bundles"]["newer"])
    assert status == 200 and body["bundle"]["version"] == "1.2.4", body
    after = leftovers(stack)
    assert len(after) == 1 and after != before
    _, log = stack.http("GET", "/api/log?format=json&order=newest&limit=5&kind=system")
    assert any("firmware bundle accepted: version 1.2.4" in x["detail"] for x in log["entries"]), log


def test_install_runs_rauc_and_reports_its_failure(stack):
    """Without a RAUC service (a development host) `rauc install` fails at
    once: the job must say so with rauc's own error line, and the bundle stays
    for another try. The progress reaches WebSocket clients."""
    ws = stack.ws()
    try:
        status, body = stack.http("POST", "/api/firmware/install")
        assert status == 202 and body["job"]["state"] == "installing", body
        deadline = time.time() + 30
        while time.time() < deadline:
            f = firmware(stack)
            if f["job"]["state"] != "installing":
                break
            time.sleep(0.2)
        assert f["job"]["state"] == "failed", f["job"]
        assert f["job"]["error"], f["job"]
        assert f["reboot_required"] is False
        assert f["bundle"]["version"] == "1.2.4"
        seen = []
        ws.settimeout(5)
        end = time.time() + 5
        while time.time() < end and not any(m.get("job", {}).get("state") == "failed" for m in seen):
            m = json.loads(ws.recv())
            if m.get("type") == "firmware":
                seen.append(m)
        assert any(m["job"]["state"] == "failed" for m in seen if "job" in m), seen
    finally:
        ws.close()


# --- owner signing keys ----------------------------------------------------

def openssl(*args, cwd):
    return subprocess.run(("openssl",) + args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_cert(d, name, cn, days=365, ca=False):
    """A self-signed certificate (PEM text) and what openssl says of it."""
    ext = ["-addext", "basicConstraints=critical,CA:TRUE"] if ca else ["-addext", "basicConstraints=CA:FALSE"]
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.pem", "-days", str(days), "-subj", f"/O=Theatre/CN={cn}", *ext, cwd=d)
    fp = openssl("x509", "-in", f"{name}.pem", "-noout", "-fingerprint", "-sha256", cwd=d).strip().split("=", 1)[1]
    with open(os.path.join(d, f"{name}.pem")) as f:
        return f.read(), fp


def make_expired_cert(d, name):
    """Signed by a throw-away CA with a validity that ended yesterday (`openssl
    ca` takes explicit dates; `req -x509` cannot make a past one)."""
    for sub in ("newcerts",):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(f"[ca]\ndefault_ca=c\n[c]\ndir={d}\ndatabase={d}/index.txt\nnew_certs_dir={d}/newcerts\nserial={d}/serial\n"
                "default_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "xca.key",
            "-out", "xca.pem", "-days", "30", "-subj", "/CN=expired CA", cwd=d)
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "xca.pem", "-keyfile", "xca.key", "-in", f"{name}.csr",
            "-out", f"{name}.pem", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-notext", cwd=d)
    with open(os.path.join(d, f"{name}.pem")) as f:
        return f.read()


@pytest.fixture(scope="module")
def certs():
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    d = tempfile.mkdtemp(prefix="cuebox-keys-")
    image = os.path.join(d, "keyring.d")
    os.makedirs(image)
    c = {"dir": d, "image": image}
    c["owner"], c["owner_fp"] = make_cert(d, "owner", "Jo Owner", ca=True)
    c["other"], c["other_fp"] = make_cert(d, "other", "Second Key")
    with open(os.path.join(d, "other.key")) as f:
        c["other_key"] = f.read()
    c["vendor"], c["vendor_fp"] = make_cert(d, "vendor", "cuebox release CA", days=3650, ca=True)
    with open(os.path.join(image, "cuebox-release.pem"), "w") as f:
        f.write(c["vendor"])
    with open(os.path.join(image, "README"), "w") as f:
        f.write("not a .pem file: not listed\n")
    c["expired"] = make_expired_cert(d, "expired")
    yield c
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def keystack(certs):
    s = Stack("fwkeys", env={"CUEBOX_IMAGE_KEYRING": certs["image"]})
    yield s
    s.stop()


def keys(stack):
    status, body = stack.http("GET", "/api/firmware/keys")
    assert status == 200, body
    return body


def system_log(stack):
    _, log = stack.http("GET", "/api/log?format=json&order=newest&limit=10&kind=system")
    return [x["detail"] for x in log["entries"]]


def test_the_image_keys_are_listed_read_only(keystack, certs):
    k = keys(keystack)
    assert k["keys"] == []
    assert k["image_keyring"] == certs["image"]
    assert len(k["image_keys"]) == 1, k
    v = k["image_keys"][0]
    assert (v["name"], v["subject"], v["issuer"]) == ("cuebox-release", "CN=cuebox release CA,O=Theatre", "CN=cuebox release CA,O=Theatre")
    assert v["sha256"] == certs["vendor_fp"] and v["is_ca"] is True
    assert v["not_before"].endswith("Z") and v["not_after"] > v["not_before"]


def test_an_owner_key_is_enrolled(keystack, certs):
    status, body = keystack.http("POST", "/api/firmware/keys", {"name": "owner", "pem": certs["owner"]})
    assert status == 201, body
    key = body["key"]
    assert key["name"] == "owner" and key["subject"] == "CN=Jo Owner,O=Theatre" and key["is_ca"] is True
    assert key["sha256"] == certs["owner_fp"]
    assert set(key) == {"name", "subject", "issuer", "not_before", "not_after", "sha256", "is_ca"}
    listed = keys(keystack)["keys"]
    assert listed == [key]
    path = os.path.join(keystack.data, "firmware-keys", "owner.pem")
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"
    with open(path) as f:
        assert f.read().strip() == certs["owner"].strip()
    assert os.listdir(os.path.dirname(path)) == ["owner.pem"]  # no temporary file left
    assert any("firmware signing key enrolled: owner (CN=Jo Owner,O=Theatre" in x for x in system_log(keystack))


@pytest.mark.parametrize("name", ["", "Owner", "-owner", "../etc", "a.pem", "x" * 41, 7])
def test_a_bad_name_is_refused(keystack, certs, name):
    status, body = keystack.http("POST", "/api/firmware/keys", {"name": name, "pem": certs["other"]})
    assert status == 422, body
    e = body["error"]
    assert (e["status"], e["code"], e["field"]) == (422, "key_refused", "name"), e


@pytest.mark.parametrize("case,reason", [
    ("garbage", "is not a certificate in PEM form"),
    ("two", "holds 2 PEM blocks"),
    ("with-key", "holds a private key"),
    ("damaged", "is not a valid X.509 certificate"),
    ("expired", "expired on 2020-02-01T00:00:00Z"),
])
def test_a_bad_certificate_is_refused(keystack, certs, case, reason):
    pem = {
        "garbage": "hello, not a certificate",
        "two": certs["owner"] + certs["other"],
        "with-key": certs["other"] + certs["other_key"],
        "damaged": "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(b"\x30\x82\x01\x00" + os.urandom(120)).decode()
                   + "-----END CERTIFICATE-----\n",
        "expired": certs["expired"],
    }[case]
    status, body = keystack.http("POST", "/api/firmware/keys", {"name": "bad", "pem": pem})
    assert status == 422, body
    e = body["error"]
    assert (e["code"], e["field"]) == ("key_refused", "pem"), e
    assert reason in e["reason"], e["reason"]
    assert not os.path.exists(os.path.join(keystack.data, "firmware-keys", "bad.pem"))
    assert any("firmware signing key refused: pem" in x for x in system_log(keystack))


def test_a_name_is_enrolled_once(keystack, certs):
    status, body = keystack.http("POST", "/api/firmware/keys", {"name": "owner", "pem": certs["other"]})
    assert status == 409 and body["error"]["field"] == "name", body
    assert keys(keystack)["keys"][0]["sha256"] == certs["owner_fp"]
    status, body = keystack.http("POST", "/api/firmware/keys", {"name": "owner", "pem": certs["owner"], "extra": 1})
    assert status == 400 and body["error"]["field"] == "extra", body


def test_only_an_admin_may_see_or_change_the_keys(keystack, certs):
    for role in ("viewer", "operator", "designer"):
        auth = role_auth(keystack, role, "keys")
        for method, path, b in (("GET", "/api/firmware/keys", None),
                                ("POST", "/api/firmware/keys", {"name": "sneaky", "pem": certs["other"]}),
                                ("DELETE", "/api/firmware/keys/owner", None)):
            status, body = keystack.http(method, path, b, headers=auth)
            assert status == 403 and body["error"]["code"] == "forbidden", (role, method, body)
    assert [k["name"] for k in keys(keystack)["keys"]] == ["owner"]


def test_a_key_is_removed(keystack, certs):
    status, body = keystack.http("POST", "/api/firmware/keys", {"name": "second_key-2", "pem": certs["other"]})
    assert status == 201, body
    assert [k["name"] for k in keys(keystack)["keys"]] == ["owner", "second_key-2"]
    status, body = keystack.http("DELETE", "/api/firmware/keys/owner")
    assert status == 200 and body == {"deleted": "owner"}, body
    assert [k["name"] for k in keys(keystack)["keys"]] == ["second_key-2"]
    assert not os.path.exists(os.path.join(keystack.data, "firmware-keys", "owner.pem"))
    assert "firmware signing key removed: owner" in system_log(keystack)
    status, body = keystack.http("DELETE", "/api/firmware/keys/owner")
    assert status == 404 and body["error"]["field"] == "name", body
    status, body = keystack.http("DELETE", "/api/firmware/keys/cuebox-release")  # an image key: not removable
    assert status == 404, body
    assert len(keys(keystack)["image_keys"]) == 1
