#include "web/Firmware.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

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
