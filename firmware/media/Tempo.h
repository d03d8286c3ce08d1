// The tempo part of the media analysis (the method is described in
// Tempo.cpp). Internal to the media module: only Analysis.cpp includes it.
#pragma once

#include "media/Analysis.h"
#include "media/AnalysisWork.h"

namespace cuebox::media {

struct TempoContext {
    double durationS = 0;
    double soundFrom = 0, soundTo = 0;  // outside: leading/trailing silence
};

// Calling thread (it calls `work.tick` with its fractions 0.09..1). Resets
// all of `out` (`structure` too) and fills all but `structure`. False when
// cancelled.
bool analyseTempo(const AudioData& a, const TempoContext& ctx, TempoAnalysis& out, Work& work);

}  // namespace cuebox::media
