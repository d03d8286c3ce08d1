// Media analysis. Two threads share the work: a helper thread runs
// libebur128 (integrated loudness and loudness range, the largest single
// part) and then the true peak; the calling thread scans levels, silence,
// waveform and structure, analyses the tempo (Tempo.cpp), then joins in on
// the true peak. Only the calling thread calls `progress`.
#include "media/Analysis.h"

#include "media/AnalysisWork.h"
#include "media/Tempo.h"

#include <ebur128.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <future>
#include <limits>
#include <string>

namespace cuebox::media {
namespace json = boost::json;
namespace {

constexpr double kMinDb = -200.0;

double toDb(double linear) { return linear > 0 ? std::max(kMinDb, 20.0 * std::log10(linear)) : kMinDb; }

// Lowest and highest value and sum of squares of x[0, n), eight lanes at a
// time so that the compiler vectorises it (the scans over the whole file
// are memory-bound then). `poison` is NaN when any value is NaN or infinite.
struct Span {
    float lo = std::numeric_limits<float>::max(), hi = -std::numeric_limits<float>::max();
    float sumSq = 0, poison = 0;
    float peak() const { return std::max(0.0f, std::max(-lo, hi)); }
};

Span scan(const float* __restrict x, std::size_t n) {
    float lo[8], hi[8], sq[8], z[8];
    for (int j = 0; j < 8; ++j) lo[j] = std::numeric_limits<float>::max(), hi[j] = -lo[j], sq[j] = 0, z[j] = 0;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) {
            const float v = x[i + j];
            lo[j] = v < lo[j] ? v : lo[j];
            hi[j] = v > hi[j] ? v : hi[j];
            sq[j] += v * v;
            z[j] += v * 0.0f;
        }
    Span s;
    for (; i < n; ++i) {
        const float v = x[i];
        s.lo = std::min(s.lo, v), s.hi = std::max(s.hi, v), s.sumSq += v * v, s.poison += v * 0.0f;
    }
    for (int j = 0; j < 8; ++j) {
        s.lo = std::min(s.lo, lo[j]), s.hi = std::max(s.hi, hi[j]);
        s.sumSq += sq[j], s.poison += z[j];
    }
    return s;
}

Error cancelledError() { return makeError(Errc::conflict, "cancelled", "the analysis was cancelled"); }

// --------------------------------------------------------------- loudness

// libebur128's channel map for the file's channel count (WAVE order). Mono
// is one channel (not dual mono): the engine plays a mono clip at -3 dB on
// both sides of a pair, which is exactly as loud as one channel measured
// once, so a mono file and its stereo copy measure the same.
void mapChannels(ebur128_state* st, int channels) {
    static constexpr int kMaps[8][8] = {
        {EBUR128_LEFT},
        {EBUR128_LEFT, EBUR128_RIGHT},
        {EBUR128_LEFT, EBUR128_RIGHT, EBUR128_CENTER},
        {EBUR128_LEFT, EBUR128_RIGHT, EBUR128_LEFT_SURROUND, EBUR128_RIGHT_SURROUND},  // quad
        {EBUR128_LEFT, EBUR128_RIGHT, EBUR128_CENTER, EBUR128_LEFT_SURROUND, EBUR128_RIGHT_SURROUND},
        // 5.1: L R C LFE Ls Rs; the LFE does not count.
        {EBUR128_LEFT, EBUR128_RIGHT, EBUR128_CENTER, EBUR128_UNUSED, EBUR128_LEFT_SURROUND, EBUR128_RIGHT_SURROUND},
        // 6.1: ... back centre.
        {EBUR128_LEFT, EBUR128_RIGHT, EBUR128_CENTER, EBUR128_UNUSED, EBUR128_LEFT_SURROUND, EBUR128_RIGHT_SURROUND,
         EBUR128_Mp180},
        // 7.1: L R C LFE, back pair (weight 1), side pair (weight 1.41).
        {EBUR128_LEFT, EBUR128_RIGHT, EBUR128_CENTER, EBUR128_UNUSED, EBUR128_Mp135, EBUR128_Mm135, EBUR128_Mp090,
         EBUR128_Mm090},
    };
    for (int c = 0; c < channels; ++c)
        ebur128_set_channel(st, static_cast<unsigned>(c), kMaps[channels - 1][c]);
}

struct Loudness {
    double lufs = kMinDb;
    double rangeLu = 0.0;
    bool failed = false;
};

// Helper thread; publishes progress up to `share`.
Loudness measureLoudness(const AudioData& a, Work& work, double share) {
    Loudness out;
    ebur128_state* st = ebur128_init(static_cast<unsigned>(a.channels), static_cast<unsigned long>(a.sampleRate),
                                     EBUR128_MODE_I | EBUR128_MODE_LRA);
    if (!st) {
        out.failed = true;
        return out;
    }
    mapChannels(st, a.channels);
    const std::int64_t chunk = std::max<std::int64_t>(4096, a.sampleRate);
    for (std::int64_t f = 0; f < a.frames; f += chunk) {
        if (work.cancelled.load()) break;
        const std::int64_t n = std::min(chunk, a.frames - f);
        if (ebur128_add_frames_float(st, a.samples.data() + f * a.channels, static_cast<std::size_t>(n)) !=
            EBUR128_SUCCESS) {
            out.failed = true;
            break;
        }
        work.helperDone = share * static_cast<double>(f + n) / static_cast<double>(a.frames);
    }
    double v = 0;
    // -HUGE_VAL when too short (< 400 ms) or everything is under the -70 LUFS gate.
    if (!out.failed && ebur128_loudness_global(st, &v) == EBUR128_SUCCESS && std::isfinite(v))
        out.lufs = std::max(kMinDb, v);
    if (!out.failed && ebur128_loudness_range(st, &v) == EBUR128_SUCCESS && std::isfinite(v)) out.rangeLu = v;
    ebur128_destroy(&st);
    return out;
}

// -------------------------------------------------------------- true peak

// BS.1770-4 Annex 2 true peak: 4x oversampling below 96 kHz (2x below
// 192 kHz, none above) with a 49-tap Hann-windowed sinc, the design
// libebur128 uses; the result is at least the sample peak. libebur128's own
// true-peak mode costs ~1.8 s for five minutes of stereo, so this one is
// vectorised and skips blocks that cannot beat the largest peak found so
// far (an interpolated value is at most sum|h| times the largest input
// sample it is made of), and both threads can work on it: the helper after
// the loudness, the calling thread after the tempo.
class TruePeak {
public:
    static constexpr int kBlock = 1024;  // frames per block

    // `blockMax[b]`: the largest |sample| of any channel in input block b.
    TruePeak(const AudioData& a, const std::vector<float>& blockMax, float samplePeak)
        : a_(a), factor_(a.sampleRate < 96000 ? 4 : a.sampleRate < 192000 ? 2 : 1), best_(samplePeak) {
        if (factor_ == 1) return;
        constexpr int kTaps = 49;
        perPhase_ = (kTaps - 1) / factor_;  // the phase-0 taps are a plain delay: skipped
        phases_.assign(static_cast<std::size_t>(factor_ - 1), std::vector<float>(static_cast<std::size_t>(perPhase_)));
        for (int j = 0; j < kTaps; ++j) {
            const int phase = j % factor_;
            if (phase == 0) continue;
            const double m = j - (kTaps - 1) / 2.0;
            const double x = m * M_PI / factor_;
            const double window = 0.5 * (1 - std::cos(2 * M_PI * j / (kTaps - 1)));
            phases_[static_cast<std::size_t>(phase - 1)][static_cast<std::size_t>(j / factor_)] =
                static_cast<float>(std::sin(x) / x * window);
        }
        double gain = 0;  // the largest sum |h| of a phase
        for (const auto& h : phases_) {
            double g = 0;
            for (float c : h) g += std::fabs(c);
            gain = std::max(gain, g);
        }
        // Output block b (positions n in [b*kBlock, (b+1)*kBlock), the last
        // one reaching perPhase_ past the end) reads input blocks b-1 and b;
        // the most promising first.
        const std::int64_t nOut = (a.frames + perPhase_ + kBlock - 1) / kBlock;
        const auto inMax = [&](std::int64_t b) {
            return b >= 0 && b < static_cast<std::int64_t>(blockMax.size()) ? blockMax[static_cast<std::size_t>(b)] : 0.0f;
        };
        for (int c = 0; c < a.channels; ++c)
            for (std::int64_t b = 0; b < nOut; ++b) {
                const double bound = gain * std::max(inMax(b - 1), inMax(b));
                if (bound > samplePeak) todo_.push_back({bound, c, b});
            }
        std::sort(todo_.begin(), todo_.end(), [](const Candidate& x, const Candidate& y) { return x.bound > y.bound; });
    }

    // Either thread, both at once if they like. Returns false when
    // `keepGoing` (called every 32 blocks with the fraction done) says stop.
    template <typename KeepGoing>
    bool work(KeepGoing keepGoing) {
        std::vector<float> in(static_cast<std::size_t>(kBlock + perPhase_));
        std::vector<float> acc(static_cast<std::size_t>(kBlock));
        for (;;) {
            const std::size_t i = next_.fetch_add(1);
            if (i >= todo_.size()) return true;
            const Candidate& cand = todo_[i];
            if (cand.bound <= best_.load()) {
                next_ = todo_.size();  // sorted: nothing after it can win either
                return true;
            }
            // in[k] = x[start - (perPhase_ - 1) + k], zero outside the file.
            const std::int64_t first = cand.block * kBlock - (perPhase_ - 1);
            for (std::size_t k = 0; k < in.size(); ++k) {
                const std::int64_t f = first + static_cast<std::int64_t>(k);
                const bool inside = f >= 0 && f < a_.frames;
                in[k] = inside ? a_.samples[static_cast<std::size_t>(f * a_.channels + cand.channel)] : 0.0f;
            }
            float peak = 0;
            for (const auto& h : phases_) peak = std::max(peak, blockPeak(h, in.data(), acc.data()));
            float seen = best_.load();
            while (peak > seen && !best_.compare_exchange_weak(seen, peak)) {
            }
            if ((i & 31) == 31 && !keepGoing(static_cast<double>(i) / static_cast<double>(todo_.size()))) return false;
        }
    }

    double result() const { return best_.load(); }  // linear

private:
    struct Candidate {
        double bound;
        int channel;
        std::int64_t block;
    };

    // max |y[n]| over the block, y[n] = sum_i h[i] * x[n - i] with x[n] at
    // in[n + perPhase_ - 1].
    float blockPeak(const std::vector<float>& h, const float* in, float* acc) const {
        std::fill(acc, acc + kBlock, 0.0f);
        for (int i = 0; i < perPhase_; ++i)
            multiplyAdd<kBlock>(acc, in + (perPhase_ - 1 - i), h[static_cast<std::size_t>(i)]);
        return scan(acc, kBlock).peak();
    }

    const AudioData& a_;
    int factor_;
    int perPhase_ = 0;
    std::vector<std::vector<float>> phases_;  // phases 1..factor-1
    std::vector<Candidate> todo_;
    std::atomic<std::size_t> next_{0};
    std::atomic<float> best_;
};

// -------------------------------------------------------------- structure

// Marked changes of energy: RMS per 0.5 s in dB (floor -80); a marker where
// the mean of the next 2 s differs from the mean of the last 2 s by 6 dB or
// more and that difference is the largest within ±2 s. Markers closer than
// 1 s to the leading/trailing silence (which the silence fields already
// give) are left out.
std::vector<double> structureMarkers(const AudioData& a, double soundFrom, double soundTo) {
    const auto win = static_cast<std::int64_t>(std::max(1, a.sampleRate / 2));
    const std::int64_t n = a.frames / win;
    std::vector<double> db(static_cast<std::size_t>(n));
    for (std::int64_t w = 0; w < n; ++w) {
        const Span s = scan(a.samples.data() + w * win * a.channels, static_cast<std::size_t>(win * a.channels));
        const double meanSquare = s.sumSq / static_cast<double>(win * a.channels);
        db[static_cast<std::size_t>(w)] = std::max(-80.0, 10 * std::log10(meanSquare + 1e-20));
    }
    constexpr int kSide = 4;  // windows on each side (2 s)
    std::vector<double> novelty(static_cast<std::size_t>(n), 0.0);
    for (std::int64_t i = kSide; i + kSide <= n; ++i) {
        double before = 0, after = 0;
        for (int k = 0; k < kSide; ++k)
            before += db[static_cast<std::size_t>(i - 1 - k)], after += db[static_cast<std::size_t>(i + k)];
        novelty[static_cast<std::size_t>(i)] = std::fabs(after - before) / kSide;
    }
    std::vector<double> out;
    const double step = static_cast<double>(win) / a.sampleRate;
    for (std::int64_t i = kSide; i + kSide <= n; ++i) {
        const double v = novelty[static_cast<std::size_t>(i)];
        if (v < 6.0) continue;
        bool peak = true;
        for (std::int64_t k = std::max<std::int64_t>(0, i - kSide); k <= std::min(n - 1, i + kSide) && peak; ++k)
            if (const double o = novelty[static_cast<std::size_t>(k)]; o > v || (k < i && o == v)) peak = false;
        const double t = static_cast<double>(i) * step;
        if (peak && t > soundFrom + 1.0 && t < soundTo - 1.0) out.push_back(t);
    }
    return out;
}

// ------------------------------------------------------------------- levels

Status checkInput(const AudioData& a) {
    if (a.sampleRate < 1000 || a.sampleRate > 768000)
        return makeError(Errc::bad_request, "sample_rate",
                         "the sample rate must be 1000 to 768000 Hz, not " + std::to_string(a.sampleRate));
    if (a.channels < 1 || a.channels > 8)
        return makeError(Errc::bad_request, "channels",
                         "1 to 8 channels can be analysed, not " + std::to_string(a.channels));
    if (a.frames < 1) return makeError(Errc::bad_request, "frames", "there is no audio to analyse");
    if (a.samples.size() != static_cast<std::size_t>(a.frames) * static_cast<std::size_t>(a.channels))
        return makeError(Errc::bad_request, "frames", "the sample count does not match frames x channels");
    return {};
}

Result<Analysis> analyseImpl(const AudioData& a, const AnalysisOptions& o, const Progress& progress) {
    if (auto st = checkInput(a); !st) return st.error();
    // Shares of the work (CPU time measured on five minutes of stereo):
    // loudness ~0.42 s and true peak 0.02-0.24 s on the helper thread,
    // tempo ~0.5 s on this one, the scans ~0.05 s.
    Work work(progress, o.tempo ? 0.45 : 0.9);

    Analysis r;
    r.sampleRate = a.sampleRate;
    r.channels = a.channels;
    r.frames = a.frames;
    r.durationS = static_cast<double>(a.frames) / a.sampleRate;

    // Sample peak, per-block peaks (for the true peak) and a non-finite check.
    const std::int64_t blocks = (a.frames + TruePeak::kBlock - 1) / TruePeak::kBlock;
    std::vector<float> blockMax(static_cast<std::size_t>(blocks));
    float peak = 0, poison = 0;
    for (std::int64_t b = 0; b < blocks; ++b) {
        const std::int64_t from = b * TruePeak::kBlock, to = std::min(a.frames, from + TruePeak::kBlock);
        const Span s = scan(a.samples.data() + from * a.channels, static_cast<std::size_t>((to - from) * a.channels));
        blockMax[static_cast<std::size_t>(b)] = s.peak();
        peak = std::max(peak, s.peak());
        poison += s.poison;
        if ((b & 1023) == 1023 && !work.tick(0.03 * static_cast<double>(b) / static_cast<double>(blocks)))
            return cancelledError();
    }
    if (!std::isfinite(poison))
        return makeError(Errc::bad_request, "samples", "the audio holds non-finite samples (NaN or infinity)");
    r.peakDb = toDb(peak);

    // Loudness, then the true peak, on a helper thread; this thread joins in
    // on the true peak when it is done with the rest.
    TruePeak truePeak(a, blockMax, peak);
    auto helper = std::async(std::launch::async, [&a, &work, &truePeak] {
        Loudness l = measureLoudness(a, work, 0.85);
        if (!work.cancelled.load())
            truePeak.work([&work](double done) {
                work.helperDone = 0.85 + 0.15 * done;
                return !work.cancelled.load();
            });
        work.helperDone = 1.0;
        return l;
    });
    // From here on, leave only after the helper thread has finished.
    const auto finishHelper = [&]() {
        while (helper.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) work.report();
        return helper.get();
    };
    const auto cancelled = [&]() -> Result<Analysis> {
        work.cancelled = true;
        finishHelper();
        return cancelledError();
    };

    // Leading/trailing silence: the first and last frame with any channel
    // above the threshold.
    const float threshold = static_cast<float>(std::pow(10.0, o.silenceThresholdDb / 20.0));
    const auto total = static_cast<std::int64_t>(a.samples.size());
    std::int64_t first = 0;
    while (first < total && std::fabs(a.samples[static_cast<std::size_t>(first)]) <= threshold) ++first;
    std::int64_t last = total - 1;
    while (last >= first && std::fabs(a.samples[static_cast<std::size_t>(last)]) <= threshold) --last;
    if (first >= total) {
        r.leadingSilenceS = r.trailingSilenceS = r.durationS;  // all of it is silence, from either end
    } else {
        r.leadingSilenceS = static_cast<double>(first / a.channels) / a.sampleRate;
        r.trailingSilenceS = static_cast<double>(a.frames - 1 - last / a.channels) / a.sampleRate;
    }

    // Waveform overview.
    const std::int64_t columns = std::min<std::int64_t>(std::max(0, o.waveformColumns), a.frames);
    r.waveformMin.resize(static_cast<std::size_t>(columns));
    r.waveformMax.resize(static_cast<std::size_t>(columns));
    const auto scale = [](float v) { return static_cast<std::int8_t>(std::lround(std::clamp(v, -1.0f, 1.0f) * 127.0f)); };
    for (std::int64_t c = 0; c < columns; ++c) {
        const std::int64_t from = a.frames * c / columns, to = a.frames * (c + 1) / columns;
        const Span s = scan(a.samples.data() + from * a.channels, static_cast<std::size_t>((to - from) * a.channels));
        r.waveformMin[static_cast<std::size_t>(c)] = scale(s.lo);
        r.waveformMax[static_cast<std::size_t>(c)] = scale(s.hi);
    }
    if (!work.tick(0.06)) return cancelled();

    const double soundFrom = r.leadingSilenceS, soundTo = r.durationS - r.trailingSilenceS;
    // The structure markers after the tempo analysis (which starts its
    // result afresh).
    std::vector<double> structure = structureMarkers(a, soundFrom, soundTo);
    if (!work.tick(o.tempo ? 0.09 : 1.0)) return cancelled();
    if (o.tempo && !analyseTempo(a, {r.durationS, soundFrom, soundTo}, r.tempo, work)) return cancelled();
    r.tempo.structure = std::move(structure);

    if (!truePeak.work([&work](double) { return work.report(); })) return cancelled();
    const Loudness l = finishHelper();
    if (work.cancelled.load()) return cancelledError();
    if (l.failed) return makeError(Errc::internal, "loudness", "the loudness measurement failed (out of memory?)");
    r.loudnessLufs = l.lufs;
    r.loudnessRangeLu = l.rangeLu;
    r.truePeakDb = toDb(truePeak.result());
    work.tick(1.0);  // the last report (0.999); cancelling now has nothing left to stop
    return r;
}

// ------------------------------------------------------------------- JSON

json::array toArray(const std::vector<double>& v) {
    json::array a;
    a.reserve(v.size());
    for (double x : v) a.emplace_back(x);
    return a;
}

json::array toArray(const std::vector<std::int8_t>& v) {
    json::array a;
    a.reserve(v.size());
    for (std::int8_t x : v) a.emplace_back(static_cast<std::int64_t>(x));
    return a;
}

Error badMember(const std::string& path, const std::string& what) {
    return makeError(Errc::bad_request, path, "member '" + path + "' " + what);
}

// Reads members of one JSON object, naming the full path in errors.
class Reader {
public:
    Reader(const json::value& v, std::string path) : path_(std::move(path)) {
        if (v.is_object()) obj_ = &v.as_object();
    }
    bool isObject() const { return obj_ != nullptr; }
    std::string name(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
    const json::value* find(const char* key) const { return obj_->if_contains(key); }

    Status number(const char* key, double& out) const {
        const json::value* v = find(key);
        if (!v) return badMember(name(key), "is missing");
        if (!v->is_number()) return badMember(name(key), "must be a number");
        out = v->to_number<double>();
        return {};
    }
    Status integer(const char* key, std::int64_t& out, std::int64_t lo, std::int64_t hi) const {
        const json::value* v = find(key);
        if (!v) return badMember(name(key), "is missing");
        if (!v->is_int64() || v->as_int64() < lo || v->as_int64() > hi)
            return badMember(name(key), "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
        out = v->as_int64();
        return {};
    }
    Status numbers(const char* key, std::vector<double>& out) const {
        const json::value* v = find(key);
        if (!v) return badMember(name(key), "is missing");
        if (!v->is_array()) return badMember(name(key), "must be an array of numbers");
        out.clear();
        for (const auto& x : v->as_array()) {
            if (!x.is_number()) return badMember(name(key), "must be an array of numbers");
            out.push_back(x.to_number<double>());
        }
        return {};
    }
    Status levels(const char* key, std::vector<std::int8_t>& out) const {
        const json::value* v = find(key);
        if (!v) return badMember(name(key), "is missing");
        const char* what = "must be an array of whole numbers from -127 to 127";
        if (!v->is_array()) return badMember(name(key), what);
        out.clear();
        for (const auto& x : v->as_array()) {
            if (!x.is_int64() || x.as_int64() < -127 || x.as_int64() > 127) return badMember(name(key), what);
            out.push_back(static_cast<std::int8_t>(x.as_int64()));
        }
        return {};
    }

private:
    const json::object* obj_ = nullptr;
    std::string path_;
};

#define CUEBOX_TRY(expr)                   \
    do {                                   \
        if (Status s_ = (expr); !s_) return s_.error(); \
    } while (0)

Result<TempoAnalysis> tempoFromJson(const json::value& v) {
    Reader r(v, "tempo");
    if (!r.isObject()) return badMember("tempo", "must be an object");
    TempoAnalysis t;
    CUEBOX_TRY(r.number("bpm", t.bpm));
    CUEBOX_TRY(r.number("confidence", t.confidence));
    CUEBOX_TRY(r.numbers("beats", t.beats));
    CUEBOX_TRY(r.numbers("structure", t.structure));
    const auto array = [&](const char* key) -> Result<const json::array*> {
        const json::value* a = r.find(key);
        if (!a) return badMember(r.name(key), "is missing");
        if (!a->is_array()) return badMember(r.name(key), "must be an array of objects");
        return &a->as_array();
    };
    auto alts = array("alternatives");
    if (!alts) return alts.error();
    for (std::size_t i = 0; i < (*alts)->size(); ++i) {
        Reader e((**alts)[i], "tempo.alternatives[" + std::to_string(i) + "]");
        if (!e.isObject()) return badMember("tempo.alternatives[" + std::to_string(i) + "]", "must be an object");
        TempoAlternative x;
        CUEBOX_TRY(e.number("bpm", x.bpm));
        CUEBOX_TRY(e.number("confidence", x.confidence));
        t.alternatives.push_back(x);
    }
    auto sections = array("sections");
    if (!sections) return sections.error();
    for (std::size_t i = 0; i < (*sections)->size(); ++i) {
        Reader e((**sections)[i], "tempo.sections[" + std::to_string(i) + "]");
        if (!e.isObject()) return badMember("tempo.sections[" + std::to_string(i) + "]", "must be an object");
        TempoSection s;
        CUEBOX_TRY(e.number("start_s", s.startS));
        CUEBOX_TRY(e.number("end_s", s.endS));
        CUEBOX_TRY(e.number("bpm", s.bpm));
        CUEBOX_TRY(e.number("confidence", s.confidence));
        CUEBOX_TRY(e.number("transition_confidence", s.transitionConfidence));
        t.sections.push_back(s);
    }
    return t;
}

}  // namespace

Result<Analysis> analyse(const AudioData& a, const AnalysisOptions& o, const Progress& progress) {
    try {
        return analyseImpl(a, o, progress);
    } catch (const std::exception& e) {
        return makeError(Errc::internal, "analysis", std::string("the analysis failed: ") + e.what());
    }
}

double gainToTargetDb(const Analysis& a, double targetLufs, double ceilingDbtp) {
    if (a.loudnessLufs <= kMinDb) return 0.0;
    double gain = targetLufs - a.loudnessLufs;
    if (a.truePeakDb > kMinDb) gain = std::min(gain, ceilingDbtp - a.truePeakDb);
    return gain;
}

json::object toJson(const Analysis& a, bool withWaveform) {
    json::object o;
    o["sample_rate"] = a.sampleRate;
    o["channels"] = a.channels;
    o["frames"] = a.frames;
    o["duration_s"] = a.durationS;
    o["peak_db"] = a.peakDb;
    o["true_peak_db"] = a.truePeakDb;
    o["loudness_lufs"] = a.loudnessLufs;
    o["loudness_range_lu"] = a.loudnessRangeLu;
    o["leading_silence_s"] = a.leadingSilenceS;
    o["trailing_silence_s"] = a.trailingSilenceS;
    if (withWaveform) o["waveform"] = json::object{{"min", toArray(a.waveformMin)}, {"max", toArray(a.waveformMax)}};
    json::object t;
    t["bpm"] = a.tempo.bpm;
    t["confidence"] = a.tempo.confidence;
    json::array alts;
    for (const auto& x : a.tempo.alternatives) alts.push_back(json::object{{"bpm", x.bpm}, {"confidence", x.confidence}});
    t["alternatives"] = std::move(alts);
    t["beats"] = toArray(a.tempo.beats);
    json::array sections;
    for (const auto& s : a.tempo.sections)
        sections.push_back(json::object{{"start_s", s.startS},
                                        {"end_s", s.endS},
                                        {"bpm", s.bpm},
                                        {"confidence", s.confidence},
                                        {"transition_confidence", s.transitionConfidence}});
    t["sections"] = std::move(sections);
    t["structure"] = toArray(a.tempo.structure);
    o["tempo"] = std::move(t);
    return o;
}

Result<Analysis> analysisFromJson(const json::value& v) {
    Reader r(v, "");
    if (!r.isObject()) return makeError(Errc::bad_request, "analysis", "an analysis must be a JSON object");
    Analysis a;
    std::int64_t n = 0;
    CUEBOX_TRY(r.integer("sample_rate", n, 1, 768000));
    a.sampleRate = static_cast<int>(n);
    CUEBOX_TRY(r.integer("channels", n, 1, 8));
    a.channels = static_cast<int>(n);
    CUEBOX_TRY(r.integer("frames", a.frames, 0, std::numeric_limits<std::int64_t>::max()));
    CUEBOX_TRY(r.number("duration_s", a.durationS));
    CUEBOX_TRY(r.number("peak_db", a.peakDb));
    CUEBOX_TRY(r.number("true_peak_db", a.truePeakDb));
    CUEBOX_TRY(r.number("loudness_lufs", a.loudnessLufs));
    CUEBOX_TRY(r.number("loudness_range_lu", a.loudnessRangeLu));
    CUEBOX_TRY(r.number("leading_silence_s", a.leadingSilenceS));
    CUEBOX_TRY(r.number("trailing_silence_s", a.trailingSilenceS));
    if (const json::value* w = r.find("waveform")) {
        Reader wr(*w, "waveform");
        if (!wr.isObject()) return badMember("waveform", "must be an object with min and max");
        CUEBOX_TRY(wr.levels("min", a.waveformMin));
        CUEBOX_TRY(wr.levels("max", a.waveformMax));
        if (a.waveformMin.size() != a.waveformMax.size())
            return badMember("waveform", "must have as many min as max values");
    }
    const json::value* t = r.find("tempo");
    if (!t) return badMember("tempo", "is missing");
    auto tempo = tempoFromJson(*t);
    if (!tempo) return tempo.error();
    a.tempo = std::move(*tempo);
    return a;
}

}  // namespace cuebox::media
