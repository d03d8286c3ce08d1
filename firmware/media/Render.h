// Offline tempo/pitch renders with Rubber Band (R3, the "finer" engine): a
// tempo-synced or pitched clip plays a pre-rendered file, made in the
// background and cached on disk, never stretched in the RT thread.
// Worker threads only.
#pragma once

#include "base/Error.h"
#include "media/Analysis.h"
#include "media/AudioFile.h"

#include <string>

namespace cuebox::media {

struct RenderRequest {
    double timeRatio = 1.0;       // output duration / input duration (0.25..4)
    double pitchSemitones = 0.0;  // -24..24
};

// Validates the request (errors name "time_ratio" / "pitch_semitones").
Status checkRender(const RenderRequest& r);
// Renders `in` (any rate, 1-8 channels) keeping its rate and channel count;
// the result is timeRatio times as long (to within a frame) and has no
// leading latency (Rubber Band's start delay is removed).
Result<AudioData> render(const AudioData& in, const RenderRequest& r, const Progress& progress = {});
// The tempo ratio that makes media of `fromBpm` play at `toBpm`.
inline double tempoRatio(double fromBpm, double toBpm) { return fromBpm > 0 && toBpm > 0 ? fromBpm / toBpm : 1.0; }
// A file name (no folder) for a render of the media with content hash
// `hash` under `r`: the same request always maps to the same name, and two
// requests that differ audibly never do (ratio to 1e-5, pitch to 0.01).
std::string renderFileName(const std::string& hash, const RenderRequest& r);

}  // namespace cuebox::media
