#include "web/Osc.h"

#include <lo/lo.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>

namespace cuebox::web {

namespace {

Error bad(std::string field, std::string reason) { return makeError(Errc::bad_request, std::move(field), std::move(reason)); }

std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

Status parseMessage(std::span<const std::uint8_t> d, std::vector<OscMessage>& out) {
    if (d.size() < 4 || d.size() % 4 != 0) return bad("packet", "an OSC message is a non-empty multiple of 4 bytes");
    if (d[0] != '/') return bad("address", "an OSC address starts with '/'");
    const void* nul = std::memchr(d.data(), 0, d.size());
    if (!nul) return bad("address", "the address is not terminated");
    std::string address(reinterpret_cast<const char*>(d.data()), static_cast<const std::uint8_t*>(nul) - d.data());
    for (unsigned char c : address)
        if (c < 0x21 || c > 0x7e) return bad("address", "the address holds a character that is not printable ASCII");
    // liblo checks the padding, the type tags and every argument's size; it
    // byte-swaps in place, so it gets a copy.
    std::vector<std::uint8_t> copy(d.begin(), d.end());
    int result = 0;
    std::unique_ptr<std::remove_pointer_t<lo_message>, decltype(&lo_message_free)> m(
        lo_message_deserialise(copy.data(), copy.size(), &result), &lo_message_free);
    if (!m) return bad("packet", "not a valid OSC message (liblo error " + std::to_string(result) + ")");
    OscMessage msg;
    msg.address = std::move(address);
    const char* types = lo_message_get_types(m.get());
    lo_arg** argv = lo_message_get_argv(m.get());
    const int argc = lo_message_get_argc(m.get());
    for (int i = 0; i < argc; ++i) {
        // liblo's argument pointers point into the packed message, 4-byte
        // aligned at best: read the values by copying, never through the
        // 8-byte-aligned lo_arg union (found by test/fuzz under UBSan).
        const char* a = reinterpret_cast<const char*>(argv[i]);
        auto as = [a](auto v) {
            std::memcpy(&v, a, sizeof v);
            return v;
        };
        switch (types[i]) {
        case LO_INT32: msg.args.push_back(OscArg::integer(as(std::int32_t{}))); break;
        case LO_INT64: msg.args.push_back(OscArg::integer(as(std::int64_t{}))); break;
        case LO_TRUE: msg.args.push_back(OscArg::integer(1)); break;
        case LO_FALSE: msg.args.push_back(OscArg::integer(0)); break;
        case LO_FLOAT: msg.args.push_back(OscArg::number(as(float{}))); break;
        case LO_DOUBLE: msg.args.push_back(OscArg::number(as(double{}))); break;
        case LO_STRING:
        case LO_SYMBOL: msg.args.push_back(OscArg::text(a)); break;
        case LO_CHAR: msg.args.push_back(OscArg::text(std::string(1, static_cast<char>(as(std::int32_t{}) & 0xff)))); break;
        case LO_BLOB: {
            OscArg b;
            b.type = 'b';
            lo_blob blob = reinterpret_cast<lo_blob>(argv[i]);
            b.s.assign(static_cast<const char*>(lo_blob_dataptr(blob)), lo_blob_datasize(blob));
            msg.args.push_back(std::move(b));
            break;
        }
        default: {  // N, I, t, m: no value a command could use
            OscArg n;
            n.type = 'N';
            msg.args.push_back(std::move(n));
        }
        }
    }
    if (out.size() >= kOscMaxMessages) return bad("packet", "more than 64 messages in one packet");
    out.push_back(std::move(msg));
    return {};
}

Status parseElement(std::span<const std::uint8_t> d, int depth, std::vector<OscMessage>& out) {
    static constexpr char kBundle[8] = {'#', 'b', 'u', 'n', 'd', 'l', 'e', '\0'};
    if (d.size() >= 8 && std::memcmp(d.data(), kBundle, 8) == 0) {
        if (depth >= kOscMaxBundleDepth) return bad("packet", "bundles nested deeper than 4");
        if (d.size() < 16) return bad("packet", "a bundle without its time tag");
        std::size_t off = 16;  // '#bundle\0' and the time tag
        while (off < d.size()) {
            if (d.size() - off < 4) return bad("packet", "a bundle element without its size");
            const std::uint32_t n = be32(d.data() + off);
            off += 4;
            if (n == 0 || n % 4 != 0 || n > d.size() - off) return bad("packet", "a bundle element's size is wrong");
            if (auto s = parseElement(d.subspan(off, n), depth + 1, out); !s) return s;
            off += n;
        }
        return {};
    }
    return parseMessage(d, out);
}

// "/a/b/c" -> {"a","b","c"}; empty segments are kept (and refused later).
std::vector<std::string_view> split(std::string_view a) {
    std::vector<std::string_view> out;
    std::size_t i = 1;
    while (i <= a.size()) {
        std::size_t j = a.find('/', i);
        if (j == std::string_view::npos) j = a.size();
        out.push_back(a.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

bool wholeIn(std::string_view s, long long lo, long long hi, long long& v) {
    if (s.empty() || s.size() > 18) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size() && v >= lo && v <= hi;
}

// A numeric argument as a whole number (floats must be whole: Companion and
// TouchOSC send floats for everything).
Result<long long> wholeArg(const OscArg& a, const char* name, long long lo, long long hi) {
    long long v = 0;
    if (a.type == 'i') v = a.i;
    else if (a.type == 'f' && std::isfinite(a.f) && std::floor(a.f) == a.f && std::fabs(a.f) < 1e15) v = static_cast<long long>(a.f);
    else if (a.type == 's' && wholeIn(a.s, lo, hi, v)) return v;
    else return bad(name, "must be a whole number");
    if (v < lo || v > hi) return bad(name, "must be " + std::to_string(lo) + " to " + std::to_string(hi));
    return v;
}

Result<double> numberArg(const OscArg& a, const char* name) {
    double v = 0;
    if (a.type == 'i') v = static_cast<double>(a.i);
    else if (a.type == 'f') v = a.f;
    else if (a.type == 's') {
        auto [p, ec] = std::from_chars(a.s.data(), a.s.data() + a.s.size(), v);
        if (ec != std::errc() || p != a.s.data() + a.s.size()) return bad(name, "must be a number");
    } else {
        return bad(name, "must be a number");
    }
    if (!std::isfinite(v)) return bad(name, "must be a finite number");
    return v;
}

Status noArgs(const OscMessage& m) {
    if (!m.args.empty()) return bad("args", m.address + " takes no arguments");
    return {};
}

// An optional fade in ms as the only argument (stop, toggle, panic).
Status optionalFade(const OscMessage& m, ControlRequest& r) {
    if (m.args.empty()) return {};
    if (m.args.size() > 1) return bad("args", m.address + " takes at most a fade time in ms");
    auto f = wholeArg(m.args[0], "fade_ms", 0, 60000);
    if (!f) return f.error();
    r.fadeMs = static_cast<int>(*f);
    return {};
}

Result<double> levelArg(const OscMessage& m) {
    if (m.args.size() != 1) return bad("args", m.address + " takes one level in dB");
    return numberArg(m.args[0], "level_db");
}

bool clipOp(std::string_view op) {
    return op == "start" || op == "stop" || op == "toggle" || op == "press" || op == "release" || op == "pause" ||
           op == "resume" || op == "audition";
}

Status clipOpArgs(const OscMessage& m, ControlRequest& r) {
    if (r.op == "stop" || r.op == "toggle") return optionalFade(m, r);
    return noArgs(m);
}

Result<ControlRequest> qlab(const OscMessage& m, std::vector<std::string_view> seg) {
    ControlRequest r;
    r.qlab = true;
    if (seg.size() >= 2 && seg[0] == "workspace") seg.erase(seg.begin(), seg.begin() + 2);  // /workspace/{id}/...
    if (seg.size() == 1 && (seg[0] == "go" || seg[0] == "panic" || seg[0] == "stop")) {
        if (seg[0] == "go") {
            r.kind = ControlRequest::Kind::go;
            if (auto s = noArgs(m); !s) return s.error();
            return r;
        }
        r.kind = ControlRequest::Kind::panic;
        if (auto s = optionalFade(m, r); !s) return s.error();
        return r;
    }
    if (seg.size() == 1 && seg[0] == "connect") {
        r.kind = ControlRequest::Kind::connect;
        if (m.args.size() > 1 || (m.args.size() == 1 && m.args[0].type != 's' && m.args[0].type != 'i'))
            return bad("passcode", "/connect takes the passcode");
        if (!m.args.empty()) r.passcode = m.args[0].type == 's' ? m.args[0].s : std::to_string(m.args[0].i);
        return r;
    }
    long long n = 0;
    if (seg.size() == 2 && (seg[0] == "select" || seg[0] == "playhead")) {
        if (!wholeIn(seg[1], 1, 1LL << 53, n)) return bad("address", "a cue number is a clip id (1 or more)");
        r.kind = ControlRequest::Kind::select;
        r.clip = static_cast<std::uint64_t>(n);
        if (auto s = noArgs(m); !s) return s.error();
        return r;
    }
    if (seg.size() == 3 && seg[0] == "cue") {
        if (!wholeIn(seg[1], 1, 1LL << 53, n)) return bad("address", "a cue number is a clip id (1 or more)");
        r.kind = ControlRequest::Kind::clip;
        r.clip = static_cast<std::uint64_t>(n);
        const std::string_view op = seg[2];
        if (op == "start" || op == "go") r.op = "start";
        else if (op == "stop" || op == "panic") r.op = "stop";
        else if (op == "pause" || op == "resume" || op == "toggle") r.op = std::string(op);
        else if (op == "level" || op == "sliderLevel") r.op = "level";
        else return bad("address", "cue action '" + std::string(op) + "' is not supported (start, go, stop, panic, pause, resume, toggle, level)");
        if (r.op == "level") {
            // QLab's sliderLevel takes the row first: /cue/{n}/sliderLevel/0 is one path deeper; the bare form takes the dB.
            auto l = levelArg(m);
            if (!l) return l.error();
            r.levelDb = *l;
            return r;
        }
        if (auto s = clipOpArgs(m, r); !s) return s.error();
        return r;
    }
    return bad("address", "no OSC command at " + m.address);
}

}  // namespace

Result<std::vector<OscMessage>> parseOscPacket(std::span<const std::uint8_t> data) {
    if (data.empty()) return bad("packet", "empty packet");
    if (data.size() > kOscMaxPacket) return bad("packet", "packet larger than 64 KiB");
    std::vector<OscMessage> out;
    if (auto s = parseElement(data, 0, out); !s) return s.error();
    return out;
}

std::string encodeOsc(const std::string& address, const std::vector<OscArg>& args) {
    std::unique_ptr<std::remove_pointer_t<lo_message>, decltype(&lo_message_free)> m(lo_message_new(), &lo_message_free);
    for (const auto& a : args) {
        switch (a.type) {
        case 'i':
            if (a.i >= INT32_MIN && a.i <= INT32_MAX) lo_message_add_int32(m.get(), static_cast<std::int32_t>(a.i));
            else lo_message_add_int64(m.get(), a.i);
            break;
        case 'f': lo_message_add_float(m.get(), static_cast<float>(a.f)); break;
        case 'b': {
            // liblo cannot make an empty blob (lo_blob_new gives NULL: found by test/fuzz).
            lo_blob b = a.s.empty() ? nullptr : lo_blob_new(static_cast<std::int32_t>(a.s.size()), a.s.data());
            if (!b) {
                lo_message_add_nil(m.get());
                break;
            }
            lo_message_add_blob(m.get(), b);
            lo_blob_free(b);
            break;
        }
        case 'N': lo_message_add_nil(m.get()); break;
        default: lo_message_add_string(m.get(), a.s.c_str());
        }
    }
    std::size_t size = lo_message_length(m.get(), address.c_str());
    std::string out(size, '\0');
    lo_message_serialise(m.get(), address.c_str(), out.data(), &size);
    out.resize(size);
    return out;
}

Result<ControlRequest> parseOscCommand(const OscMessage& m) {
    if (m.address.empty() || m.address[0] != '/') return bad("address", "an OSC address starts with '/'");
    auto seg = split(m.address);
    for (auto s : seg)
        if (s.empty()) return bad("address", "empty part in " + m.address);
    if (seg[0] != "cuebox") return qlab(m, seg);
    seg.erase(seg.begin());
    ControlRequest r;
    if (seg.empty()) return bad("address", "no OSC command at " + m.address);
    const std::string_view head = seg[0];
    long long n = 0;
    if (head == "clip" && seg.size() == 3) {
        if (!wholeIn(seg[1], 1, 1LL << 53, n)) return bad("clip", "a clip id is a whole number from 1");
        r.kind = ControlRequest::Kind::clip;
        r.clip = static_cast<std::uint64_t>(n);
        r.op = std::string(seg[2]);
        if (r.op == "level") {
            auto l = levelArg(m);
            if (!l) return l.error();
            r.levelDb = *l;
            return r;
        }
        if (!clipOp(r.op)) return bad("address", "clip action '" + r.op + "' is not one of start, stop, toggle, press, release, pause, resume, audition, level");
        if (auto s = clipOpArgs(m, r); !s) return s.error();
        return r;
    }
    if (head == "cell" && seg.size() == 6) {
        long long p = 0, t = 0, row = 0, col = 0;
        if (!wholeIn(seg[1], 1, 256, p)) return bad("page", "a page is 1 to 256");
        if (!wholeIn(seg[2], 1, 8, t)) return bad("tab", "a tab is 1 to 8");
        if (!wholeIn(seg[3], 1, 16, row)) return bad("row", "a row is 1 to 16");
        if (!wholeIn(seg[4], 1, 16, col)) return bad("col", "a column is 1 to 16");
        r.kind = ControlRequest::Kind::cell;
        r.page = static_cast<int>(p - 1);
        r.tab = static_cast<int>(t - 1);
        r.row = static_cast<int>(row - 1);
        r.col = static_cast<int>(col - 1);
        r.op = std::string(seg[5]);
        if (!clipOp(r.op)) return bad("address", "cell action '" + r.op + "' is not one of start, stop, toggle, press, release, pause, resume, audition");
        if (auto s = clipOpArgs(m, r); !s) return s.error();
        return r;
    }
    if (head == "group" && seg.size() == 3) {
        if (seg[1].size() != 1 || seg[1][0] < 'A' || seg[1][0] > 'D') return bad("group", "a group is A, B, C or D");
        r.kind = ControlRequest::Kind::group;
        r.group = seg[1][0];
        r.op = std::string(seg[2]);
        if (r.op == "stop") {
            if (auto s = optionalFade(m, r); !s) return s.error();
            return r;
        }
        if (r.op == "level") {
            auto l = levelArg(m);
            if (!l) return l.error();
            r.levelDb = *l;
            return r;
        }
        return bad("address", "group action '" + r.op + "' is not one of stop, level");
    }
    if (head == "master" && seg.size() == 2 && seg[1] == "level") {
        r.kind = ControlRequest::Kind::master;
        r.op = "level";
        auto l = levelArg(m);
        if (!l) return l.error();
        r.levelDb = *l;
        return r;
    }
    if (head == "panic" && seg.size() == 1) {
        r.kind = ControlRequest::Kind::panic;
        if (auto s = optionalFade(m, r); !s) return s.error();
        return r;
    }
    if (head == "audition" && seg.size() == 2 && seg[1] == "stop") {
        r.kind = ControlRequest::Kind::stopAudition;
        if (auto s = noArgs(m); !s) return s.error();
        return r;
    }
    if (head == "page" && (seg.size() == 1 || (seg.size() == 3 && seg[2] == "tab"))) {
        if (m.args.size() != 1) return bad("args", m.address + " takes one number");
        if (seg.size() == 1) {
            auto v = wholeArg(m.args[0], "page", 1, 256);
            if (!v) return v.error();
            r.kind = ControlRequest::Kind::page;
            r.value = static_cast<int>(*v - 1);
            return r;
        }
        long long p = 0;
        if (!wholeIn(seg[1], 1, 256, p)) return bad("page", "a page is 1 to 256");
        auto v = wholeArg(m.args[0], "tab", 1, 8);
        if (!v) return v.error();
        r.kind = ControlRequest::Kind::tab;
        r.page = static_cast<int>(p - 1);
        r.value = static_cast<int>(*v - 1);
        return r;
    }
    if (head == "tab" && seg.size() == 1) {
        if (m.args.size() != 1) return bad("args", m.address + " takes one number");
        auto v = wholeArg(m.args[0], "tab", 1, 8);
        if (!v) return v.error();
        r.kind = ControlRequest::Kind::tab;
        r.value = static_cast<int>(*v - 1);
        return r;
    }
    if (head == "ping" && seg.size() == 1) {
        r.kind = ControlRequest::Kind::query;
        r.what = "ping";
        return r;
    }
    if (head == "query" && seg.size() >= 2) {
        r.kind = ControlRequest::Kind::query;
        r.what = std::string(seg[1]);
        if (r.what == "cells") {
            long long p = 0, t = 0;
            if (seg.size() == 4) {
                if (!wholeIn(seg[2], 1, 256, p)) return bad("page", "a page is 1 to 256");
                if (!wholeIn(seg[3], 1, 8, t)) return bad("tab", "a tab is 1 to 8");
                if (auto s = noArgs(m); !s) return s.error();
            } else if (seg.size() == 2 && m.args.size() == 2) {
                auto pa = wholeArg(m.args[0], "page", 1, 256);
                if (!pa) return pa.error();
                auto ta = wholeArg(m.args[1], "tab", 1, 8);
                if (!ta) return ta.error();
                p = *pa;
                t = *ta;
            } else {
                return bad("args", "/cuebox/query/cells takes a page and a tab (in the address or as two numbers)");
            }
            r.page = static_cast<int>(p - 1);
            r.tab = static_cast<int>(t - 1);
            return r;
        }
        if (seg.size() != 2 || (r.what != "show" && r.what != "stats" && r.what != "groups" && r.what != "state"))
            return bad("address", "query '" + r.what + "' is not one of show, stats, cells, groups, state");
        if (auto s = noArgs(m); !s) return s.error();
        return r;
    }
    if ((head == "subscribe" || head == "replies") && seg.size() == 1) {
        r.kind = head == "subscribe" ? ControlRequest::Kind::subscribe : ControlRequest::Kind::replies;
        r.value = 1;
        if (m.args.size() > 1) return bad("args", m.address + " takes 1 (on) or 0 (off)");
        if (m.args.size() == 1) {
            auto v = wholeArg(m.args[0], "value", 0, 1);
            if (!v) return v.error();
            r.value = static_cast<int>(*v);
        }
        return r;
    }
    if (head == "connect" && seg.size() == 1) {
        r.kind = ControlRequest::Kind::connect;
        if (m.args.size() != 1 || (m.args[0].type != 's' && m.args[0].type != 'i'))
            return bad("passcode", "/cuebox/connect takes the passcode");
        r.passcode = m.args[0].type == 's' ? m.args[0].s : std::to_string(m.args[0].i);
        return r;
    }
    return bad("address", "no OSC command at " + m.address);
}

}  // namespace cuebox::web
