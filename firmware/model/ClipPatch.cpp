#include "model/ClipPatch.h"

#include "model/Field.h"

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
    if (loopCount) c.loopCount = *loopCount;
    if (tempoSync) c.tempoSync = *tempoSync;
    if (fadeInCurve) c.fadeInCurve = *fadeInCurve;
    if (fadeOutCurve) c.fadeOutCurve = *fadeOutCurve;
    if (crossfadeCurve) c.crossfadeCurve = *crossfadeCurve;
    if (crossfadeMs) c.crossfadeMs = *crossfadeMs;
    if (powerComp) c.powerComp = *powerComp;
    if (playMode) c.playMode = *playMode;
    if (secondPress) c.secondPress = *secondPress;
    if (group) c.group = *group;
    if (pitchSemitones) c.pitchSemitones = *pitchSemitones;
    if (bpm) c.bpm = *bpm;
    if (normalize) c.normalize = *normalize;
    if (quantize) c.quantize = *quantize;
    if (timecode) c.timecode = *timecode;
}

using field::bad;
using field::fadeMs;

Result<ClipPatch> parseClipPatch(const json::value& body) {
    if (!body.is_object()) return bad("body", "must be a JSON object");
    ClipPatch p;
    for (const auto& [key, v] : body.as_object()) {
        if (key == "label") {
            auto t = field::text(v, "label");
            if (!t) return t.error();
            p.label = std::move(*t);
        } else if (key == "color") {
            if (!v.is_string() || !validColor(std::string(v.as_string())))
                return bad("color", "must be a colour written #rrggbb");
            p.color = std::string(v.as_string());
        } else if (key == "level_db") {
            auto d = field::levelDb(v, "level_db");
            if (!d) return d.error();
            p.levelDb = *d;
        } else if (key == "fade_in_ms" || key == "fade_out_ms") {
            auto& dst = key == "fade_in_ms" ? p.fadeInMs : p.fadeOutMs;
            if (v.is_null()) {
                dst = std::optional<int>{};
            } else {
                auto r = fadeMs(v, std::string(key).c_str());
                if (!r) return r.error();
                dst = std::optional<int>{*r};
            }
        } else if (key == "loop") {
            auto f = field::flag(v, "loop");
            if (!f) return f.error();
            p.loop = *f;
        } else if (key == "tempo_sync") {
            auto f = field::flag(v, "tempo_sync");
            if (!f) return f.error();
            p.tempoSync = *f;
        } else if (key == "loop_count") {
            auto n = field::wholeNumber(v, "loop_count", 0, 100000);  // 0 = forever
            if (!n) return n.error();
            p.loopCount = *n;
        } else if (key == "crossfade_ms") {
            if (v.is_null()) {
                p.crossfadeMs = std::optional<int>{};
            } else {
                auto r = fadeMs(v, "crossfade_ms");
                if (!r) return r.error();
                p.crossfadeMs = std::optional<int>{*r};
            }
        } else if (key == "fade_in_curve" || key == "fade_out_curve" || key == "crossfade_curve") {
            auto& dst = key == "fade_in_curve" ? p.fadeInCurve : key == "fade_out_curve" ? p.fadeOutCurve : p.crossfadeCurve;
            FadeCurve c;
            if (v.is_null()) dst = std::optional<FadeCurve>{};
            else if (!v.is_string() || !parse(std::string(v.as_string()), c))
                return bad(std::string(key), "must be one of linear, equal_power, exponential, s_curve (or null: the default)");
            else dst = std::optional<FadeCurve>{c};
        } else if (key == "power_comp") {
            if (v.is_null()) p.powerComp = std::optional<bool>{};
            else if (!v.is_bool()) return bad("power_comp", "must be true or false (or null: the default)");
            else p.powerComp = std::optional<bool>{v.as_bool()};
        } else if (key == "play_mode") {
            PlayMode m;
            if (!v.is_string() || !parse(std::string(v.as_string()), m))
                return bad("play_mode", "must be one of one_shot, toggle, retrigger, gate");
            p.playMode = m;
        } else if (key == "second_press") {
            SecondPress sp;
            if (!v.is_string() || !parse(std::string(v.as_string()), sp))
                return bad("second_press", "must be one of stop, fade_out, restart, nothing");
            p.secondPress = sp;
        } else if (key == "group") {
            if (!v.is_string() || v.as_string().size() != 1 || !validGroup(v.as_string()[0]))
                return bad("group", "must be one of A, B, C, D");
            p.group = v.as_string()[0];
        } else if (key == "pitch_semitones") {
            auto d = field::number(v, "pitch_semitones", -24.0, 24.0);
            if (!d) return d.error();
            p.pitchSemitones = *d;
        } else if (key == "bpm") {
            if (v.is_null()) {
                p.bpm = std::optional<double>{};
            } else {
                auto d = field::number(v, "bpm", 20.0, 300.0);
                if (!d) return d.error();
                p.bpm = std::optional<double>{*d};
            }
        } else if (key == "normalize") {
            auto f = field::flag(v, "normalize");
            if (!f) return f.error();
            p.normalize = *f;
        } else if (key == "quantize") {
            if (v.is_null()) p.quantize = std::string();
            else if (v.is_string() && (v.as_string() == "off" || v.as_string() == "beat" || v.as_string() == "bar" || v.as_string() == "frame"))
                p.quantize = std::string(v.as_string());
            else return bad("quantize", "must be one of off, beat, bar, frame, or null for the show's time_division.quantize");
        } else if (key == "timecode") {
            if (v.is_null() || (v.is_string() && v.as_string().empty())) p.timecode = std::string();
            else if (v.is_string() && validTimecodeText(std::string(v.as_string()))) p.timecode = std::string(v.as_string());
            else return bad("timecode", "must be a time HH:MM:SS:FF (hours 0-23, frames 0-29; ';' before the frames for drop-frame), or null for none");
        } else {
            return bad(std::string(key), "is not an editable clip member");
        }
    }
    if (p.empty()) return bad("body", "names no clip member to change");
    return p;
}

}  // namespace cuebox::model
