#include "web/ControlAccess.h"

#include "base/Sha256.h"

#include <boost/json.hpp>

#include <random>

namespace cuebox::web {
namespace json = boost::json;
namespace ip = boost::asio::ip;

namespace {
Error bad(const std::string& member, std::string reason) {
    return makeError(Errc::bad_request, "osc." + member, std::move(reason));
}

std::string randomHex(int bytes) {
    std::random_device rd;
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < bytes; ++i) {
        const unsigned v = rd() & 0xffu;
        s += hex[v >> 4];
        s += hex[v & 15];
    }
    return s;
}
}  // namespace

Result<Cidr> parseCidr(const std::string& s) {
    Cidr c;
    c.text = s;
    const auto slash = s.find('/');
    boost::system::error_code ec;
    c.net = ip::make_address(s.substr(0, slash), ec);
    if (ec) return makeError(Errc::bad_request, "allow", "'" + s + "' is not an address or network (a.b.c.d/n)");
    const int max = c.net.is_v4() ? 32 : 128;
    c.bits = max;
    if (slash != std::string::npos) {
        const std::string b = s.substr(slash + 1);
        if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos || std::stoi(b) > max)
            return makeError(Errc::bad_request, "allow", "'" + s + "': the prefix length is 0 to " + std::to_string(max));
        c.bits = std::stoi(b);
    }
    return c;
}

bool Cidr::contains(const ip::address& a0) const {
    ip::address a = a0;
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
    if (a.is_v4() != net.is_v4()) return false;
    auto cmp = [this](const auto& x, const auto& y) {
        int left = bits;
        for (std::size_t i = 0; i < x.size() && left > 0; ++i, left -= 8) {
            const unsigned mask = left >= 8 ? 0xffu : (0xffu << (8 - left)) & 0xffu;
            if ((x[i] & mask) != (y[i] & mask)) return false;
        }
        return true;
    };
    return net.is_v4() ? cmp(a.to_v4().to_bytes(), net.to_v4().to_bytes()) : cmp(a.to_v6().to_bytes(), net.to_v6().to_bytes());
}

Status ControlAccess::load() {
    auto rec = store_.boxRecord("control");
    if (!rec) return rec.error();
    if (rec->empty()) return {};
    boost::system::error_code ec;
    json::value v = json::parse(*rec, ec);
    if (ec || !v.is_object()) return makeError(Errc::corrupt, "control", "the control record is not JSON");
    if (const json::value* midi = v.as_object().if_contains("midi"); midi && midi->is_object())
        if (const json::value* a = midi->as_object().if_contains("allow"); a && a->is_array())
            for (const auto& x : a->as_array())
                if (x.is_string()) midiAllow_.emplace_back(x.as_string());
    const json::object* osc = v.as_object().if_contains("osc") ? v.as_object().at("osc").if_object() : nullptr;
    if (!osc) return {};
    if (auto* e = osc->if_contains("enabled"); e && e->is_bool()) oscEnabled_ = e->as_bool();
    if (auto* p = osc->if_contains("port"); p && p->is_int64()) oscPort_ = static_cast<int>(p->as_int64());
    allow_.clear();
    if (auto* a = osc->if_contains("allow"); a && a->is_array())
        for (const auto& x : a->as_array())
            if (x.is_string())
                if (auto c = parseCidr(std::string(x.as_string()))) allow_.push_back(*c);
    auto text = [osc](const char* k) {
        auto* x = osc->if_contains(k);
        return x && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    passSalt_ = text("salt");
    passHash_ = text("hash");
    return {};
}

json::object ControlAccess::toJson() const {
    json::array allow;
    for (const auto& c : allow_) allow.emplace_back(c.text);
    json::array midi;
    for (const auto& m : midiAllow_) midi.emplace_back(m);
    return {{"osc", {{"enabled", oscEnabled_}, {"port", oscPort_}, {"allow", std::move(allow)}, {"passcode_set", passcodeRequired()}}},
            {"midi", {{"allow", std::move(midi)}}}};
}

json::object ControlAccess::record() const {
    json::object o = toJson();
    json::object& osc = o["osc"].as_object();
    osc.erase("passcode_set");
    if (!passHash_.empty()) {
        osc["salt"] = passSalt_;
        osc["hash"] = passHash_;
    }
    return o;
}

Status ControlAccess::patchOsc(const json::value& body, const store::Origin& origin) {
    if (!body.is_object()) return makeError(Errc::bad_request, "body", "must be a JSON object");
    ControlAccess next = *this;
    std::string what;
    // (the MIDI allow-list rides along unchanged in the record)
    for (const auto& [k, v] : body.as_object()) {
        if (k == "enabled") {
            if (!v.is_bool()) return bad("enabled", "must be true or false");
            next.oscEnabled_ = v.as_bool();
            what += std::string(what.empty() ? "" : ", ") + (v.as_bool() ? "OSC on" : "OSC off");
        } else if (k == "port") {
            if (!v.is_int64() || v.as_int64() < 1024 || v.as_int64() > 65535) return bad("port", "must be 1024 to 65535");
            next.oscPort_ = static_cast<int>(v.as_int64());
            what += std::string(what.empty() ? "" : ", ") + "OSC port " + std::to_string(next.oscPort_);
        } else if (k == "allow") {
            if (!v.is_array() || v.as_array().size() > 32) return bad("allow", "must be a list of up to 32 addresses or networks");
            next.allow_.clear();
            for (const auto& x : v.as_array()) {
                if (!x.is_string()) return bad("allow", "each entry is an address or network as text");
                auto c = parseCidr(std::string(x.as_string()));
                if (!c) return bad("allow", c.error().reason);
                next.allow_.push_back(*c);
            }
            what += std::string(what.empty() ? "" : ", ") + "OSC allow-list of " + std::to_string(next.allow_.size());
        } else if (k == "passcode") {
            if (v.is_null()) {
                next.passSalt_.clear();
                next.passHash_.clear();
                what += std::string(what.empty() ? "" : ", ") + "OSC passcode removed";
                continue;
            }
            if (!v.is_string() || v.as_string().size() < 4 || v.as_string().size() > 32)
                return bad("passcode", "must be 4 to 32 characters, or null to remove it");
            for (unsigned char c : v.as_string())
                if (c < 0x21 || c > 0x7e) return bad("passcode", "must be printable ASCII without spaces");
            next.passSalt_ = randomHex(16);
            next.passHash_ = sha256Hex(next.passSalt_ + std::string(v.as_string()));
            what += std::string(what.empty() ? "" : ", ") + "OSC passcode set";
        } else {
            return bad(std::string(k), "is not an OSC setting (enabled, port, allow, passcode)");
        }
    }
    if (what.empty()) return {};
    if (auto s = store_.putBoxRecord("control", json::serialize(next.record()), "system", "control: " + what, origin); !s)
        return s;
    oscEnabled_ = next.oscEnabled_;
    oscPort_ = next.oscPort_;
    allow_ = std::move(next.allow_);
    passSalt_ = std::move(next.passSalt_);
    passHash_ = std::move(next.passHash_);
    return {};
}

Status ControlAccess::patchMidi(const json::value& body, const store::Origin& origin) {
    if (!body.is_object()) return makeError(Errc::bad_request, "body", "must be a JSON object");
    std::vector<std::string> next = midiAllow_;
    bool changed = false;
    for (const auto& [k, v] : body.as_object()) {
        if (k != "allow")
            return makeError(Errc::bad_request, "midi." + std::string(k).substr(0, 64), "is not a MIDI setting (allow)");
        if (!v.is_array() || v.as_array().size() > 32)
            return makeError(Errc::bad_request, "midi.allow", "must be a list of up to 32 JACK port name patterns");
        next.clear();
        for (const auto& x : v.as_array()) {
            if (!x.is_string() || x.as_string().empty() || x.as_string().size() > 256)
                return makeError(Errc::bad_request, "midi.allow", "each entry is a JACK port name pattern of 1 to 256 characters");
            for (unsigned char c : x.as_string())
                if (c < 0x20 || c == 0x7f) return makeError(Errc::bad_request, "midi.allow", "a pattern holds a control character");
            next.emplace_back(x.as_string());
        }
        changed = true;
    }
    if (!changed) return {};
    const auto old = std::move(midiAllow_);
    midiAllow_ = std::move(next);
    if (auto s = store_.putBoxRecord("control", json::serialize(record()), "system",
                                     "control: MIDI allow-list of " + std::to_string(midiAllow_.size()), origin);
        !s) {
        midiAllow_ = old;
        return s;
    }
    return {};
}

Status ControlAccess::restore(const ControlAccess& old, const store::Origin& origin) {
    oscEnabled_ = old.oscEnabled_;
    oscPort_ = old.oscPort_;
    allow_ = old.allow_;
    midiAllow_ = old.midiAllow_;
    passSalt_ = old.passSalt_;
    passHash_ = old.passHash_;
    return store_.putBoxRecord("control", json::serialize(record()), "system", "control: settings put back", origin);
}

bool ControlAccess::allowed(const ip::address& a) const {
    if (allow_.empty()) return true;
    for (const auto& c : allow_)
        if (c.contains(a)) return true;
    return false;
}

bool ControlAccess::passcodeOk(const std::string& passcode) const {
    if (passHash_.empty()) return true;
    const std::string h = sha256Hex(passSalt_ + passcode);
    if (h.size() != passHash_.size()) return false;
    unsigned diff = 0;
    for (std::size_t i = 0; i < h.size(); ++i) diff |= static_cast<unsigned>(h[i] ^ passHash_[i]);
    return diff == 0;
}

}  // namespace cuebox::web
