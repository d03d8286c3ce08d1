// OSC 1.0 on the wire (liblo encodes and decodes the messages; bundles are
// unpacked here) and the cuebox OSC address space (docs/OSC.md): a packet
// becomes plain ControlRequests, with no sockets and no show in sight, so
// the parsers are unit-tested and fuzzed (test/fuzz) on their own.
#pragma once

#include "base/Error.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace cuebox::web {

struct OscArg {
    char type = 'i';  // 'i' integer (i, h, T/F as 1/0), 'f' number (f, d), 's' text (s, S, c), 'b' blob, 'N' none (N, I)
    std::int64_t i = 0;
    double f = 0;
    std::string s;  // text or blob bytes

    static OscArg integer(std::int64_t v) { return OscArg{'i', v, static_cast<double>(v), {}}; }
    // `i` holds the value truncated when it fits in 64 bits, else 0 (found by test/fuzz: a float of 1.5e23).
    static OscArg number(double v) {
        return OscArg{'f', v > -9.2e18 && v < 9.2e18 ? static_cast<std::int64_t>(v) : 0, v, {}};
    }
    static OscArg text(std::string v) { return OscArg{'s', 0, 0, std::move(v)}; }
    bool numeric() const { return type == 'i' || type == 'f'; }
};

struct OscMessage {
    std::string address;
    std::vector<OscArg> args;
};

// Limits of one packet: what a show controller sends is far smaller.
inline constexpr std::size_t kOscMaxPacket = 65536;  // one UDP datagram or TCP frame
inline constexpr int kOscMaxBundleDepth = 4;
inline constexpr std::size_t kOscMaxMessages = 64;  // per packet, bundles included

// A message or a bundle (its messages in order; time tags are not used:
// every message acts on arrival). Errors name what is wrong ("packet").
Result<std::vector<OscMessage>> parseOscPacket(std::span<const std::uint8_t> data);
// One message in OSC 1.0 binary form ('i' as int32 when it fits, 'f' as
// float32, 's', 'b').
std::string encodeOsc(const std::string& address, const std::vector<OscArg>& args);

// What a control message asks for; the OSC address space, MIDI mappings and
// MSC all resolve to this.
struct ControlRequest {
    enum class Kind {
        clip,       // op on a clip by id (clip)
        cell,       // op on the clip in a cell (page, tab, row, col; 0-based here, 1-based on the wire)
        group,      // op "stop" or "level" on group
        master,     // op "level"
        panic,      // fade_ms optional
        stopAudition,
        page,       // select page (value)
        tab,        // select tab (value) on the current page, or on `page` when >= 0
        go,         // QLab /go: start the clip at the playhead and advance it
        select,     // QLab /select/{n}, /playhead/{n}: the playhead goes to clip n
        query,      // what: show, stats, cells (page, tab), groups, state, ping
        subscribe,  // value 1 on, 0 off
        replies,    // value 1: UDP replies on, 0 off
        connect,    // passcode
    };
    Kind kind = Kind::panic;
    std::string op;     // start, stop, toggle, press, release, pause, resume, audition, level
    std::uint64_t clip = 0;
    int page = -1, tab = -1, row = -1, col = -1;
    char group = 0;     // 'A'..'D'
    double levelDb = 0;
    int fadeMs = -1;    // -1: the clip's or the show's own fade
    std::optional<double> gainDb;  // start: a gain for this start only (MIDI velocity mapped to level)
    int value = 0;
    std::string what;   // query name
    std::string passcode;
    bool qlab = false;  // a QLab-style address: replies go to /reply/... as QLab's do
};

// Maps one OSC message onto a ControlRequest (docs/OSC.md). Errors name the
// part at fault: "address" (unknown or malformed), "args" (wrong count or
// type), or the argument ("level_db", "fade_ms", "page"...).
Result<ControlRequest> parseOscCommand(const OscMessage& m);

}  // namespace cuebox::web
