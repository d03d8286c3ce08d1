#include "media/Render.h"

#include <rubberband/RubberBandStretcher.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <vector>

namespace cuebox::media {

namespace {

using RubberBand::RubberBandStretcher;

constexpr double kMinRatio = 0.25;
constexpr double kMaxRatio = 4.0;
constexpr double kMaxSemitones = 24.0;
constexpr int kMaxChannels = 8;
// Rubber Band is specified for 8 kHz..192 kHz only.
constexpr int kMinRate = 8000;
constexpr int kMaxRate = 192000;
// Frames per study()/process() call; also the most we ever pass to process()
// (told to the stretcher with setMaxProcessSize).
constexpr std::size_t kBlock = 4096;
// Share of the progress bar given to the study pass. With R3 the study pass is
// cheap next to process(), but not free.
constexpr double kStudyShare = 0.1;

// Why these options:
// - Offline: the whole clip is at hand, so Rubber Band can study it first and
//   handle padding and delay compensation itself: the output starts exactly
//   where the input starts and has the requested length.
// - EngineFiner (R3): clearly better than R2 on full mixes, bass, vocals and
//   soft onsets, which is most of what a theatre plays; the extra CPU does
//   not matter for a background render.
// - ChannelsTogether: keeps the channels phase-coherent (for stereo R3
//   processes mid/side). Theatre systems fold to mono in places (fills,
//   delays, a mono cluster); channels stretched apart lose their phase
//   relation and comb-filter when summed, and a stereo mix loses its centre.
// - FormantShifted (the default): a plain pitch shift, which is what a
//   designer pitching music or an effect expects; formant preservation is a
//   voice tool and colours other material.
// - ThreadingNever: a render already runs on a worker thread of a 2-core
//   box; R3 has no threaded mode anyway, and one thread keeps available()
//   simple (no "0 now, more later" while draining).
// - WindowStandard: R3's full multi-resolution scheme (Short trades quality
//   for speed, which a background render does not need).
// The OptionPitch* flags only apply in real-time mode and are left out.
constexpr RubberBandStretcher::Options kOptions =
    RubberBandStretcher::OptionProcessOffline | RubberBandStretcher::OptionEngineFiner |
    RubberBandStretcher::OptionChannelsTogether | RubberBandStretcher::OptionFormantShifted |
    RubberBandStretcher::OptionThreadingNever | RubberBandStretcher::OptionWindowStandard;

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

Status checkInput(const AudioData& in) {
    if (in.channels < 1 || in.channels > kMaxChannels)
        return makeError(Errc::bad_request, "channels",
                         "a render takes 1 to " + std::to_string(kMaxChannels) + " channels, this media has " +
                             std::to_string(in.channels));
    if (in.sampleRate < kMinRate || in.sampleRate > kMaxRate)
        return makeError(Errc::bad_request, "sample_rate",
                         "a render takes 8000 to 192000 Hz, this media is at " + std::to_string(in.sampleRate) +
                             " Hz: resample it first");
    if (in.frames < 0 || in.samples.size() != static_cast<std::size_t>(in.frames) * static_cast<std::size_t>(in.channels))
        return makeError(Errc::bad_request, "frames",
                         "the audio holds " + std::to_string(in.samples.size()) + " samples, not frames x channels (" +
                             std::to_string(in.frames) + " x " + std::to_string(in.channels) + ")");
    return {};
}

Error cancelled() { return makeError(Errc::conflict, "cancelled", "the render was cancelled"); }

// Reports progress at most every 1% (and always at 1.0); false = cancel.
class ProgressReporter {
public:
    explicit ProgressReporter(const Progress& p) : p_(p) {}
    bool report(double fraction) {
        if (!p_) return true;
        if (fraction < 1.0 && fraction - last_ < 0.01) return true;
        last_ = fraction;
        return p_(std::clamp(fraction, 0.0, 1.0));
    }

private:
    const Progress& p_;
    double last_ = -1.0;
};

// Per-channel scratch blocks and the pointer arrays Rubber Band wants.
struct Planar {
    std::vector<std::vector<float>> data;
    std::vector<float*> ptrs;
    Planar(int channels, std::size_t frames) : data(static_cast<std::size_t>(channels), std::vector<float>(frames)) {
        for (auto& c : data) ptrs.push_back(c.data());
    }
    // Copies frames [start, start+n) of interleaved `in` into the blocks.
    void deinterleave(const AudioData& in, std::size_t start, std::size_t n) {
        const auto ch = static_cast<std::size_t>(in.channels);
        const float* src = in.samples.data() + start * ch;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t c = 0; c < ch; ++c) data[c][i] = src[i * ch + c];
    }
};

Result<AudioData> stretch(const AudioData& in, const RenderRequest& r, const Progress& progress) {
    const auto channels = static_cast<std::size_t>(in.channels);
    const auto inFrames = static_cast<std::size_t>(in.frames);
    const auto outFrames = static_cast<std::size_t>(std::llround(static_cast<double>(in.frames) * r.timeRatio));
    const double pitchScale = std::pow(2.0, r.pitchSemitones / 12.0);

    RubberBandStretcher s(static_cast<std::size_t>(in.sampleRate), channels, kOptions, r.timeRatio, pitchScale);
    if (s.getEngineVersion() != 3)
        return makeError(Errc::internal, "", "Rubber Band did not select its R3 (finer) engine");
    s.setExpectedInputDuration(inFrames);
    s.setMaxProcessSize(kBlock);

    ProgressReporter reporter(progress);
    if (!reporter.report(0.0)) return cancelled();
    Planar block(in.channels, kBlock);

    // Pass 1: study the whole clip so the stretch profile and the padding
    // are planned before any output is made.
    for (std::size_t pos = 0; pos < inFrames; pos += kBlock) {
        const std::size_t n = std::min(kBlock, inFrames - pos);
        block.deinterleave(in, pos, n);
        s.study(block.ptrs.data(), n, pos + n >= inFrames);
        if (!reporter.report(kStudyShare * static_cast<double>(pos + n) / static_cast<double>(inFrames)))
            return cancelled();
    }

    AudioData out;
    out.sampleRate = in.sampleRate;
    out.channels = in.channels;
    out.frames = static_cast<std::int64_t>(outFrames);
    out.samples.reserve(outFrames * channels);
    std::size_t got = 0;  // frames appended to out (capped at outFrames)
    Planar outBlock(in.channels, kBlock);
    // Moves whatever the stretcher has ready into `out`, interleaving.
    // Returns false once the stretcher reports it is finished.
    auto drain = [&]() {
        for (;;) {
            const int avail = s.available();
            if (avail < 0) return false;
            if (avail == 0) return true;
            const std::size_t n = s.retrieve(outBlock.ptrs.data(), std::min(static_cast<std::size_t>(avail), kBlock));
            if (n == 0) return true;
            const std::size_t keep = std::min(n, outFrames - got);
            for (std::size_t i = 0; i < keep; ++i)
                for (std::size_t c = 0; c < channels; ++c) out.samples.push_back(outBlock.data[c][i]);
            got += keep;
        }
    };

    // Pass 2: process the same blocks and collect the output as it comes.
    for (std::size_t pos = 0; pos < inFrames; pos += kBlock) {
        const std::size_t n = std::min(kBlock, inFrames - pos);
        block.deinterleave(in, pos, n);
        s.process(block.ptrs.data(), n, pos + n >= inFrames);
        drain();
        // 1.0 is kept for when the tail has been flushed too.
        const double done = static_cast<double>(pos + n) / static_cast<double>(inFrames);
        if (!reporter.report(std::min(0.99, kStudyShare + (1.0 - kStudyShare) * done))) return cancelled();
    }
    // After the final block the stretcher flushes its tail. Single-threaded,
    // available() is then either > 0 or -1 (finished); stop on 0 as well so a
    // library surprise cannot hang the worker.
    while (s.available() > 0) drain();

    // Offline Rubber Band already delivers exactly round(in * ratio) frames
    // (checked by the tests); pad with silence in case it ever falls short.
    out.samples.resize(outFrames * channels, 0.0f);
    if (!reporter.report(1.0)) return cancelled();
    return out;
}

}  // namespace

Status checkRender(const RenderRequest& r) {
    if (!std::isfinite(r.timeRatio) || r.timeRatio < kMinRatio || r.timeRatio > kMaxRatio)
        return makeError(Errc::bad_request, "time_ratio",
                         "the time ratio must be between 0.25 and 4 (output duration / input duration), not " +
                             fmt(r.timeRatio));
    if (!std::isfinite(r.pitchSemitones) || std::abs(r.pitchSemitones) > kMaxSemitones)
        return makeError(Errc::bad_request, "pitch_semitones",
                         "the pitch shift must be between -24 and +24 semitones, not " + fmt(r.pitchSemitones));
    return {};
}

Result<AudioData> render(const AudioData& in, const RenderRequest& r, const Progress& progress) {
    if (auto st = checkRender(r); !st) return st.error();
    if (auto st = checkInput(in); !st) return st.error();
    if (in.frames == 0 || (r.timeRatio == 1.0 && r.pitchSemitones == 0.0)) {
        // Nothing to stretch: the render is the input.
        if (progress && !progress(1.0)) return cancelled();
        AudioData out = in;
        out.frames = static_cast<std::int64_t>(std::llround(static_cast<double>(in.frames) * r.timeRatio));
        out.samples.resize(static_cast<std::size_t>(out.frames) * static_cast<std::size_t>(in.channels), 0.0f);
        return out;
    }
    try {
        return stretch(in, r, progress);
    } catch (const std::bad_alloc&) {
        return makeError(Errc::internal, "", "out of memory rendering " + std::to_string(in.frames) + " frames");
    } catch (const std::exception& e) {
        return makeError(Errc::internal, "", std::string("Rubber Band failed: ") + e.what());
    } catch (...) {
        return makeError(Errc::internal, "", "Rubber Band failed");
    }
}

std::string renderFileName(const std::string& hash, const RenderRequest& r) {
    // The hash part: its first 16 characters, lower-cased, anything that is
    // not a letter or digit replaced so the name stays a plain file name.
    std::string name;
    for (char ch : hash.substr(0, 16)) {
        const auto u = static_cast<unsigned char>(ch);
        name += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_';
    }
    // Ratio and pitch are rounded to integers of 1e-5 and 0.01 and printed
    // from those, so the name does not depend on the locale's decimal point
    // or on printf's rounding, and -0.001 semitones is "+0.00" like 0.
    // Values outside what checkRender accepts are clamped (never used for a
    // real render, but they must not overflow llround).
    const double ratio = std::isfinite(r.timeRatio) ? std::clamp(r.timeRatio, 0.0, 1e6) : 0.0;
    const double semis = std::isfinite(r.pitchSemitones) ? std::clamp(r.pitchSemitones, -1e6, 1e6) : 0.0;
    const long long t = std::llround(ratio * 1e5);
    const long long p = std::llround(semis * 100.0);
    const long long pa = p < 0 ? -p : p;
    char buf[96];
    std::snprintf(buf, sizeof buf, "-t%lld.%05lld-p%c%lld.%02lld.wav", t / 100000, t % 100000, p < 0 ? '-' : '+',
                  pa / 100, pa % 100);
    return name + buf;
}

}  // namespace cuebox::media
