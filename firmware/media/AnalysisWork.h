// What Analysis.cpp and Tempo.cpp share: the progress of the analysis's two
// threads and a vectorised multiply-add. Internal to the media module.
#pragma once

#include "media/Analysis.h"

#include <algorithm>
#include <atomic>

namespace cuebox::media {

// out[i] += c * x[i] for i < N. A function of its own with restrict
// parameters and a constant count, so that -O2 vectorises it.
template <int N>
void multiplyAdd(float* __restrict out, const float* __restrict x, float c) {
    for (int i = 0; i < N; ++i) out[i] += c * x[i];
}

// Progress shared by the two threads. Only the calling thread calls the
// user's callback; the helper thread only publishes its fraction.
class Work {
public:
    // `helperShare`: the helper thread's part of all the work.
    Work(const Progress& p, double helperShare) : progress_(p), helperShare_(helperShare) {}
    std::atomic<bool> cancelled{false};
    std::atomic<double> helperDone{0.0};  // 0..1, written by the helper thread

    // Calling thread: `done` is its own fraction (0..1). Returns false once
    // cancelled.
    bool tick(double done) {
        mainDone_ = std::max(mainDone_, done);
        return report();
    }
    bool report() {
        if (cancelled.load()) return false;
        if (!progress_) return true;
        const double f = std::min(0.999, helperShare_ * helperDone.load() + (1 - helperShare_) * mainDone_);
        // In steps of at most 2%: when a thread waited for a core and then
        // did a lot at once, the steps come in a quick burst.
        while (f - lastReported_ >= 0.01) {
            lastReported_ = std::min(f, lastReported_ + 0.02);
            if (!progress_(lastReported_)) {
                cancelled = true;
                return false;
            }
        }
        return true;
    }

private:
    const Progress& progress_;
    double helperShare_;
    double mainDone_ = 0.0;
    double lastReported_ = 0.0;
};

}  // namespace cuebox::media
