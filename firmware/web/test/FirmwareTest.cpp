#include "web/Firmware.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <string>

using namespace cuebox::web;
namespace json = boost::json;

TEST_GROUP(Firmware){};

TEST(Firmware, releaseFileAndSystemConf) {
    auto r = parseRelease("# image facts\nIMAGE_VERSION=1.4.0\nIMAGE_BUILD=\"2026-11-20 12:00\"\n\nBOARD = pc\nbroken line\n");
    STRCMP_EQUAL("1.4.0", r["IMAGE_VERSION"].c_str());
    STRCMP_EQUAL("2026-11-20 12:00", r["IMAGE_BUILD"].c_str());
    STRCMP_EQUAL("pc", r["BOARD"].c_str());
    CHECK_EQUAL(3u, r.size());
    const char* conf = "[system]\ncompatible=cuebox-pc\nbootloader=grub\n\n[keyring]\npath=/etc/rauc/ca.pem\n[slot.rootfs.0]\ncompatible=x\n";
    STRCMP_EQUAL("cuebox-pc", iniValue(conf, "system", "compatible")->c_str());
    STRCMP_EQUAL("/etc/rauc/ca.pem", iniValue(conf, "keyring", "path")->c_str());
    CHECK_FALSE(iniValue(conf, "system", "missing").has_value());
}

TEST(Firmware, installProgressLines) {
    InstallProgress p;
    CHECK(parseInstallLine("installing", p));
    CHECK(parseInstallLine("  0% Installing", p));
    CHECK(parseInstallLine(" 20% Checking bundle", p));
    CHECK_EQUAL(20, p.percent);
    STRCMP_EQUAL("Checking bundle", p.message.c_str());
    CHECK_FALSE(parseInstallLine(" 20% Checking bundle", p));  // nothing new
    CHECK(parseInstallLine("rauc-Message: 00:14:38.628:  40% Checking bundle done.", p));
    CHECK_EQUAL(40, p.percent);
    CHECK(parseInstallLine("100% Installing done.\r", p));
    CHECK_EQUAL(100, p.percent);
    CHECK(p.lastError.empty());
    parseInstallLine("LastError: Failed to mount bundle: no space left", p);
    STRCMP_EQUAL("Failed to mount bundle: no space left", p.lastError.c_str());
    parseInstallLine("Installing `/data/firmware/upload-1.raucb` failed", p);
    STRCMP_EQUAL("Installing `/data/firmware/upload-1.raucb` failed", p.lastError.c_str());
    CHECK_FALSE(parseInstallLine("idle", p));
}

TEST(Firmware, slotsSummary) {
    auto v = json::parse(R"({"compatible":"cuebox-pc","booted":"A","boot_primary":"rootfs.0","slots":[
        {"rootfs.0":{"class":"rootfs","device":"/dev/sda2","type":"ext4","bootname":"A","state":"booted","boot_status":"good",
                     "slot_status":{"bundle":{"compatible":"cuebox-pc","version":"1.4.0"},"installed":{"timestamp":"2026-11-20T12:00:00Z","count":2}}}},
        {"rootfs.1":{"class":"rootfs","device":"/dev/sda3","type":"ext4","bootname":"B","state":"inactive","boot_status":"bad"}}]})");
    std::string booted;
    auto slots = summariseSlots(v, booted);
    STRCMP_EQUAL("A", booted.c_str());
    CHECK_EQUAL(2u, slots.size());
    STRCMP_EQUAL("rootfs.0", slots[0].at("name").as_string().c_str());
    STRCMP_EQUAL("1.4.0", slots[0].at("bundle_version").as_string().c_str());
    STRCMP_EQUAL("2026-11-20T12:00:00Z", slots[0].at("installed_timestamp").as_string().c_str());
    CHECK(slots[0].at("booted").as_bool());
    CHECK_FALSE(slots[1].at("booted").as_bool());
    STRCMP_EQUAL("bad", slots[1].at("boot_status").as_string().c_str());
    CHECK(slots[1].at("bundle_version").is_null());
}

TEST(Firmware, refusalsInWords) {
    // What rauc 1.8 prints (stderr and stdout together).
    const std::string unsignedOut = "rauc-Message: 00:14:34.656: Reading bundle: /tmp/plain.raucb\nInvalid bundle format: Signature size is 0\n";
    STRCMP_EQUAL("not a signed bundle (unsigned): Invalid bundle format: Signature size is 0", infoRefusal(unsignedOut).c_str());
    const std::string unknownKey = "rauc-Message: 00:14:34.545: Verifying bundle signature... \n"
                                   "signature verification failed: Verify error: unable to get local issuer certificate\n";
    STRCMP_EQUAL("signed by a key this box does not trust: signature verification failed: Verify error: unable to get local issuer certificate",
                 infoRefusal(unknownKey).c_str());
    const std::string corrupt = "rauc-Message: 00:14:38.628: Verification failed at position 356352.\n"
                                "rauc-Message: 00:14:38.628: Verification of data area failed.\n"
                                "Failed to extract bundle: bundle payload is corrupted\n";
    CHECK(payloadCorrupt(corrupt));
    STRCMP_EQUAL("Failed to extract bundle: bundle payload is corrupted", raucMessage(corrupt).c_str());
    // An extract that checked the payload and then could not unpack (the
    // output folder is left unmakeable on purpose): not corrupt.
    CHECK_FALSE(payloadCorrupt("rauc-Message: 00:14:42.637: Verifying bundle payload... \n\nFATAL ERROR: dir_scan: failed to make "
                               "directory /x/out, because No such file or directory\nFailed to extract bundle: Failed to run unsquashfs: "
                               "Child process exited with code 1\n"));
}

TEST(Firmware, runProcessPipesOutputAndExitStatus) {
    std::vector<std::string> lines;
    auto r = runProcess({"sh", "-c", "echo ' 10% one'; echo two >&2; exit 3"}, [&](std::string_view l) { lines.emplace_back(l); });
    CHECK_EQUAL(3, r.status);
    CHECK_EQUAL(2u, lines.size());
    STRCMP_EQUAL(" 10% one", lines[0].c_str());
    STRCMP_EQUAL("two", lines[1].c_str());
    auto missing = runProcess({"/nonexistent/rauc", "--version"});
    CHECK_EQUAL(-1, missing.status);
    auto slow = runProcess({"sleep", "5"}, {}, std::chrono::seconds(1));
    CHECK(slow.timedOut);
    CHECK_EQUAL(-1, slow.status);
}

namespace {
// A self-signed certificate made now (an EC P-256 key), valid from
// now+fromS to now+untilS, optionally a CA; as PEM.
std::string makeCert(const char* cn, long fromS, long untilS, bool ca = false) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
    X509_gmtime_adj(X509_getm_notBefore(x), fromS);
    X509_gmtime_adj(X509_getm_notAfter(x), untilS);
    X509_set_pubkey(x, key);
    X509_NAME* n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Theatre"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_set_issuer_name(x, n);
    if (ca) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
        X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    X509_sign(x, key, EVP_sha256());
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char* data = nullptr;
    const long len = BIO_get_mem_data(b, &data);
    std::string pem(data, static_cast<std::size_t>(len));
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(key);
    return pem;
}
}  // namespace

TEST(Firmware, keyNames) {
    CHECK(validKeyName("owner"));
    CHECK(validKeyName("0wner_key-2"));
    CHECK(validKeyName(std::string(40, 'a')));
    CHECK_FALSE(validKeyName(std::string(41, 'a')));
    CHECK_FALSE(validKeyName(""));
    CHECK_FALSE(validKeyName("-owner"));
    CHECK_FALSE(validKeyName("_owner"));
    CHECK_FALSE(validKeyName("Owner"));
    CHECK_FALSE(validKeyName("../etc"));
    CHECK_FALSE(validKeyName("a.pem"));
    CHECK_FALSE(validKeyName("a b"));
}

TEST(Firmware, aValidCertificateIsRead) {
    const std::string pem = makeCert("Jo Owner", -60, 86400L * 365, true);
    std::string canonical;
    auto c = parseCertificate("\n" + pem + "\n", std::time(nullptr), &canonical);
    CHECK_TRUE(c.ok());
    STRCMP_EQUAL("CN=Jo Owner,O=Theatre", c->subject.c_str());
    STRCMP_EQUAL(c->subject.c_str(), c->issuer.c_str());
    CHECK(c->isCa);
    CHECK_EQUAL(95u, c->sha256.size());  // 32 bytes: "AB:CD:..."
    CHECK_EQUAL(':', c->sha256[2]);
    CHECK_EQUAL(20u, c->notAfter.size());  // 2026-01-02T03:04:05Z
    CHECK_EQUAL('Z', c->notAfter.back());
    CHECK(c->notBefore < c->notAfter);
    STRCMP_EQUAL(pem.c_str(), canonical.c_str());
    auto leaf = parseCertificate(makeCert("signer", -60, 3600), std::time(nullptr));
    CHECK_TRUE(leaf.ok());
    CHECK_FALSE(leaf->isCa);
    // The JSON a client sees.
    auto j = certJson("owner", *c);
    STRCMP_EQUAL("owner", j.at("name").as_string().c_str());
    CHECK(j.at("is_ca").as_bool());
    CHECK(j.contains("not_before") && j.contains("not_after") && j.contains("sha256") && j.contains("issuer"));
}

TEST(Firmware, badCertificatesAreRefusedInWords) {
    const std::time_t now = std::time(nullptr);
    auto garbage = parseCertificate("hello, this is not a certificate", now);
    CHECK_FALSE(garbage.ok());
    STRCMP_EQUAL("pem", garbage.error().field.c_str());
    STRCMP_CONTAINS("not a certificate in PEM form", garbage.error().reason.c_str());
    auto damaged = parseCertificate("-----BEGIN CERTIFICATE-----\nMIIBbroken\n-----END CERTIFICATE-----\n", now);
    CHECK_FALSE(damaged.ok());
    STRCMP_CONTAINS("not a valid X.509 certificate", damaged.error().reason.c_str());
    const std::string a = makeCert("a", -60, 3600), b = makeCert("b", -60, 3600);
    auto two = parseCertificate(a + b, now);
    CHECK_FALSE(two.ok());
    STRCMP_CONTAINS("holds 2 PEM blocks", two.error().reason.c_str());
    auto key = parseCertificate(a + "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n", now);
    CHECK_FALSE(key.ok());
    STRCMP_CONTAINS("private key", key.error().reason.c_str());
    auto csr = parseCertificate("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n", now);
    CHECK_FALSE(csr.ok());
    STRCMP_CONTAINS("not a certificate", csr.error().reason.c_str());
    // Expired yesterday: refused with its date.
    const std::string old = makeCert("old", -86400L * 30, -86400);
    auto expired = parseCertificate(old, now);
    CHECK_FALSE(expired.ok());
    STRCMP_CONTAINS("expired on 20", expired.error().reason.c_str());
    CHECK('Z' == expired.error().reason.back());
    // The same certificate read when it was still valid.
    CHECK_TRUE(parseCertificate(old, now - 86400L * 2).ok());
    // A keyring file with several certificates is read whole.
    auto all = readCertificates(a + "\n" + b + "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
    CHECK_EQUAL(2u, all.size());
    STRCMP_EQUAL("CN=a,O=Theatre", all[0].subject.c_str());
    STRCMP_EQUAL("CN=b,O=Theatre", all[1].subject.c_str());
}
