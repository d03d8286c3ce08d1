// Offline Rubber Band (R3) render speed: how long a tempo-synced or pitched
// clip takes to prepare on a worker thread. Prints wall-clock seconds and
// the speed as a multiple of real time for a 30 s stereo 48 kHz clip.
#include "media/Render.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace cuebox::media;

namespace {

constexpr int kRate = 48000;
constexpr double kSeconds = 30.0;

// Music-like: a bass and a chord that change every 2 s, a little stereo
// spread, and a click on every beat at 120 bpm.
AudioData synthClip() {
    AudioData a;
    a.sampleRate = kRate;
    a.channels = 2;
    a.frames = static_cast<std::int64_t>(kSeconds * kRate);
    a.samples.resize(static_cast<std::size_t>(a.frames) * 2);
    const double roots[] = {110.0, 146.83, 130.81, 98.0};
    std::uint32_t noise = 12345;
    for (std::int64_t i = 0; i < a.frames; ++i) {
        const double t = static_cast<double>(i) / kRate;
        const double root = roots[static_cast<int>(t / 2.0) % 4];
        double l = 0.25 * std::sin(2 * M_PI * root * t);
        double r = l;
        l += 0.12 * std::sin(2 * M_PI * root * 2.0 * t) + 0.08 * std::sin(2 * M_PI * root * 3.0 * t);
        r += 0.12 * std::sin(2 * M_PI * root * 2.52 * t) + 0.08 * std::sin(2 * M_PI * root * 3.0 * t + 0.5);
        // Click: 5 ms of decaying noise at each beat (every 0.5 s).
        const double sinceBeat = std::fmod(t, 0.5);
        if (sinceBeat < 0.005) {
            noise = noise * 1664525u + 1013904223u;
            const double n = (static_cast<double>(noise >> 8) / 8388608.0 - 1.0) * 0.5 * (1.0 - sinceBeat / 0.005);
            l += n;
            r += n;
        }
        a.samples[static_cast<std::size_t>(i) * 2] = static_cast<float>(l);
        a.samples[static_cast<std::size_t>(i) * 2 + 1] = static_cast<float>(r);
    }
    return a;
}

bool run(const char* what, const AudioData& in, const RenderRequest& r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto out = render(in, r);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!out.ok()) {
        std::fprintf(stderr, "%s failed: %s\n", what, out.error().reason.c_str());
        return false;
    }
    const long long expect = std::llround(static_cast<double>(in.frames) * r.timeRatio);
    std::printf("%s, 30 s stereo 48 kHz, %s: %.2f s (%.1fx real time)%s\n", what,
                r.pitchSemitones != 0.0 ? "+3 semitones" : "ratio 1.2", s, kSeconds / s,
                out->frames == expect ? "" : " LENGTH MISMATCH");
    return out->frames == expect;
}

}  // namespace

int main() {
    const AudioData clip = synthClip();
    bool ok = run("tempo render", clip, {tempoRatio(120, 100), 0.0});
    ok = run("pitch render", clip, {1.0, 3.0}) && ok;
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
