#include "model/ClipPatch.h"

#include <boost/json.hpp>

#include <cmath>

namespace cuebox::model {
namespace json = boost::json;

void ClipPatch::applyTo(Clip& c) const {
    if (label) c.label = *label;
    if (color) c.color = *color;
    if (levelDb) c.levelDb = *levelDb;
    if (fadeInMs) c.fadeInMs = *fadeInMs;
    if (fadeOutMs) c.fadeOutMs = *fadeOutMs;
    if (loop) c.loop = *loop;
}

namespace {
Error bad(const std::string& field, const std::string& reason) { return makeError(Errc::bad_request, field, reason); }

Result<int> fadeMs(const json::value& v, const char* field) {
    if (!v.is_number()) return bad(field, "must be a number of milliseconds");
    double d = v.to_number<double>();
    if (!std::isfinite(d) || d < 0 || d > kFadeMaxMs || d != std::floor(d))
        return bad(field, "must be a whole number of milliseconds from 0 to 3000");
    return static_cast<int>(d);
}
}  // namespace

Result<ClipPatch> parseClipPatch(const json::value& body) {
    if (!body.is_object()) return bad("body", "must be a JSON object");
    ClipPatch p;
    for (const auto& [key, v] : body.as_object()) {
        if (key == "label") {
            if (!v.is_string()) return bad("label", "must be a string");
            std::string s(v.as_string());
            if (s.size() > 64) return bad("label", "must be at most 64 bytes");
            for (unsigned char ch : s)
                if (ch < 0x20 || ch == 0x7f) return bad("label", "must not contain control characters");
            p.label = std::move(s);
        } else if (key == "color") {
            if (!v.is_string() || !validColor(std::string(v.as_string())))
                return bad("color", "must be a colour written #rrggbb");
            p.color = std::string(v.as_string());
        } else if (key == "level_db") {
            if (!v.is_number()) return bad("level_db", "must be a number of dB");
            double d = v.to_number<double>();
            if (!std::isfinite(d) || d < kLevelMinDb || d > kLevelMaxDb)
                return bad("level_db", "must be from -90 to +12 dB");
            p.levelDb = d;
        } else if (key == "fade_in_ms") {
            auto r = fadeMs(v, "fade_in_ms");
            if (!r) return r.error();
            p.fadeInMs = *r;
        } else if (key == "fade_out_ms") {
            auto r = fadeMs(v, "fade_out_ms");
            if (!r) return r.error();
            p.fadeOutMs = *r;
        } else if (key == "loop") {
            if (!v.is_bool()) return bad("loop", "must be true or false");
            p.loop = v.as_bool();
        } else {
            return bad(std::string(key), "is not an editable clip member");
        }
    }
    if (p.empty()) return bad("body", "names no clip member to change");
    return p;
}

}  // namespace cuebox::model
