#include "web/ShowLock.h"

#include "base/Sha256.h"
#include "base/Time.h"

#include <boost/json.hpp>

#include <random>

namespace cuebox::web {
namespace json = boost::json;

namespace {
constexpr int kMaxFailures = 5;
constexpr auto kBlockFor = std::chrono::seconds(30);

Error badPin(const char* reason) { return makeError(Errc::bad_request, "pin", reason); }

Status checkPinFormat(const std::string& pin) {
    if (pin.size() < 4 || pin.size() > 8) return badPin("the PIN is 4 to 8 digits");
    for (char c : pin)
        if (c < '0' || c > '9') return badPin("the PIN is 4 to 8 digits");
    return {};
}

std::string randomSalt() {
    std::random_device rd;
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 16; ++i) {
        const unsigned v = rd() & 0xffu;
        s += hex[v >> 4];
        s += hex[v & 15];
    }
    return s;
}

// Compares without stopping at the first difference.
bool sameText(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
    return d == 0;
}
}  // namespace

Status ShowLock::load() {
    auto rec = store_.lockRecord();
    if (!rec) return rec.error();
    locked_ = false;
    if (rec->empty()) return {};
    boost::system::error_code ec;
    json::value v = json::parse(*rec, ec);
    if (ec || !v.is_object()) return makeError(Errc::corrupt, "lock", "the stored show lock is unreadable; the show is unlocked");
    const auto& o = v.as_object();
    auto text = [&](const char* k) {
        const auto* p = o.if_contains(k);
        return p && p->is_string() ? std::string(p->as_string()) : std::string{};
    };
    const auto* l = o.if_contains("locked");
    salt_ = text("salt");
    hash_ = text("hash");
    since_ = text("since");
    by_ = text("by");
    locked_ = l && l->is_bool() && l->as_bool() && !hash_.empty();
    return {};
}

json::object ShowLock::json() const {
    json::object o{{"locked", locked_}};
    if (locked_) {
        o["since"] = since_;
        o["by"] = by_;
    }
    return o;
}

Status ShowLock::save(const std::string& what, const store::Origin& origin) {
    json::object o{{"locked", locked_}, {"salt", salt_}, {"hash", hash_}, {"since", since_}, {"by", by_}};
    return store_.putLockRecord(json::serialize(o), what, origin);
}

Status ShowLock::lock(const std::string& pin, const store::Origin& origin) {
    if (locked_) return makeError(Errc::conflict, "lock", "the show is already locked");
    if (auto st = checkPinFormat(pin); !st) return st;
    salt_ = randomSalt();
    hash_ = sha256Hex(salt_ + pin);
    since_ = isoNow();
    by_ = origin.client;
    locked_ = true;
    failures_ = 0;
    if (auto st = save("show locked (performing only)", origin); !st) {
        locked_ = false;  // not stored: not locked
        return st;
    }
    return {};
}

Status ShowLock::unlock(const std::string& pin, const store::Origin& origin) {
    if (!locked_) return makeError(Errc::conflict, "lock", "the show is not locked");
    const auto now = std::chrono::steady_clock::now();
    if (now < blockedUntil_)
        return makeError(Errc::conflict, "pin", "too many wrong PINs: try again in " +
                                                    std::to_string(std::chrono::ceil<std::chrono::seconds>(blockedUntil_ - now).count()) + " s");
    if (auto st = checkPinFormat(pin); !st) return st;
    if (!sameText(sha256Hex(salt_ + pin), hash_)) {
        if (++failures_ >= kMaxFailures) {
            failures_ = 0;
            blockedUntil_ = now + kBlockFor;
        }
        (void)store_.appendLog({store::LogEntry{0, 0, "lock", "web", origin.client, "wrong PIN to unlock the show", ""}});
        return makeError(Errc::forbidden, "pin", "wrong PIN");
    }
    failures_ = 0;
    locked_ = false;
    if (auto st = save("show unlocked", origin); !st) {
        locked_ = true;
        return st;
    }
    return {};
}

}  // namespace cuebox::web
