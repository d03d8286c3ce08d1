#include "media/DemoMedia.h"

#include "media/AudioFile.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>

namespace cuebox::media {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Deterministic noise, so every box generates the same demo files.
class Noise {
public:
    float next() {
        state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<float>(static_cast<double>(state_ >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }

private:
    std::uint64_t state_ = 0x9e3779b97f4a7c15ull;
};

// A one-pole low-pass, for rumbles and wind.
struct LowPass {
    float a, y = 0.0f;
    LowPass(double cutoffHz, int rate) : a(static_cast<float>(1.0 - std::exp(-2.0 * kPi * cutoffHz / rate))) {}
    float operator()(float x) { return y += a * (x - y); }
};

using Synth = std::function<void(std::int64_t frame, double t, float* out)>;

AudioData render(int rate, int channels, double seconds, const Synth& fn) {
    AudioData a;
    a.sampleRate = rate;
    a.channels = channels;
    a.frames = static_cast<std::int64_t>(seconds * rate);
    a.samples.assign(static_cast<std::size_t>(a.frames * channels), 0.0f);
    const std::int64_t edge = rate / 200;  // 5 ms in and out: no click at the ends
    for (std::int64_t i = 0; i < a.frames; ++i) {
        float* f = &a.samples[static_cast<std::size_t>(i * channels)];
        fn(i, static_cast<double>(i) / rate, f);
        const std::int64_t fromEnd = a.frames - 1 - i;
        const std::int64_t e = std::min(i, fromEnd);
        if (e < edge)
            for (int c = 0; c < channels; ++c) f[c] *= static_cast<float>(e) / static_cast<float>(edge);
    }
    return a;
}

float db(double d) { return static_cast<float>(std::pow(10.0, d / 20.0)); }

void stereo(float* out, float v) { out[0] = out[1] = v; }

}  // namespace

Result<std::vector<DemoClip>> generateDemoMedia(const std::string& mediaDir, int rate) {
    std::error_code ec;
    std::filesystem::create_directories(mediaDir, ec);
    if (ec) return makeError(Errc::io, "media", "cannot create '" + mediaDir + "': " + ec.message());

    struct Item {
        DemoClip clip;
        Synth synth;
    };
    const float g = db(-12);
    auto sine = [](double hz, double t) { return static_cast<float>(std::sin(2 * kPi * hz * t)); };
    auto noise = std::make_shared<Noise>();
    auto lp1 = std::make_shared<LowPass>(180.0, rate);
    auto lp2 = std::make_shared<LowPass>(900.0, rate);
    auto lp3 = std::make_shared<LowPass>(60.0, rate);
    // Pink-ish noise: Paul Kellet's economy filter.
    auto pink = std::make_shared<std::array<float, 3>>();

    std::vector<Item> items = {
        {{"Tone A4", "tone_a4.wav", "#2563eb", 'A', 2, 6.0, false},
         [&](std::int64_t, double t, float* o) { stereo(o, g * sine(440, t)); }},
        {{"Tone E5", "tone_e5.wav", "#2563eb", 'A', 2, 6.0, false},
         [&](std::int64_t, double t, float* o) { stereo(o, g * sine(659.255, t)); }},
        {{"C major chord", "chord_cmaj.wav", "#7c3aed", 'A', 2, 8.0, false},
         [&](std::int64_t, double t, float* o) {
             const float env = static_cast<float>(std::exp(-t / 3.0));
             o[0] = g * env * (sine(261.63, t) + 0.8f * sine(329.63, t)) * 0.6f;
             o[1] = g * env * (sine(392.00, t) + 0.8f * sine(329.63, t)) * 0.6f;
         }},
        {{"Sweep 100 Hz-4 kHz", "sweep.wav", "#7c3aed", 'A', 2, 5.0, false},
         [&](std::int64_t, double t, float* o) {
             // Exponential sweep: phase is the integral of the frequency.
             const double k = std::log(40.0) / 5.0;
             stereo(o, g * static_cast<float>(std::sin(2 * kPi * 100.0 * (std::exp(k * t) - 1.0) / k)));
         }},
        {{"Noise bursts", "noise_bursts.wav", "#dc2626", 'B', 2, 4.0, false},
         [&, noise](std::int64_t, double t, float* o) {
             const bool on = std::fmod(t, 1.0) < 0.25;
             o[0] = on ? g * noise->next() : 0.0f;
             o[1] = on ? g * noise->next() : 0.0f;
         }},
        {{"Pink noise", "pink_noise.wav", "#dc2626", 'B', 2, 10.0, true},
         [&, noise, pink](std::int64_t, double, float* o) {
             auto& b = *pink;
             const float w = noise->next();
             b[0] = 0.99765f * b[0] + w * 0.0990460f;
             b[1] = 0.96300f * b[1] + w * 0.2965164f;
             b[2] = 0.57000f * b[2] + w * 1.0526913f;
             stereo(o, g * 0.25f * (b[0] + b[1] + b[2] + w * 0.1848f));
         }},
        {{"Click 120 BPM", "click_120.wav", "#16a34a", 'B', 2, 16.0, true},
         [&](std::int64_t, double t, float* o) {
             const double beat = 0.5, in = std::fmod(t, beat);
             const bool accent = std::fmod(t, 4 * beat) < beat;
             const float v = in < 0.03 ? static_cast<float>(std::exp(-in * 150)) * sine(accent ? 1760 : 880, t) : 0.0f;
             stereo(o, db(-6) * v);
         }},
        {{"Click 90 BPM", "click_90.wav", "#16a34a", 'B', 2, 16.0, true},
         [&](std::int64_t, double t, float* o) {
             const double beat = 60.0 / 90.0, in = std::fmod(t, beat);
             const bool accent = std::fmod(t, 4 * beat) < beat;
             const float v = in < 0.03 ? static_cast<float>(std::exp(-in * 150)) * sine(accent ? 1760 : 880, t) : 0.0f;
             stereo(o, db(-6) * v);
         }},
        {{"Bell", "bell.wav", "#ca8a04", 'C', 2, 5.0, false},
         [&](std::int64_t, double t, float* o) {
             const double f = 523.25;
             const float v = static_cast<float>(std::exp(-t * 1.2)) * sine(f, t) +
                             0.6f * static_cast<float>(std::exp(-t * 2.0)) * sine(f * 2.76, t) +
                             0.4f * static_cast<float>(std::exp(-t * 3.0)) * sine(f * 5.40, t);
             stereo(o, g * 0.6f * v);
         }},
        {{"Thunder", "thunder.wav", "#475569", 'C', 2, 8.0, false},
         [&, noise, lp1](std::int64_t, double t, float* o) {
             const float env = static_cast<float>(t < 0.3 ? t / 0.3 : std::exp(-(t - 0.3) / 2.0));
             stereo(o, db(-3) * 3.0f * env * (*lp1)(noise->next()));
         }},
        {{"Wind", "wind.wav", "#475569", 'C', 2, 20.0, true},
         [&, noise, lp2](std::int64_t, double t, float* o) {
             const float lfo = 0.6f + 0.4f * static_cast<float>(std::sin(2 * kPi * 0.13 * t));
             stereo(o, g * 2.0f * lfo * (*lp2)(noise->next()));
         }},
        {{"Doorbell", "doorbell.wav", "#ca8a04", 'C', 2, 2.5, false},
         [&](std::int64_t, double t, float* o) {
             const double f = t < 0.8 ? 659.26 : 523.25, s = t < 0.8 ? t : t - 0.8;
             stereo(o, g * static_cast<float>(std::exp(-s * 2.0)) * sine(f, t));
         }},
        {{"Phone ring", "phone.wav", "#db2777", 'D', 2, 6.0, false},
         [&](std::int64_t, double t, float* o) {
             const bool on = std::fmod(t, 3.0) < 2.0;
             const float trem = std::fmod(t, 0.05) < 0.025 ? 1.0f : 0.3f;
             stereo(o, on ? g * trem * 0.5f * (sine(440, t) + sine(480, t)) : 0.0f);
         }},
        {{"Heartbeat", "heartbeat.wav", "#db2777", 'D', 2, 10.0, true},
         [&, noise, lp3](std::int64_t, double t, float* o) {
             const double in = std::fmod(t, 1.0);
             float v = 0.0f;
             if (in < 0.12) v = static_cast<float>(std::exp(-in * 30)) * sine(55, in);
             else if (in > 0.25 && in < 0.37) v = 0.7f * static_cast<float>(std::exp(-(in - 0.25) * 30)) * sine(50, in);
             stereo(o, db(-3) * v);
         }},
        {{"Line-up 1 kHz (mono)", "lineup_1k_mono.wav", "#0891b2", 'D', 1, 3.0, false},
         [&](std::int64_t, double t, float* o) { o[0] = db(-18) * sine(1000, t); }},
        {{"Drone", "drone.wav", "#0891b2", 'D', 2, 30.0, true},
         [&](std::int64_t, double t, float* o) {
             const float m = 0.5f + 0.5f * static_cast<float>(std::sin(2 * kPi * 0.05 * t));
             o[0] = g * 0.5f * (sine(110, t) + m * sine(165.5, t));
             o[1] = g * 0.5f * (sine(110.3, t) + (1 - m) * sine(220.7, t));
         }},
    };

    std::vector<DemoClip> out;
    for (auto& it : items) {
        AudioData a = render(rate, it.clip.channels, it.clip.durationS, it.synth);
        const std::string path = (std::filesystem::path(mediaDir) / it.clip.file).string();
        if (auto st = writeWav(path, a); !st) return st.error().context("demo media");
        out.push_back(it.clip);
    }
    return out;
}

}  // namespace cuebox::media
