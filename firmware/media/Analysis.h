// Analysis of imported media: levels (peak, true peak, EBU R128 loudness via
// libebur128), a waveform overview for the UI, leading/trailing silence and
// tempo analysis data (aubio): tempo with confidence and alternatives,
// beat/warp marker positions, sections with their own tempo. Worker threads
// only (it allocates and takes a while); never the engine's RT thread.
#pragma once

#include "base/Error.h"
#include "media/AudioFile.h"

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <vector>

namespace cuebox::media {

// Called now and then with the fraction done (0..1); returning false cancels
// (the call then fails with Errc::conflict, field "cancelled").
using Progress = std::function<bool(double fraction)>;

struct TempoAlternative {
    double bpm = 0.0;
    double confidence = 0.0;  // 0..1
};

// A stretch of the file with one steady tempo.
struct TempoSection {
    double startS = 0.0;
    double endS = 0.0;
    double bpm = 0.0;                   // 0 when the section has no steady beat
    double confidence = 0.0;            // 0..1
    double transitionConfidence = 0.0;  // 0..1: how sure the change into this section is (first section: 1)
};

struct TempoAnalysis {
    double bpm = 0.0;         // 0 = no steady beat found (speech, effects, drones)
    double confidence = 0.0;  // 0..1
    std::vector<TempoAlternative> alternatives;  // other plausible tempos, best first (half/double time...)
    std::vector<double> beats;                   // beat = warp marker positions, seconds from the start
    std::vector<TempoSection> sections;          // cover the file from 0 to its end, in order
    std::vector<double> structure;               // musical structure markers (seconds): marked changes in energy/texture
};

inline constexpr int kWaveformColumns = 512;

struct Analysis {
    int sampleRate = 0;
    int channels = 0;
    std::int64_t frames = 0;
    double durationS = 0.0;
    double peakDb = -200.0;      // sample peak, dBFS (-200 = digital silence)
    double truePeakDb = -200.0;  // dBTP (BS.1770-4 oversampling: 4x below 96 kHz, libebur128's filter design)
    double loudnessLufs = -200.0;  // integrated, LUFS (-200 = too short/quiet to measure)
    double loudnessRangeLu = 0.0;
    double leadingSilenceS = 0.0;   // below the silence threshold from the start
    double trailingSilenceS = 0.0;  // below the silence threshold at the end
    // Overview of all channels together: per column the lowest and highest
    // sample scaled to -127..127 (kWaveformColumns columns, fewer for files
    // shorter than that many frames).
    std::vector<std::int8_t> waveformMin, waveformMax;
    TempoAnalysis tempo;
};

struct AnalysisOptions {
    double silenceThresholdDb = -60.0;
    int waveformColumns = kWaveformColumns;
    bool tempo = true;  // tempo analysis (the slowest part)
};

// `a` is interleaved float at any rate, 1-8 channels, at least one frame.
Result<Analysis> analyse(const AudioData& a, const AnalysisOptions& o = {}, const Progress& progress = {});

// The non-destructive gain that brings the file to `targetLufs`, limited so
// the true peak stays under `ceilingDbtp`; 0 when loudness is unmeasurable.
double gainToTargetDb(const Analysis& a, double targetLufs, double ceilingDbtp = -1.0);

// JSON form (snake_case members, as the API serves it); the waveform is
// omitted unless `withWaveform`.
boost::json::object toJson(const Analysis& a, bool withWaveform = false);
Result<Analysis> analysisFromJson(const boost::json::value& v);

}  // namespace cuebox::media
