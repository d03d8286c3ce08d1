// The command set shared by the WebSocket and REST (docs/PROTOCOL.md) as
// plain parsers: a client's JSON becomes a checked engine request, with no
// show, socket or engine in sight, so test/fuzz drives them on their own.
// What needs the show (does the clip exist, the panic fade default) stays
// in Api.
#pragma once

#include "base/Error.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace cuebox::web {

// Commands that act on one clip.
bool isClipOp(std::string_view op);

struct EngineRequest {
    std::string op;            // start, stop, ..., stop_group, stop_audition, panic
    boost::json::value target;  // the clip id, the group letter, or null
    boost::json::object args;   // the rest of the message (checked by engineArgs)
};

// {"cmd": ..., "clip": ..., "group": ..., "req": ...}: errors name "body",
// "cmd", "clip" or "group".
Result<EngineRequest> parseWsCommand(const boost::json::value& msg);

// Checks a command's arguments (at_frame and gain_db for start, level_db for
// record_start, fade_ms 0-3000 for stop, toggle, panic and stop_group) and
// returns them as the engine command's members; an unknown argument is an
// error naming it.
Result<boost::json::object> engineArgs(const std::string& op, const boost::json::object& args);

}  // namespace cuebox::web
