#include "engine/Recorder.h"

#include <algorithm>

namespace cuebox::engine {

Recorder::Recorder(int sampleRate, double ringSeconds)
    : capacity_(static_cast<std::uint64_t>(ringSeconds * sampleRate)) {
    for (auto& s : slots_) s.ring.assign(capacity_ * 2, 0.0f);
}

bool Recorder::start(int rec, float gain) {
    Slot& s = slots_[static_cast<std::size_t>(rec)];
    if (s.state.load(std::memory_order_acquire) != State::idle) return false;
    s.gain.store(gain, std::memory_order_relaxed);
    s.frames.store(0, std::memory_order_relaxed);
    s.dropped.store(0, std::memory_order_relaxed);
    s.read.store(s.write.load(std::memory_order_acquire), std::memory_order_release);  // an empty ring
    s.state.store(State::recording, std::memory_order_release);
    return true;
}

void Recorder::stop(int rec) {
    Slot& s = slots_[static_cast<std::size_t>(rec)];
    State expected = State::recording;
    s.state.compare_exchange_strong(expected, State::stopping, std::memory_order_acq_rel);
}

void Recorder::process(std::uint32_t n, const float* const* ins) {
    for (int r = 0; r < kRecorders; ++r) {
        Slot& s = slots_[static_cast<std::size_t>(r)];
        if (s.state.load(std::memory_order_acquire) != State::recording) continue;
        const float* l = ins ? ins[r * 2] : nullptr;
        const float* rr = ins ? ins[r * 2 + 1] : nullptr;
        const float g = s.gain.load(std::memory_order_relaxed);
        const std::uint64_t w = s.write.load(std::memory_order_relaxed);
        const std::uint64_t free = capacity_ - (w - s.read.load(std::memory_order_acquire));
        const std::uint64_t take = std::min<std::uint64_t>(free, n);
        for (std::uint64_t i = 0; i < take; ++i) {
            float* dst = s.ring.data() + ((w + i) % capacity_) * 2;
            dst[0] = l ? l[i] * g : 0.0f;
            dst[1] = rr ? rr[i] * g : 0.0f;
        }
        s.write.store(w + take, std::memory_order_release);
        s.frames.fetch_add(take, std::memory_order_relaxed);
        if (take < n) s.dropped.fetch_add(n - take, std::memory_order_relaxed);
    }
}

std::size_t Recorder::read(int rec, float* out, std::size_t maxFrames) {
    Slot& s = slots_[static_cast<std::size_t>(rec)];
    const std::uint64_t r = s.read.load(std::memory_order_relaxed);
    const std::uint64_t avail = s.write.load(std::memory_order_acquire) - r;
    const std::uint64_t n = std::min<std::uint64_t>(avail, maxFrames);
    for (std::uint64_t i = 0; i < n; ++i) {
        const float* src = s.ring.data() + ((r + i) % capacity_) * 2;
        out[i * 2] = src[0];
        out[i * 2 + 1] = src[1];
    }
    s.read.store(r + n, std::memory_order_release);
    return static_cast<std::size_t>(n);
}

void Recorder::finished(int rec) { slots_[static_cast<std::size_t>(rec)].state.store(State::idle, std::memory_order_release); }

}  // namespace cuebox::engine
