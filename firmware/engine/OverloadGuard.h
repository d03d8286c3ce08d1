// Resource protection on DSP load (fraction of the period, averaged over
// ~85 ms so that one call the machine stalled does not count as overload):
// at >= 80% a warning, at >= 90% critical (new voices are refused; the
// audition voice is protected), back to normal only below 70%.
// [RT] update(); [any] state().
#pragma once

#include <atomic>
#include <cstdint>

namespace cuebox::engine {

enum class LoadState : std::uint8_t { normal, warning, critical };

class OverloadGuard {
public:
    static constexpr float kWarning = 0.80f;
    static constexpr float kCritical = 0.90f;
    static constexpr float kRecovery = 0.70f;

    LoadState update(float load) {
        LoadState s = state_.load(std::memory_order_relaxed);
        if (load >= kCritical) s = LoadState::critical;
        else if (load >= kWarning && s == LoadState::normal) s = LoadState::warning;
        else if (load < kRecovery) s = LoadState::normal;
        state_.store(s, std::memory_order_relaxed);
        return s;
    }
    LoadState state() const { return state_.load(std::memory_order_relaxed); }

private:
    std::atomic<LoadState> state_{LoadState::normal};
};

const char* loadStateName(LoadState s);

}  // namespace cuebox::engine
