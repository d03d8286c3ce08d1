#include "web/Firmware.h"

#include "base/Log.h"
#include "base/Sha256.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cuebox::web {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {
constexpr const char* kDefaultConf = "/etc/rauc/system.conf";
constexpr std::size_t kOutputMax = 64 * 1024;
constexpr auto kSlotsMaxAge = std::chrono::seconds(5);

std::string trim(std::string_view s) {
    std::size_t a = 0, b = s.size();
    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r' || s[a] == '\n')) ++a;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r' || s[b - 1] == '\n')) --b;
    return std::string(s.substr(a, b - a));
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

std::optional<std::string> readFile(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return std::nullopt;
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// "rauc-Message: 00:14:38.628: text" -> "text" (glib's log prefix).
std::string_view stripLogPrefix(std::string_view line) {
    constexpr std::string_view tag = "rauc-Message: ";
    if (line.substr(0, tag.size()) != tag) return line;
    line.remove_prefix(tag.size());
    if (auto c = line.find(": "); c != std::string_view::npos && c <= 16) line.remove_prefix(c + 2);
    return line;
}

json::value strOrNull(const std::map<std::string, std::string>& m, const char* key) {
    auto it = m.find(key);
    if (it == m.end() || it->second.empty()) return nullptr;
    return json::value(it->second);
}

std::string memberString(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::value memberOrNull(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_string() ? *v : json::value(nullptr);
}

// rauc prints its JSON on one line among its log lines: the last such line.
json::value lastJsonLine(const std::string& output, boost::system::error_code& ec) {
    std::istringstream lines(output);
    std::string line, last;
    while (std::getline(lines, line))
        if (!line.empty() && line[0] == '{') last = line;
    return json::parse(last, ec);
}

Error refused(std::string reason) { return makeError(Errc::bad_request, "bundle", std::move(reason)); }

HttpResponse refusal(const std::string& reason) {
    return jsonResponse(422, {{"error", {{"status", 422}, {"code", "bundle_refused"}, {"field", "bundle"}, {"reason", reason}}}});
}

// dm-verity over a RAUC verity bundle, checked here (not left to `rauc
// extract` alone, whose payload check did not run inside the box's web
// sandbox: a corrupt bundle was accepted). Layout: payload, then the hash
// tree (`size` bytes: the top level first), then the CMS signature and its
// size (8 bytes, big-endian). Version 1 hashing: SHA-256 of salt + block,
// 4096-byte blocks, 128 hashes a hash block (zero padded); the root is the
// hash of the top block. The salt, root and size come from the signed
// manifest, so a changed byte anywhere in payload or tree is found.
namespace {
std::string unhex(std::string_view h) {
    std::string out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}
std::string saltedHash(const std::string& salt, std::string_view block) {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), nullptr);
    EVP_DigestUpdate(c, salt.data(), salt.size());
    EVP_DigestUpdate(c, block.data(), block.size());
    EVP_DigestFinal_ex(c, md, &n);
    EVP_MD_CTX_free(c);
    return std::string(reinterpret_cast<char*>(md), n);
}
}  // namespace

Status verifyVerityBundle(const std::string& file, const std::string& saltHex, const std::string& rootHex, std::uint64_t treeSize) {
    constexpr std::size_t kBlock = 4096, kPerBlock = kBlock / 32;
    std::ifstream in(file, std::ios::binary);
    if (!in) return refused("corrupt: cannot read the bundle");
    in.seekg(0, std::ios::end);
    const auto total = static_cast<std::uint64_t>(in.tellg());
    if (total < 8) return refused("corrupt: too short");
    unsigned char be[8];
    in.seekg(static_cast<std::streamoff>(total - 8));
    in.read(reinterpret_cast<char*>(be), 8);
    std::uint64_t sig = 0;
    for (unsigned char b : be) sig = sig << 8 | b;
    if (sig > total - 8 || treeSize > total - 8 - sig) return refused("corrupt: the bundle's sizes do not add up");
    const std::uint64_t payload = total - 8 - sig - treeSize;
    if (payload % kBlock != 0 || treeSize % kBlock != 0) return refused("corrupt: payload or hash tree not in whole blocks");
    const std::string salt = unhex(saltHex);
    // Level 0 from the payload, then each level above from the one below.
    std::vector<std::string> levels;
    std::string level;
    std::string block(kBlock, '\0');
    in.seekg(0);
    for (std::uint64_t off = 0; off < payload; off += kBlock) {
        if (!in.read(block.data(), kBlock)) return refused("corrupt: cannot read the payload");
        level += saltedHash(salt, block);
    }
    auto pad = [&](std::string& l) { if (l.size() % kBlock) l.append(kBlock - l.size() % kBlock, '\0'); };
    pad(level);
    levels.push_back(level);
    while (levels.back().size() > kBlock) {
        std::string up;
        const std::string& below = levels.back();
        for (std::size_t off = 0; off < below.size(); off += kBlock) up += saltedHash(salt, std::string_view(below).substr(off, kBlock));
        pad(up);
        levels.push_back(up);
    }
    (void)kPerBlock;
    // The tree as stored: the top level first.
    std::string tree;
    for (auto it = levels.rbegin(); it != levels.rend(); ++it) tree += *it;
    if (tree.size() != treeSize) return refused("corrupt: the hash tree has the wrong size");
    std::string stored(treeSize, '\0');
    in.seekg(static_cast<std::streamoff>(payload));
    if (!in.read(stored.data(), static_cast<std::streamsize>(treeSize))) return refused("corrupt: cannot read the hash tree");
    if (stored != tree) return refused("corrupt: the payload does not match its hash tree");
    if (saltedHash(salt, levels.back()) != unhex(rootHex)) return refused("corrupt: the hash tree does not match the signed root hash");
    return {};
}

// What the checks found: the bundle's facts, or why it is refused.
Result<json::object> checkBundle(const std::vector<std::string>& info, const std::vector<std::string>& extract,
                                 const std::string& verifyDir, const std::string& file, const std::string& ours) {
    // 1. The signature against the keyring, and the manifest.
    ProcessResult r = runProcess(info, {}, std::chrono::minutes(10));
    if (r.status != 0) return refused(r.status < 0 && !r.timedOut && r.output.empty() ? "rauc did not run" : infoRefusal(r.output));
    json::object manifest;
    {
        boost::system::error_code ec;
        json::value v = lastJsonLine(r.output, ec);
        if (ec || !v.is_object()) return refused("corrupt: rauc info printed no manifest");
        manifest = std::move(v.as_object());
    }
    // 2. Made for this box?
    const std::string theirs = memberString(manifest, "compatible");
    if (theirs != ours) return refused("for another compatible: " + theirs + " (this box is " + ours + ")");
    // 3. The payload against the signed verity root, here...
    {
        std::vector<std::string> text;
        for (const auto& a : info)
            if (a != "--output-format=json") text.push_back(a);
        ProcessResult t = runProcess(text, {}, std::chrono::minutes(10));
        std::string salt, root;
        std::uint64_t size = 0;
        std::istringstream lines(t.output);
        std::string line;
        auto quoted = [](const std::string& l) {
            const auto a = l.find('\''), b = l.rfind('\'');
            return a != std::string::npos && b > a ? l.substr(a + 1, b - a - 1) : std::string();
        };
        while (std::getline(lines, line)) {
            if (line.find("Verity Salt:") != std::string::npos) salt = quoted(line);
            else if (line.find("Verity Hash:") != std::string::npos) root = quoted(line);
            else if (auto p = line.find("Verity Size:"); p != std::string::npos) size = std::strtoull(line.c_str() + p + 12, nullptr, 10);
        }
        if (salt.empty() || root.empty() || size == 0) return refused("not a verity bundle (this box takes only verity bundles)");
        if (auto v = verifyVerityBundle(file, salt, root, size); !v) return v.error();
    }
    // ...and by rauc: `rauc info` checks only the signature (which covers the
    // manifest and, for a verity bundle, the hash tree's root); `rauc
    // extract` checks every payload block against it before it unpacks. It is
    // given an output folder that cannot be made, so it stops after the check
    // instead of writing the whole image out.
    std::error_code ec;
    fs::remove_all(verifyDir, ec);
    ProcessResult x = runProcess(extract, {}, std::chrono::minutes(30));
    fs::remove_all(verifyDir, ec);
    if (payloadCorrupt(x.output)) return refused("corrupt: " + raucMessage(x.output));
    // 4. The file's hash, for the operator to compare with the release notes.
    std::uint64_t size = 0;
    auto sha = sha256File(file, &size);
    json::object b{{"version", memberOrNull(manifest, "version")},
                   {"compatible", theirs},
                   {"description", memberOrNull(manifest, "description")},
                   {"build", memberOrNull(manifest, "build")},
                   {"size", size},
                   {"sha256", sha ? json::value(*sha) : json::value(nullptr)}};
    return b;
}
}  // namespace

// --- helpers -----------------------------------------------------------------

std::map<std::string, std::string> parseRelease(std::string_view text) {
    std::map<std::string, std::string> out;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        std::string l = trim(line);
        if (l.empty() || l[0] == '#') continue;
        const auto eq = l.find('=');
        if (eq == std::string::npos) continue;
        std::string key = trim(l.substr(0, eq)), value = trim(l.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        if (!key.empty()) out[key] = value;
    }
    return out;
}

std::optional<std::string> iniValue(std::string_view text, std::string_view section, std::string_view key) {
    std::istringstream in{std::string(text)};
    std::string line, current;
    while (std::getline(in, line)) {
        std::string l = trim(line);
        if (l.empty() || l[0] == '#' || l[0] == ';') continue;
        if (l.front() == '[' && l.back() == ']') {
            current = trim(std::string_view(l).substr(1, l.size() - 2));
            continue;
        }
        if (current != section) continue;
        const auto eq = l.find('=');
        if (eq != std::string::npos && trim(l.substr(0, eq)) == key) return trim(l.substr(eq + 1));
    }
    return std::nullopt;
}

bool parseInstallLine(std::string_view raw, InstallProgress& p) {
    std::string line = trim(stripLogPrefix(trim(raw)));
    if (line.empty()) return false;
    // "  20% Checking bundle" (the CLI's progress lines).
    std::size_t i = 0;
    while (i < line.size() && i < 3 && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
    if (i > 0 && i < line.size() && line[i] == '%') {
        const int pct = std::clamp(std::stoi(line.substr(0, i)), 0, 100);
        std::string msg = trim(std::string_view(line).substr(i + 1));
        const bool changed = pct != p.percent || msg != p.message;
        p.percent = pct;
        if (!msg.empty()) p.message = msg;
        return changed;
    }
    const std::string l = lower(line);
    if (l.rfind("lasterror:", 0) == 0) {
        std::string e = trim(std::string_view(line).substr(10));
        if (!e.empty()) p.lastError = e;
        return false;
    }
    if (contains(l, "failed") || contains(l, "error") || contains(l, "refused") || contains(l, "rejected")) {
        p.lastError = line;
        return false;
    }
    if (l == "installing" && p.message.empty()) {
        p.message = "installing";
        return true;
    }
    return false;
}

json::array summariseSlots(const json::value& status, std::string& booted) {
    json::array out;
    booted.clear();
    if (!status.is_object()) return out;
    const json::object& s = status.as_object();
    booted = memberString(s, "booted");
    auto add = [&](std::string name, const json::object& slot) {
        json::object o{{"name", name},
                       {"class", memberOrNull(slot, "class")},
                       {"bootname", memberOrNull(slot, "bootname")},
                       {"state", memberOrNull(slot, "state")},
                       {"boot_status", memberOrNull(slot, "boot_status")},
                       {"bundle_version", nullptr},
                       {"installed_timestamp", nullptr}};
        if (const json::value* st = slot.if_contains("slot_status"); st && st->is_object()) {
            const json::object& ss = st->as_object();
            if (const json::value* b = ss.if_contains("bundle"); b && b->is_object())
                o["bundle_version"] = memberOrNull(b->as_object(), "version");
            if (const json::value* in = ss.if_contains("installed"); in && in->is_object())
                o["installed_timestamp"] = memberOrNull(in->as_object(), "timestamp");
        }
        o["booted"] = memberString(slot, "state") == "booted" ||
                      (!booted.empty() && memberString(slot, "bootname") == booted && memberString(slot, "class") != "bootloader");
        out.push_back(std::move(o));
    };
    const json::value* slots = s.if_contains("slots");
    if (slots && slots->is_array()) {
        for (const json::value& e : slots->as_array()) {
            if (!e.is_object()) continue;
            for (const auto& kv : e.as_object())
                if (kv.value().is_object()) add(std::string(kv.key()), kv.value().as_object());
        }
    } else if (slots && slots->is_object()) {
        for (const auto& kv : slots->as_object())
            if (kv.value().is_object()) add(std::string(kv.key()), kv.value().as_object());
    }
    return out;
}

std::string raucMessage(const std::string& output) {
    std::istringstream in(output);
    std::string line, last;
    while (std::getline(in, line)) {
        std::string l = trim(line);
        if (l.empty() || l.rfind("rauc-Message:", 0) == 0 || l[0] == '{') continue;
        last = l;
    }
    return last.empty() ? std::string("rauc gave no reason") : last;
}

std::string infoRefusal(const std::string& output) {
    const std::string msg = raucMessage(output);
    const std::string l = lower(output);
    if (contains(l, "invalid bundle format") || contains(l, "signature size") || contains(l, "failed to seek") ||
        contains(l, "not a bundle") || contains(l, "no signature"))
        return "not a signed bundle (unsigned): " + msg;
    if (contains(l, "payload is corrupted") || contains(l, "digest failure") || contains(l, "content verification") ||
        contains(l, "hash mismatch"))
        return "corrupt: " + msg;
    if (contains(l, "signature verification failed") || contains(l, "verify error") || contains(l, "certificate") ||
        contains(l, "keyring"))
        return "signed by a key this box does not trust: " + msg;
    return "corrupt: " + msg;
}

bool payloadCorrupt(const std::string& output) {
    const std::string l = lower(output);
    return contains(l, "payload is corrupted") || contains(l, "verification of data area failed") ||
           contains(l, "verification failed at position") || contains(l, "hash mismatch");
}

ProcessResult runProcess(const std::vector<std::string>& argv, const std::function<void(std::string_view)>& onLine,
                         std::chrono::seconds timeout, const std::function<void(pid_t)>& started) {
    ProcessResult r;
    if (argv.empty()) return r;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        r.output = std::string("cannot make a pipe: ") + std::strerror(errno);
        return r;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // never our sockets
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);  // cuebox-web ignores it; the child should not
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &fa, &at, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        r.output = argv[0] + ": " + std::strerror(rc);
        return r;
    }
    if (started) started(pid);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string partial;
    char buf[4096];
    auto emit = [&](bool all) {
        std::size_t start = 0;
        for (std::size_t i = 0; i < partial.size(); ++i) {
            if (partial[i] == '\n' || partial[i] == '\r') {
                if (onLine && i > start) onLine(std::string_view(partial).substr(start, i - start));
                start = i + 1;
            }
        }
        partial.erase(0, start);
        if (all && !partial.empty()) {
            if (onLine) onLine(partial);
            partial.clear();
        }
    };
    while (true) {
        pollfd p{fds[0], POLLIN, 0};
        const int n = ::poll(&p, 1, 200);
        if (n < 0 && errno != EINTR) break;
        if (timeout.count() > 0 && std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            r.timedOut = true;
            break;
        }
        if (n <= 0) continue;
        const ssize_t got = ::read(fds[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        r.output.append(buf, static_cast<std::size_t>(got));
        if (r.output.size() > kOutputMax) r.output.erase(0, r.output.size() - kOutputMax);
        partial.append(buf, static_cast<std::size_t>(got));
        emit(false);
    }
    emit(true);
    ::close(fds[0]);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    r.status = WIFEXITED(st) && !r.timedOut ? WEXITSTATUS(st) : -1;
    if (r.timedOut) r.output += "\n" + argv[0] + " took too long and was stopped";
    return r;
}


// --- owner signing keys: certificates ----------------------------------------

namespace {
constexpr const char* kDefaultImageKeyring = "/etc/rauc/keyring.d";
constexpr std::size_t kPemMax = 32 * 1024;

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

BioPtr memBio(std::string_view text) { return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))); }

std::string opensslReason() {
    const unsigned long e = ERR_peek_last_error();
    const char* r = e ? ERR_reason_error_string(e) : nullptr;
    ERR_clear_error();
    return r ? r : "unknown error";
}

std::string isoTime(const ASN1_TIME* t) {
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "";
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string nameText(const X509_NAME* n) {
    BioPtr b(BIO_new(BIO_s_mem()));
    if (!b || X509_NAME_print_ex(b.get(), n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) return "";
    char* data = nullptr;
    const long len = BIO_get_mem_data(b.get(), &data);
    return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

CertFacts facts(X509* x) {
    CertFacts c;
    c.subject = nameText(X509_get_subject_name(x));
    c.issuer = nameText(X509_get_issuer_name(x));
    c.notBefore = isoTime(X509_get0_notBefore(x));
    c.notAfter = isoTime(X509_get0_notAfter(x));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(x, EVP_sha256(), md, &n) == 1) {
        static const char* digits = "0123456789ABCDEF";
        for (unsigned i = 0; i < n; ++i) {
            if (i) c.sha256.push_back(':');
            c.sha256.push_back(digits[md[i] >> 4]);
            c.sha256.push_back(digits[md[i] & 15]);
        }
    }
    c.isCa = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
    return c;
}

std::size_t count(std::string_view hay, std::string_view needle) {
    std::size_t n = 0;
    for (auto at = hay.find(needle); at != std::string_view::npos; at = hay.find(needle, at + needle.size())) ++n;
    return n;
}

Error pemError(std::string reason) { return makeError(Errc::bad_request, "pem", std::move(reason)); }

HttpResponse keyRefusal(const std::string& field, const std::string& reason) {
    return jsonResponse(422, {{"error", {{"status", 422}, {"code", "key_refused"}, {"field", field}, {"reason", reason}}}});
}

// The *.pem files of a folder, sorted by name.
std::vector<fs::path> pemFiles(const std::string& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string n = e.path().filename().string();
        if (n.size() > 4 && n[0] != '.' && n.ends_with(".pem") && e.is_regular_file(ec)) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}
}  // namespace

Result<CertFacts> parseCertificate(std::string_view pem, std::time_t now, std::string* canonical) {
    if (pem.size() > kPemMax) return pemError("is too large for a certificate (more than 32 KiB)");
    if (pem.find("PRIVATE KEY-----") != std::string_view::npos)
        return pemError("holds a private key: send only the certificate, and keep the key secret");
    const std::size_t blocks = count(pem, "-----BEGIN ");
    if (blocks == 0) return pemError("is not a certificate in PEM form (it must start with -----BEGIN CERTIFICATE-----)");
    if (count(pem, "-----BEGIN CERTIFICATE-----") == 0)
        return pemError("is not a certificate: its PEM block is not -----BEGIN CERTIFICATE-----");
    if (blocks > 1) return pemError("holds " + std::to_string(blocks) + " PEM blocks: send exactly one certificate");
    ERR_clear_error();
    BioPtr in = memBio(pem);
    X509Ptr x(in ? PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!x) return pemError("is not a valid X.509 certificate (" + opensslReason() + ")");
    CertFacts c = facts(x.get());
    if (X509_cmp_time(X509_get0_notAfter(x.get()), &now) < 0)
        return pemError("expired on " + (c.notAfter.empty() ? std::string("an unreadable date") : c.notAfter));
    if (canonical) {
        BioPtr out(BIO_new(BIO_s_mem()));
        char* data = nullptr;
        if (!out || PEM_write_bio_X509(out.get(), x.get()) != 1) return pemError("cannot be written out again (" + opensslReason() + ")");
        const long len = BIO_get_mem_data(out.get(), &data);
        canonical->assign(data, static_cast<std::size_t>(std::max(0L, len)));
    }
    return c;
}

std::vector<CertFacts> readCertificates(std::string_view pem) {
    std::vector<CertFacts> out;
    // Block by block: a block that is not a certificate (or is damaged) is skipped.
    for (std::size_t at = pem.find("-----BEGIN CERTIFICATE-----"); at != std::string_view::npos;
         at = pem.find("-----BEGIN CERTIFICATE-----", at + 1)) {
        BioPtr b = memBio(pem.substr(at));
        if (X509Ptr x{b ? PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr) : nullptr}) out.push_back(facts(x.get()));
    }
    ERR_clear_error();
    return out;
}

bool validKeyName(std::string_view name) {
    if (name.empty() || name.size() > 40) return false;
    auto lowerOrDigit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!lowerOrDigit(name[0])) return false;
    return std::all_of(name.begin() + 1, name.end(), [&](char c) { return lowerOrDigit(c) || c == '_' || c == '-'; });
}

json::object certJson(const std::string& name, const CertFacts& c) {
    return json::object{{"name", name},          {"subject", c.subject},   {"issuer", c.issuer}, {"not_before", c.notBefore},
                        {"not_after", c.notAfter}, {"sha256", c.sha256}, {"is_ca", c.isCa}};
}

// --- the service ---------------------------------------------------------

Firmware::Firmware(std::string dir) : dir_(std::move(dir)) {}

Firmware::~Firmware() { stop(); }

void Firmware::stop() {
    if (pid_t pid = installPid_.load(); pid > 0) ::kill(pid, SIGTERM);
    for (std::thread* t : {&checker_, &installer_, &refresher_})
        if (t->joinable()) t->join();
}

void Firmware::run(std::thread& t, std::function<void()> work) {
    if (!post_) return work();  // no io thread to come back to (unit tests): at once
    if (t.joinable()) t.join();  // the previous one, already finished
    t = std::thread(std::move(work));
}

std::vector<std::string> Firmware::rauc(std::vector<std::string> args, bool conf) const {
    std::vector<std::string> argv{opt_.rauc};
    if (conf && !opt_.raucConf.empty()) argv.push_back("--conf=" + opt_.raucConf);
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

void Firmware::logEvent(const std::string& client, const std::string& detail) {
    log::info("web", "firmware: " + detail);
    if (log_) log_(client, detail);
}

void Firmware::configure(FirmwareOptions o) {
    opt_ = std::move(o);
    if (opt_.rauc.empty()) opt_.rauc = "rauc";
    if (opt_.imageKeyring.empty()) {
        const char* e = std::getenv("CUEBOX_IMAGE_KEYRING");
        opt_.imageKeyring = e && *e ? e : kDefaultImageKeyring;
    }
    release_.clear();
    if (auto text = readFile(opt_.release)) release_ = parseRelease(*text);
    const std::string conf = opt_.raucConf.empty() ? kDefaultConf : opt_.raucConf;
    auto confText = readFile(conf);
    compatible_.clear();
    if (confText)
        if (auto c = iniValue(*confText, "system", "compatible")) compatible_ = *c;
    if (compatible_.empty())
        if (auto it = release_.find("COMPATIBLE"); it != release_.end()) compatible_ = it->second;
    available_ = false;
    if (!confText) {
        unavailableReason_ = "no RAUC system configuration at " + conf;
    } else {
        ProcessResult v = runProcess({opt_.rauc, "--version"}, {}, std::chrono::seconds(10));
        if (v.status == 0) {
            available_ = true;
            unavailableReason_.clear();
        } else {
            unavailableReason_ = "rauc does not run: " + raucMessage(v.output);
        }
    }
    // Uploads a stopped process left (a checked bundle must be uploaded again).
    std::error_code ec;
    fs::create_directories(dir_, ec);
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
        const std::string n = e.path().filename().string();
        if (n.rfind(".upload-", 0) == 0 || n.rfind("upload-", 0) == 0 || n.rfind(".verify-", 0) == 0) {
            std::error_code rec;
            fs::remove_all(e.path(), rec);
        }
    }
    log::info("web", available_ ? "firmware updates through " + opt_.rauc + " (compatible " + compatible_ + ")"
                                : "firmware updates not available: " + unavailableReason_);
    if (available_) refreshSlots();
}

json::object Firmware::jobJson() const {
    static constexpr const char* names[] = {"idle", "installing", "done", "failed"};
    return json::object{{"state", names[static_cast<int>(job_)]},
                        {"percent", progress_.percent},
                        {"message", progress_.message},
                        {"error", jobError_.empty() ? json::value(nullptr) : json::value(jobError_)}};
}

void Firmware::publish() {
    if (!broadcast_) return;
    broadcast_({{"type", "firmware"},
                {"job", jobJson()},
                {"checking", checking_},
                {"bundle", bundle_ ? json::value(*bundle_) : json::value(nullptr)},
                {"reboot_required", rebootRequired_},
                {"booted_slot", booted_.empty() ? json::value(nullptr) : json::value(booted_)},
                {"slots", slots_}});
}

void Firmware::refreshSlots() {
    if (refreshing_ || !available_) return;
    refreshing_ = true;
    auto argv = rauc({"status", "--detailed", "--output-format=json"});
    run(refresher_, [this, argv] {
        ProcessResult r = runProcess(argv, {}, std::chrono::seconds(20));
        std::string booted, error;
        json::array slots;
        if (r.status == 0) {
            boost::system::error_code ec;
            json::value v = lastJsonLine(r.output, ec);
            if (ec) error = "rauc status printed no JSON";
            else slots = summariseSlots(v, booted);
        } else {
            error = raucMessage(r.output);
        }
        auto done = [this, slots = std::move(slots), booted, error]() mutable {
            refreshing_ = false;
            slotsAt_ = std::chrono::steady_clock::now();
            const bool changed = slots != slots_ || booted != booted_;
            slots_ = std::move(slots);
            booted_ = booted;
            slotsError_ = error;
            if (changed) publish();
        };
        if (post_) post_(std::move(done));
        else done();
    });
}

json::object Firmware::status() {
    if (available_ && !refreshing_ && std::chrono::steady_clock::now() - slotsAt_ > kSlotsMaxAge) refreshSlots();
    auto rel = [&](const char* k) { return strOrNull(release_, k); };
    json::object o{{"available", available_},
                   {"unavailable_reason", available_ ? json::value(nullptr) : json::value(unavailableReason_)},
                   {"version", CUEBOX_VERSION},
                   {"commit", CUEBOX_COMMIT},
                   {"image_version", rel("IMAGE_VERSION")},
                   {"image_build", rel("IMAGE_BUILD")},
                   {"board", rel("BOARD")},
                   {"compatible", compatible_.empty() ? json::value(nullptr) : json::value(compatible_)},
                   {"booted_slot", booted_.empty() ? json::value(nullptr) : json::value(booted_)},
                   {"slots", slots_},
                   {"slots_error", slotsError_.empty() ? json::value(nullptr) : json::value(slotsError_)},
                   {"bundle", bundle_ ? json::value(*bundle_) : json::value(nullptr)},
                   {"checking", checking_},
                   {"job", jobJson()},
                   {"reboot_required", rebootRequired_}};
    return o;
}

Result<std::string> Firmware::uploadDir() const {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return makeError(Errc::io, "bundle", "cannot use the firmware folder '" + dir_ + "': " + ec.message());
    return dir_;
}

Status Firmware::uploadAllowed() const {
    if (!available_)
        return makeError(Errc::conflict, "firmware", "firmware updates are not available on this box: " + unavailableReason_);
    if (job_ == JobState::installing)
        return makeError(Errc::conflict, "busy", "a firmware install is running; upload when it is done");
    if (checking_) return makeError(Errc::conflict, "busy", "another bundle is being checked; try again when it is done");
    return {};
}

void Firmware::uploaded(const std::string& file, const std::string& client, Respond respond) {
    std::error_code ec;
    if (auto ok = uploadAllowed(); !ok) {
        fs::remove(file, ec);
        return respond(errorResponse(ok.error()));
    }
    const std::string dest = dir_ + "/upload-" + std::to_string(::getpid()) + "-" + std::to_string(++uploads_) + ".raucb";
    fs::rename(file, dest, ec);
    if (ec) {
        fs::remove(file, ec);
        return respond(errorResponse(makeError(Errc::io, "bundle", "cannot keep the upload: " + ec.message())));
    }
    checking_ = true;
    publish();
    const auto info = rauc({"info", "--output-format=json", dest});
    const std::string verifyDir = dir_ + "/.verify-" + std::to_string(uploads_);
    const auto extract = rauc({"extract", dest, verifyDir + "/absent/out"});
    run(checker_, [this, info, extract, verifyDir, dest, client, respond, ours = compatible_]() mutable {
        Result<json::object> r = checkBundle(info, extract, verifyDir, dest, ours);
        auto done = [this, r = std::move(r), dest, client, respond = std::move(respond)]() mutable {
            checking_ = false;
            std::error_code ec;
            if (!r) {
                fs::remove(dest, ec);
                logEvent(client, "firmware bundle refused: " + r.error().reason);
                respond(refusal(r.error().reason));
                return publish();
            }
            if (!bundleFile_.empty() && bundleFile_ != dest) fs::remove(bundleFile_, ec);
            bundleFile_ = dest;
            bundle_ = *r;
            const auto& v = bundle_->at("version");
            logEvent(client, "firmware bundle accepted: version " + (v.is_string() ? std::string(v.as_string()) : "?") +
                                 " for " + std::string(bundle_->at("compatible").as_string()));
            respond(jsonResponse(200, {{"bundle", *bundle_}}));
            publish();
        };
        if (post_) post_(std::move(done));
        else done();
    });
}

void Firmware::install(const std::string& client, Respond respond) {
    if (!available_)
        return respond(errorResponse(makeError(Errc::conflict, "firmware",
                                               "firmware updates are not available on this box: " + unavailableReason_)));
    if (job_ == JobState::installing)
        return respond(errorResponse(makeError(Errc::conflict, "busy", "a firmware install is already running")));
    if (checking_)
        return respond(errorResponse(makeError(Errc::conflict, "busy", "a bundle is being checked; install when it is done")));
    if (!bundle_)
        return respond(errorResponse(makeError(Errc::conflict, "bundle", "no checked bundle to install: upload one first")));
    job_ = JobState::installing;
    progress_ = InstallProgress{};
    progress_.message = "starting";
    jobError_.clear();
    const auto& v = bundle_->at("version");
    const std::string version = v.is_string() ? std::string(v.as_string()) : "?";
    logEvent(client, "firmware install of version " + version + " started");
    respond(jsonResponse(202, {{"job", jobJson()}}));
    publish();
    const auto argv = rauc({"install", bundleFile_}, false);
    run(installer_, [this, argv, client, version] {
        InstallProgress p;
        ProcessResult r = runProcess(
            argv,
            [this, &p](std::string_view line) {
                if (!parseInstallLine(line, p)) return;
                InstallProgress snap = p;
                auto step = [this, snap] {
                    if (job_ != JobState::installing) return;
                    progress_.percent = snap.percent;
                    progress_.message = snap.message;
                    publish();
                };
                if (post_) post_(std::move(step));
                else step();
            },
            std::chrono::seconds(0), [this](pid_t pid) { installPid_ = pid; });
        installPid_ = 0;
        auto done = [this, r, p, client, version] {
            std::error_code ec;
            if (r.status == 0) {
                job_ = JobState::done;
                progress_.percent = 100;
                progress_.message = "installed: restart the box to run version " + version;
                rebootRequired_ = true;
                fs::remove(bundleFile_, ec);
                bundleFile_.clear();
                bundle_.reset();
                logEvent(client, "firmware version " + version + " installed; a restart is needed");
            } else {
                job_ = JobState::failed;
                progress_.message = p.message;
                jobError_ = !p.lastError.empty() ? p.lastError
                            : r.status >= 0     ? "rauc install exited with status " + std::to_string(r.status) + ": " + raucMessage(r.output)
                                                : "rauc install did not finish: " + raucMessage(r.output);
                logEvent(client, "firmware install of version " + version + " failed: " + jobError_);
            }
            slotsAt_ = {};
            publish();
            refreshSlots();
        };
        if (post_) post_(std::move(done));
        else done();
    });
}

void Firmware::reboot(bool force, const std::string& client, Respond respond) {
    if (job_ == JobState::installing)
        return respond(errorResponse(makeError(Errc::conflict, "busy", "a firmware install is running: restart when it is done")));
    if (!rebootRequired_ && !force)
        return respond(errorResponse(makeError(Errc::conflict, "reboot",
                                               "no restart is needed (no new firmware was installed); send {\"force\": true} to restart anyway")));
    std::error_code ec;
    const fs::path file(opt_.rebootRequest);
    if (file.has_parent_path()) fs::create_directories(file.parent_path(), ec);
    {
        std::ofstream f(opt_.rebootRequest, std::ios::trunc);
        f << "reboot requested by " << client << (force && !rebootRequired_ ? " (forced)" : "") << "\n";
        f.flush();
        if (!f)
            return respond(errorResponse(makeError(Errc::io, "reboot", "cannot write the reboot request " + opt_.rebootRequest +
                                                                           (ec ? ": " + ec.message() : std::string()))));
    }
    logEvent(client, std::string("restart requested") + (rebootRequired_ ? " to run the new firmware" : " (forced)"));
    broadcast_ ? broadcast_({{"type", "firmware"}, {"reboot", "requested"}}) : void();
    respond(jsonResponse(202, {{"reboot", "requested"}}));
}

// --- owner signing keys ------------------------------------------------------

std::string Firmware::keysDir() const {
    fs::path d(dir_);
    if (!d.has_filename()) d = d.parent_path();  // "<data>/firmware/"
    return (d.parent_path() / "firmware-keys").string();
}

json::object Firmware::keys() const {
    json::array enrolled, image;
    for (const fs::path& f : pemFiles(keysDir())) {
        const std::string name = f.stem().string();
        auto text = readFile(f.string());
        std::string reason = "cannot be read";
        if (text) {
            auto c = parseCertificate(*text, std::time(nullptr));
            if (c) {
                enrolled.push_back(certJson(name, *c));
                continue;
            }
            // Kept for its removal; an expired one stays listed with its facts.
            auto all = readCertificates(*text);
            if (all.size() == 1) {
                json::object o = certJson(name, all[0]);
                o["error"] = c.error().reason;
                enrolled.push_back(std::move(o));
                continue;
            }
            reason = c.error().reason;
        }
        enrolled.push_back(json::object{{"name", name},       {"subject", nullptr}, {"issuer", nullptr}, {"not_before", nullptr},
                                        {"not_after", nullptr}, {"sha256", nullptr},  {"is_ca", false},    {"error", reason}});
    }
    if (!opt_.imageKeyring.empty())
        for (const fs::path& f : pemFiles(opt_.imageKeyring))
            if (auto text = readFile(f.string()))
                for (const CertFacts& c : readCertificates(*text)) image.push_back(certJson(f.stem().string(), c));
    return json::object{{"keys", std::move(enrolled)}, {"image_keys", std::move(image)}, {"image_keyring", opt_.imageKeyring}};
}

HttpResponse Firmware::addKey(const json::object& body, const std::string& client) {
    for (const auto& kv : body)
        if (kv.key() != "name" && kv.key() != "pem")
            return errorResponse(makeError(Errc::bad_request, std::string(kv.key()), "is not a member of a key (name, pem)"));
    const json::value* n = body.if_contains("name");
    const json::value* p = body.if_contains("pem");
    auto refuse = [&](const std::string& field, const std::string& reason) {
        logEvent(client, "firmware signing key refused: " + field + " " + reason);
        return keyRefusal(field, reason);
    };
    if (!n || !n->is_string()) return refuse("name", "is required: a name for the key (a-z, 0-9, - and _, up to 40)");
    const std::string name(n->as_string());
    if (!validKeyName(name))
        return refuse("name", "must be 1 to 40 characters a-z, 0-9, - and _, starting with a letter or digit");
    if (!p || !p->is_string()) return refuse("pem", "is required: the certificate in PEM form");
    const std::string dir = keysDir();
    const std::string file = dir + "/" + name + ".pem";
    std::error_code ec;
    if (fs::exists(file, ec))
        return errorResponse(makeError(Errc::conflict, "name", "a key named " + name + " is already enrolled: remove it first or choose another name"));
    std::string pem;
    auto cert = parseCertificate(std::string_view(p->as_string()), std::time(nullptr), &pem);
    if (!cert) return refuse("pem", cert.error().reason);
    // Written whole or not at all: a temporary file (not *.pem, which the
    // keyring assembly would pick up) renamed into place.
    fs::create_directories(dir, ec);
    const std::string tmp = dir + "/." + name + ".pem.tmp";
    auto ioError = [&](const std::string& what) {
        const std::string reason = what + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        log::warn("web", "firmware: " + reason);
        return errorResponse(makeError(Errc::io, "pem", reason));
    };
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ioError("cannot write " + tmp);
    bool ok = ::fchmod(fd, 0644) == 0;
    for (std::size_t done = 0; ok && done < pem.size();) {
        const ssize_t w = ::write(fd, pem.data() + done, pem.size() - done);
        if (w < 0 && errno == EINTR) continue;
        ok = w > 0;
        if (ok) done += static_cast<std::size_t>(w);
    }
    ok = ok && ::fsync(fd) == 0;
    ok = (::close(fd) == 0) && ok;
    if (!ok) return ioError("cannot write " + tmp);
    if (::rename(tmp.c_str(), file.c_str()) != 0) return ioError("cannot rename " + tmp);
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    logEvent(client, "firmware signing key enrolled: " + name + " (" + cert->subject + ", SHA-256 " + cert->sha256 + ", until " +
                         cert->notAfter + ")");
    return jsonResponse(201, {{"key", certJson(name, *cert)}});
}

HttpResponse Firmware::removeKey(const std::string& name, const std::string& client) {
    const std::string file = keysDir() + "/" + name + ".pem";
    std::error_code ec;
    if (!validKeyName(name) || !fs::is_regular_file(file, ec))
        return errorResponse(makeError(Errc::not_found, "name", "no enrolled signing key named " + name));
    if (!fs::remove(file, ec) || ec)
        return errorResponse(makeError(Errc::io, "name", "cannot remove " + file + (ec ? ": " + ec.message() : std::string())));
    logEvent(client, "firmware signing key removed: " + name);
    return jsonResponse(200, {{"deleted", name}});
}

}  // namespace cuebox::web
