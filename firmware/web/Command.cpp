#include "web/Command.h"

#include "model/Audio.h"
#include "model/Show.h"

#include <algorithm>
#include <array>

namespace cuebox::web {
namespace json = boost::json;

namespace {
Error bad(std::string field, std::string reason) { return makeError(Errc::bad_request, std::move(field), std::move(reason)); }
constexpr std::array<std::string_view, 8> kClipOps = {"start", "stop", "toggle", "press", "release", "pause", "resume", "audition"};
}  // namespace

bool isClipOp(std::string_view op) { return std::find(kClipOps.begin(), kClipOps.end(), op) != kClipOps.end(); }

Result<EngineRequest> parseWsCommand(const json::value& msg) {
    if (!msg.is_object()) return bad("body", "a command must be a JSON object");
    const json::object& m = msg.as_object();
    const json::value* cmd = m.if_contains("cmd");
    if (!cmd || !cmd->is_string()) return bad("cmd", "missing command name");
    EngineRequest r;
    r.op = std::string(cmd->as_string());
    model::ClipId id = 0;
    for (const auto& [k, v] : m) {
        if (k == "cmd" || k == "req") continue;
        if (k == "clip") {
            if (!(v.is_uint64() || (v.is_int64() && v.as_int64() > 0))) return bad("clip", "must be a clip id");
            id = v.to_number<model::ClipId>();
        } else {
            r.args[k] = v;
        }
    }
    if (isClipOp(r.op)) {
        if (id == 0) return bad("clip", "missing clip id");
        r.target = id;
    } else if (r.op == "stop_group") {
        const json::value* g = r.args.if_contains("group");
        const int bus = g && g->is_string() ? model::parseBus(std::string(g->as_string())) : -1;
        if (bus < 0 || bus == model::kAuditionBusIndex) return bad("group", "must be one of A, B, C, D");
        r.target = *g;
        r.args.erase("group");
    } else if (r.op != "panic" && r.op != "stop_audition") {
        return bad("cmd", "unknown command '" + r.op.substr(0, 64) + "'");
    }
    return r;
}

Result<json::object> engineArgs(const std::string& op, const json::object& args) {
    json::object cmd;
    for (const auto& [k, v] : args) {
        if (op == "start" && k == "at_frame") {
            if (!v.is_uint64() && !(v.is_int64() && v.as_int64() >= 0))
                return bad("at_frame", "must be a frame time (a whole number >= 0)");
            cmd["at_frame"] = v;
        } else if (op == "start" && k == "gain_db") {
            // On top of the clip's level for this start only (a MIDI velocity mapped to level).
            if (!v.is_number() || !(v.to_number<double>() >= -90) || !(v.to_number<double>() <= 0))
                return bad("gain_db", "must be from -90 to 0 dB");
            cmd["gain_db"] = v;
        } else if (op == "record_start" && k == "level_db") {
            if (!v.is_number() || !(v.to_number<double>() >= model::kLevelMinDb) || !(v.to_number<double>() <= model::kLevelMaxDb))
                return bad("level_db", "must be from -90 to +12 dB");
            cmd["level_db"] = v;
        } else if ((op == "stop" || op == "panic" || op == "toggle" || op == "stop_group") && k == "fade_ms") {
            if (!v.is_number() || !(v.to_number<double>() >= 0) || !(v.to_number<double>() <= 3000))
                return bad("fade_ms", "must be from 0 to 3000 ms");
            cmd["fade_ms"] = v;
        } else {
            return bad(std::string(k).substr(0, 64), "is not an argument of " + op);
        }
    }
    return cmd;
}

}  // namespace cuebox::web
