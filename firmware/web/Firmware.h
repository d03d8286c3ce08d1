// Field updates through RAUC (docs/PROTOCOL.md "Firmware"): the image's
// facts, the A/B slots, an uploaded bundle checked by `rauc info` and
// `rauc extract` (signature, keyring, compatible, payload), its install by
// `rauc install` with progress for the clients, and a reboot asked of root
// through a request file (cuebox-web is unprivileged).
//
// rauc runs as a child process (posix_spawn, never a shell) on a thread of
// this class: the io thread never waits for it. Public members are io
// thread only; the threads come back through the poster.
#pragma once

#include "base/Error.h"
#include "web/Http.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace cuebox::web {

struct FirmwareOptions {
    std::string rauc = "rauc";  // the rauc binary (PATH is searched)
    // Given: every rauc call but install gets --conf=FILE. The compatible and
    // the keyring come from this file (or from /etc/rauc/system.conf).
    std::string raucConf;
    std::string release = "/etc/cuebox-release";  // KEY=VALUE image facts; missing: not an image
    std::string rebootRequest = "/run/cuebox/reboot-request";  // written to ask root for a reboot
    // The image's RAUC keyring certificates (*.pem), listed read-only by
    // GET /api/firmware/keys. Empty: $CUEBOX_IMAGE_KEYRING, else
    // /etc/rauc/keyring.d.
    std::string imageKeyring;
};

// --- plain helpers (unit-tested) -------------------------------------------

// KEY=VALUE lines (# comments, blank lines, "quoted" values).
std::map<std::string, std::string> parseRelease(std::string_view text);
// The value of key in [section] of an ini (system.conf), or nullopt.
std::optional<std::string> iniValue(std::string_view text, std::string_view section, std::string_view key);

// What `rauc install` printed so far.
struct InstallProgress {
    int percent = 0;
    std::string message;    // the newest progress message
    std::string lastError;  // the newest line that reads as an error
};
// Feeds one output line of `rauc install` ("  20% Checking bundle",
// "LastError: ...", "Installing `x` failed", rauc-Message lines...).
// True when the percent or the message changed.
bool parseInstallLine(std::string_view line, InstallProgress& p);

// `rauc status --output-format=json` summarised: each slot's name,
// bootname, state, boot_status, bundle_version, installed_timestamp;
// `booted` gets the booted slot's bootname.
boost::json::array summariseSlots(const boost::json::value& status, std::string& booted);

// Why rauc refused a bundle, in words for the operator, from the output of a
// failed `rauc info` (rauc's own message appended).
std::string infoRefusal(const std::string& output);
// Whether a `rauc extract` run found the payload corrupted.
bool payloadCorrupt(const std::string& output);
// The last line rauc printed that is not a "rauc-Message:" log line.
std::string raucMessage(const std::string& output);

// --- owner signing keys (docs/PROTOCOL.md "Owner signing keys") -----------

// The facts of one X.509 certificate, as GET /api/firmware/keys lists them.
struct CertFacts {
    std::string subject, issuer;   // RFC 2253 ("CN=Jo,O=Theatre")
    std::string notBefore, notAfter;  // ISO 8601 UTC ("2026-01-02T03:04:05Z")
    std::string sha256;            // of the DER, upper-case hex with colons (as `openssl x509 -fingerprint -sha256`)
    bool isCa = false;             // basicConstraints CA:TRUE
};
// Exactly one valid X.509 certificate in PEM, not expired at `now`; else an
// error (field "pem") whose reason says why in plain words. `canonical`, when
// given, gets the certificate written out again as PEM (nothing else).
Result<CertFacts> parseCertificate(std::string_view pem, std::time_t now, std::string* canonical = nullptr);
// Every certificate in a PEM file (a keyring may hold several); unreadable
// blocks are skipped.
std::vector<CertFacts> readCertificates(std::string_view pem);
// An enrolled key's name: ^[a-z0-9][a-z0-9_-]{0,39}$.
bool validKeyName(std::string_view name);
// {name, subject, issuer, not_before, not_after, sha256, is_ca}.
boost::json::object certJson(const std::string& name, const CertFacts& c);

struct ProcessResult {
    int status = -1;     // the exit status; -1 when it could not run or died of a signal
    std::string output;  // stdout and stderr together (the last 64 KiB)
    bool timedOut = false;
};
// Runs argv[0] (PATH searched) with stdin from /dev/null, stdout and stderr
// piped together; `onLine` sees each line as it comes; `started` gets the
// child's pid. A timeout (0: none) kills it.
ProcessResult runProcess(const std::vector<std::string>& argv, const std::function<void(std::string_view)>& onLine = {},
                         std::chrono::seconds timeout = std::chrono::seconds(0),
                         const std::function<void(pid_t)>& started = {});

// --- the service ---------------------------------------------------------

class Firmware {
public:
    using Post = std::function<void(std::function<void()>)>;
    using Broadcast = std::function<void(boost::json::object)>;
    // An entry for the event log (kind "system"): who, what.
    using LogEvent = std::function<void(const std::string& client, const std::string& detail)>;

    explicit Firmware(std::string dir);  // the folder uploads go to (<data>/firmware)
    ~Firmware();
    Firmware(const Firmware&) = delete;
    Firmware& operator=(const Firmware&) = delete;

    void setPoster(Post p) { post_ = std::move(p); }
    void setBroadcast(Broadcast b) { broadcast_ = std::move(b); }
    void setLog(LogEvent l) { log_ = std::move(l); }
    // Applies the options (at start): reads the release file and the rauc
    // system configuration, checks that rauc runs, removes uploads a stopped
    // process left, and reads the slots in the background.
    void configure(FirmwareOptions o);

    // GET /api/firmware (starts a slot refresh when the cached one is old).
    boost::json::object status();
    // Where an uploaded bundle is streamed to; whether one may come now
    // (refused before its body is read).
    Result<std::string> uploadDir() const;
    Status uploadAllowed() const;
    // POST /api/firmware/bundle: the server streamed the body to `file`;
    // checked off the io thread; 200 {bundle} or 422 bundle_refused.
    void uploaded(const std::string& file, const std::string& client, Respond respond);
    // POST /api/firmware/install: 202 with the job.
    void install(const std::string& client, Respond respond);
    // POST /api/firmware/reboot: 202 after writing the request file.
    void reboot(bool force, const std::string& client, Respond respond);
    // Owner signing keys, kept as <data>/firmware-keys/<name>.pem (root
    // watches the folder and assembles RAUC's keyring from the image's
    // keyring.d and these). GET /api/firmware/keys: {keys, image_keys,
    // image_keyring}.
    boost::json::object keys() const;
    // POST /api/firmware/keys {name, pem}: 201 {key}, 422 name/pem, 409 name.
    HttpResponse addKey(const boost::json::object& body, const std::string& client);
    // DELETE /api/firmware/keys/{name}: 200 {deleted}, 404 name.
    HttpResponse removeKey(const std::string& name, const std::string& client);
    std::string keysDir() const;
    // Stops the threads (an install's rauc client is ended: the RAUC service
    // carries on).
    void stop();

private:
    boost::json::object jobJson() const;
    void publish();
    void refreshSlots();
    std::vector<std::string> rauc(std::vector<std::string> args, bool conf = true) const;
    void run(std::thread& t, std::function<void()> work);  // on a thread, or at once without a poster
    void logEvent(const std::string& client, const std::string& detail);

    std::string dir_;
    FirmwareOptions opt_;
    Post post_;
    Broadcast broadcast_;
    LogEvent log_;

    bool available_ = false;
    std::string unavailableReason_;
    std::map<std::string, std::string> release_;
    std::string compatible_;  // this box's, from the rauc system configuration (else the release file)

    // io thread state
    boost::json::array slots_;
    std::string booted_;
    std::string slotsError_;
    std::chrono::steady_clock::time_point slotsAt_{};
    bool refreshing_ = false;
    bool checking_ = false;
    std::optional<boost::json::object> bundle_;  // the checked upload
    std::string bundleFile_;
    enum class JobState { idle, installing, done, failed } job_ = JobState::idle;
    InstallProgress progress_;
    std::string jobError_;
    bool rebootRequired_ = false;
    std::uint64_t uploads_ = 0;

    std::atomic<pid_t> installPid_{0};  // set by the install thread, read by stop()
    std::thread checker_, installer_, refresher_;
};

// Checks a RAUC verity bundle's payload and hash tree against the signed
// root hash and salt (from `rauc info`) and the tree size; refused with the
// reason ("corrupt: ...") when a byte differs.
Status verifyVerityBundle(const std::string& file, const std::string& saltHex, const std::string& rootHex, std::uint64_t treeSize);

}  // namespace cuebox::web
