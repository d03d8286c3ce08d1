// DSP load of the process callback: the time each call took as a fraction of
// the period; a peak hold that decays slowly (Ardour's DSPLoadCalculator
// idea) for display; a short moving average (sustained load) for the
// overload guard; and the worst call seen after a one-second warm-up. [RT] writes, [any] reads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <ctime>

namespace cuebox::engine {

class LoadMeter {
public:
    static std::int64_t nowNs() {
        timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: no system call
        return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
    }
    // [RT] one callback took `ns` for a period of `periodNs`.
    void record(std::int64_t ns, std::int64_t periodNs) {
        const float load = periodNs > 0 ? static_cast<float>(ns) / static_cast<float>(periodNs) : 0.0f;
        last_.store(load, std::memory_order_relaxed);
        // Sustained load: an exponential average over ~64 calls (85 ms at
        // 64 frames), each call counted at most at 150%, so one call stalled
        // by the machine cannot look like overload.
        float avg = average_.load(std::memory_order_relaxed);
        avg += (std::min(load, 1.5f) - avg) * (1.0f / 64.0f);
        average_.store(avg, std::memory_order_relaxed);
        float peak = peak_.load(std::memory_order_relaxed);
        peak = load > peak ? load : peak * 0.9995f;  // ~ -1/e per 2000 calls
        peak_.store(peak, std::memory_order_relaxed);
        // The worst call is judged after a warm-up: the first cycles touch
        // memory for the first time and measure the page cache, not the DSP.
        const std::uint64_t n = calls_.fetch_add(1, std::memory_order_relaxed);
        if (n >= warmupCalls_ && ns > worstNs_.load(std::memory_order_relaxed))
            worstNs_.store(ns, std::memory_order_relaxed);
    }
    float last() const { return last_.load(std::memory_order_relaxed); }
    float peak() const { return peak_.load(std::memory_order_relaxed); }
    float average() const { return average_.load(std::memory_order_relaxed); }
    std::int64_t worstNs() const { return worstNs_.load(std::memory_order_relaxed); }
    std::uint64_t calls() const { return calls_.load(std::memory_order_relaxed); }

private:
    std::atomic<float> last_{0.0f};
    std::atomic<float> peak_{0.0f};
    std::atomic<float> average_{0.0f};
    std::atomic<std::int64_t> worstNs_{0};
    std::atomic<std::uint64_t> calls_{0};
    std::uint64_t warmupCalls_ = 750;  // one second at 48 kHz / 64 frames
};

}  // namespace cuebox::engine
