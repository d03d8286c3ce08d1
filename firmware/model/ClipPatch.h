// A validated partial edit of a clip (PATCH /api/clips/{id}). Parsing checks
// every member before anything is applied, so a bad edit changes nothing.
#pragma once

#include "base/Error.h"
#include "model/Show.h"

#include <boost/json/value.hpp>

#include <optional>
#include <string>

namespace cuebox::model {

struct ClipPatch {
    std::optional<std::string> label;
    std::optional<std::string> color;
    std::optional<double> levelDb;
    // For fades, a present-but-empty value (JSON null) returns to the default.
    std::optional<std::optional<int>> fadeInMs;
    std::optional<std::optional<int>> fadeOutMs;
    std::optional<bool> loop;
    std::optional<int> loopCount;
    std::optional<bool> tempoSync;
    std::optional<std::optional<FadeCurve>> fadeInCurve, fadeOutCurve, crossfadeCurve;
    std::optional<std::optional<int>> crossfadeMs;
    std::optional<std::optional<bool>> powerComp;
    std::optional<PlayMode> playMode;
    std::optional<SecondPress> secondPress;
    std::optional<char> group;
    std::optional<double> pitchSemitones;
    std::optional<std::optional<double>> bpm;  // null = the analysed tempo
    std::optional<bool> normalize;
    std::optional<std::string> quantize;  // "" (JSON null) = the show's
    std::optional<std::string> timecode;  // "" (JSON null) = no timecode trigger

    bool empty() const {
        return !label && !color && !levelDb && !fadeInMs && !fadeOutMs && !loop && !loopCount && !tempoSync && !fadeInCurve &&
               !fadeOutCurve && !crossfadeCurve && !crossfadeMs && !powerComp && !playMode && !secondPress && !group &&
               !pitchSemitones && !bpm && !normalize && !quantize && !timecode;
    }
    void applyTo(Clip& c) const;
};

// Errors name the offending member ("level_db") and say why.
Result<ClipPatch> parseClipPatch(const boost::json::value& body);

}  // namespace cuebox::model
