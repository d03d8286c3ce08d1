#include "engine/Mixer.h"

#include <algorithm>
#include <cmath>

namespace cuebox::engine {

MixConfig MixConfig::defaults(int outputs) {
    MixConfig c;
    c.outputs = std::clamp(outputs, 1, kMaxOutputs);
    for (int b = 0; b < kGroups; ++b) {
        c.matrix[static_cast<std::size_t>(b * 2)][0] = 1.0f;
        if (c.outputs > 1) c.matrix[static_cast<std::size_t>(b * 2 + 1)][1] = 1.0f;
    }
    for (int o = 0; o < kMaxOutputs; ++o) c.outputLevel[static_cast<std::size_t>(o)] = 1.0f;
    return c;
}

void Meter::add(const float* x, std::uint32_t n) {
    float pk = 0.0f;
    double ss = 0.0;
    for (std::uint32_t i = 0; i < n; ++i) {
        const float a = std::fabs(x[i]);
        pk = a > pk ? a : pk;
        ss += static_cast<double>(x[i]) * x[i];
    }
    float cur = peak.load(std::memory_order_relaxed);
    while (pk > cur && !peak.compare_exchange_weak(cur, pk, std::memory_order_relaxed)) {
    }
    double s = sumsq.load(std::memory_order_relaxed);
    while (!sumsq.compare_exchange_weak(s, s + ss, std::memory_order_relaxed)) {
    }
    frames.fetch_add(n, std::memory_order_relaxed);
}

void Meter::read(float& peakOut, float& rmsOut) {
    peakOut = peak.exchange(0.0f, std::memory_order_relaxed);
    const double ss = sumsq.exchange(0.0, std::memory_order_relaxed);
    const std::uint32_t n = frames.exchange(0, std::memory_order_relaxed);
    rmsOut = n ? static_cast<float>(std::sqrt(ss / n)) : 0.0f;
}

Mixer::Mixer(int outputs, int sampleRate) : outputs_(std::clamp(outputs, 1, kMaxOutputs)), rate_(sampleRate) {
    for (auto& b : busBuf_) b.assign(kMaxBlock, 0.0f);
    scratch_.assign(kMaxBlock, 0.0f);
}

void Mixer::snap(const MixConfig& cfg) {
    busLevel_ = cfg.busLevel;
    master_ = cfg.masterLevel;
    monitor_ = cfg.monitorLevel;
    matrix_ = cfg.matrix;
    outLevel_ = cfg.outputLevel;
    for (int b = 0; b < kBusses; ++b)
        pfl_[static_cast<std::size_t>(b)] = (b == kAuditionBus || cfg.pfl[static_cast<std::size_t>(b)]) ? 1.0f : 0.0f;
}

float Mixer::smooth(float cur, float target) const {
    const float next = cur + (target - cur) * coeff_;
    // Land exactly on the target once close: no endless tiny ramps.
    return std::fabs(next - target) < 1e-6f ? target : next;
}

void Mixer::beginBlock(std::uint32_t nframes) {
    for (auto& b : busBuf_) std::fill(b.begin(), b.begin() + nframes, 0.0f);
    if (nframes != coeffFrames_) {
        // One-pole smoothing with a 10 ms time constant, applied per block
        // and interpolated linearly across it. Computed only when the block
        // size changes (std::exp is fine: no allocation, no lock).
        coeff_ = 1.0f - static_cast<float>(std::exp(-static_cast<double>(nframes) / (0.010 * rate_)));
        coeffFrames_ = nframes;
    }
}

namespace {
// out[i] += in[i] * (g0 + (g1 - g0) * i / n)
inline void addRamp(float* out, const float* in, std::uint32_t n, float g0, float g1) {
    if (g0 == 0.0f && g1 == 0.0f) return;
    if (g0 == g1) {
        for (std::uint32_t i = 0; i < n; ++i) out[i] += in[i] * g0;
        return;
    }
    const float step = (g1 - g0) / static_cast<float>(n);
    float g = g0;
    for (std::uint32_t i = 0; i < n; ++i, g += step) out[i] += in[i] * g;
}
}  // namespace

void Mixer::mix(const MixConfig& cfg, std::uint32_t n, float* const* outs) {
    const int N = outputs_;
    for (int o = 0; o < N + 2; ++o) std::fill(outs[o], outs[o] + n, 0.0f);

    // Monitor: audition bus plus busses on PFL, pre-fader.
    const float mon0 = monitor_, mon1 = smooth(monitor_, cfg.monitorLevel);
    for (int b = 0; b < kBusses; ++b) {
        const float target = (b == kAuditionBus || cfg.pfl[static_cast<std::size_t>(b)]) ? 1.0f : 0.0f;
        const float p0 = pfl_[static_cast<std::size_t>(b)], p1 = smooth(p0, target);
        pfl_[static_cast<std::size_t>(b)] = p1;
        for (int ch = 0; ch < 2; ++ch) addRamp(outs[N + ch], bus(b, ch), n, p0 * mon0, p1 * mon1);
    }
    monitor_ = mon1;

    const float m0 = master_, m1 = smooth(master_, cfg.masterLevel);
    master_ = m1;
    std::array<float, kMaxOutputs> ol0{}, ol1{};
    for (int o = 0; o < N; ++o) {
        ol0[static_cast<std::size_t>(o)] = outLevel_[static_cast<std::size_t>(o)];
        ol1[static_cast<std::size_t>(o)] = smooth(ol0[static_cast<std::size_t>(o)], cfg.outputLevel[static_cast<std::size_t>(o)]);
        outLevel_[static_cast<std::size_t>(o)] = ol1[static_cast<std::size_t>(o)];
    }
    for (int b = 0; b < kBusses; ++b) {
        const float l0 = busLevel_[static_cast<std::size_t>(b)];
        const float l1 = smooth(l0, cfg.busLevel[static_cast<std::size_t>(b)]);
        busLevel_[static_cast<std::size_t>(b)] = l1;
        for (int ch = 0; ch < 2; ++ch) {
            const int bc = b * 2 + ch;
            float* src = bus(b, ch);
            // Post-fader bus signal, metered.
            const float step = (l1 - l0) / static_cast<float>(n);
            float g = l0;
            for (std::uint32_t i = 0; i < n; ++i, g += step) scratch_[i] = src[i] * g;
            busMeters_[static_cast<std::size_t>(bc)].add(scratch_.data(), n);
            auto& row0 = matrix_[static_cast<std::size_t>(bc)];
            const auto& rowT = cfg.matrix[static_cast<std::size_t>(bc)];
            for (int o = 0; o < N; ++o) {
                const float x0 = row0[static_cast<std::size_t>(o)], x1 = smooth(x0, rowT[static_cast<std::size_t>(o)]);
                row0[static_cast<std::size_t>(o)] = x1;
                addRamp(outs[o], scratch_.data(), n, x0 * ol0[static_cast<std::size_t>(o)] * m0,
                        x1 * ol1[static_cast<std::size_t>(o)] * m1);
            }
        }
    }
    for (int o = 0; o < N; ++o) outMeters_[static_cast<std::size_t>(o)].add(outs[o], n);
    for (int ch = 0; ch < 2; ++ch) monMeters_[static_cast<std::size_t>(ch)].add(outs[N + ch], n);
}

}  // namespace cuebox::engine
