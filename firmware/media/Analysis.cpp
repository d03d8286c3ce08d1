// Media analysis. Two threads share the work: a helper thread runs
// libebur128 (integrated loudness and loudness range, the largest single
// part) and then the true peak; the calling thread scans levels, silence,
// waveform and structure, analyses the tempo, then joins in on the true
// peak. Only the calling thread calls `progress`.
//
// Tempo, on a mono mix decimated to ~22-24 kHz (aubio's cost is per hop and
// halves; its hop stays 10.7-11.6 ms):
//  1. An onset strength curve (ODF): the rises of log energy in three bands
//     (< 150 Hz, ~800 Hz, > 3 kHz) over 5.3-5.8 ms frames, computed here
//     because it is cheap (aubio's spends most of its time in atan2).
//  2. A tempogram: the normalised autocorrelation of the ODF over 10.5 s
//     windows every 0.5 s. Each lag is scored with its double (a steady beat
//     repeats) and a prior around 120 bpm (which picks the metrical level);
//     the pulse strength is the autocorrelation at one and at two or three
//     periods, the lower of the two.
//  3. Sections: runs of windows with one tempo (within 3%) or with no steady
//     beat; runs under 8 s join their closer neighbour; each boundary then
//     moves to where the onsets stop fitting one tempo and fit the next.
//  4. Beats: aubio's tracker (new_aubio_tempo "default") runs afresh over
//     each section with a beat, so its slow change of tempo (~10 s) never
//     crosses a boundary. Its beats move onto the clear onset within ±50 ms
//     (aubio's period is quantised to its hop, so they drift by up to
//     ~30 ms between its re-phasings every 1.5 s); its first guesses, gaps
//     and strays give way to the section's beat grid, which also reaches
//     back over the ~3 s aubio needs before its first beat. The section's
//     tempo is a least-squares fit of those beats.
#include "media/Analysis.h"

#include <aubio/aubio.h>
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

// out[i] += c * x[i] for i < N. A function of its own with restrict
// parameters and a constant count, so that -O2 vectorises it.
template <int N>
void multiplyAdd(float* __restrict out, const float* __restrict x, float c) {
    for (int i = 0; i < N; ++i) out[i] += c * x[i];
}

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

// --------------------------------------------------------------- progress

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

// ------------------------------------------------------------ small tools

// RBJ cookbook biquad (direct form I, float state is enough here).
struct Biquad {
    float b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
    float x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    enum class Kind { lowpass, bandpass, highpass };
    Biquad(Kind k, double f0, double q, double rate) {
        const double w = 2 * M_PI * f0 / rate, cw = std::cos(w), alpha = std::sin(w) / (2 * q), a0 = 1 + alpha;
        double nb0, nb1, nb2;
        if (k == Kind::lowpass) {
            nb0 = (1 - cw) / 2, nb1 = 1 - cw, nb2 = (1 - cw) / 2;
        } else if (k == Kind::highpass) {
            nb0 = (1 + cw) / 2, nb1 = -(1 + cw), nb2 = (1 + cw) / 2;
        } else {
            nb0 = alpha, nb1 = 0, nb2 = -alpha;
        }
        b0 = static_cast<float>(nb0 / a0), b1 = static_cast<float>(nb1 / a0), b2 = static_cast<float>(nb2 / a0);
        a1 = static_cast<float>(-2 * cw / a0), a2 = static_cast<float>((1 - alpha) / a0);
    }
    float operator()(float x) {
        const float y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
        x2 = x1, x1 = x, y2 = y1, y1 = y;
        return y;
    }
};

// Parabolic interpolation of a peak at i: offset in -0.5..0.5.
double peakOffset(double left, double mid, double right) {
    const double d = left - 2 * mid + right;
    return d < 0 ? std::clamp(0.5 * (left - right) / d, -0.5, 0.5) : 0.0;
}

// ------------------------------------------------------------------ tempo

constexpr double kMinBpm = 40.0, kMaxBpm = 250.0;
constexpr double kWindowS = 10.5;      // tempogram window
constexpr double kMinSectionS = 8.0;   // shorter runs join a neighbour
constexpr double kSameTempo = 0.03;    // relative difference still "the same tempo"
// Pulse strength: the autocorrelation of the ODF at the beat period and at
// two or three periods (a steady beat repeats), the lower of the two. White
// noise reaches ~0.22 at most over 10 s windows, random syllables ~0.15,
// synthetic drum loops 0.75-0.85, a click track 0.95.
constexpr double kBeatStrength = 0.25;

// Preference for tempos near 120 bpm (one octave = one standard deviation);
// it decides between metrical levels (60 / 120 / 240) that the
// autocorrelation alone cannot tell apart.
double tempoPrior(double bpm) {
    const double o = std::log2(bpm / 120.0);
    return std::exp(-0.5 * o * o);
}

// Pulse strength 0.25 (the least called a steady beat) maps to ~0.3, 0.5
// and above (a clear, regular beat) to 1.
double confidenceOf(double strength) { return std::clamp((strength - 0.15) / 0.35, 0.0, 1.0); }

// The mono mix decimated to ~22-24 kHz with its onset strength curves.
struct TempoInput {
    double rate = 0;              // of `mono`
    int hop = 256;                // aubio's hop (and the coarse ODF frame)
    std::vector<float> mono;
    std::vector<float> odfFine;   // frames of hop/2
    std::vector<float> odfCoarse;  // frames of hop, smoothed
    std::vector<double> fineSum, fineSq;  // prefix sums of odfFine and its square
    double fineRate() const { return rate / (hop / 2); }
    double coarseRate() const { return rate / hop; }
};

// Calling thread. False when cancelled.
bool prepareTempo(const AudioData& a, TempoInput& t, Work& work) {
    const int d = std::max(1, a.sampleRate / 22050);
    t.rate = static_cast<double>(a.sampleRate) / d;
    t.hop = t.rate >= 16000 ? 256 : 128;
    // Mono mix, low-passed (13-tap Hann sinc per factor of 2) and decimated.
    std::vector<float> h;
    if (d > 1) {
        const int taps = 6 * d + 1;
        double sum = 0;
        for (int j = 0; j < taps; ++j) {
            const double m = j - (taps - 1) / 2.0;
            const double fc = 0.45 / d;  // of the input rate
            const double s = m == 0 ? 2 * fc : std::sin(2 * M_PI * fc * m) / (M_PI * m);
            const double w = 0.5 * (1 - std::cos(2 * M_PI * (j + 1) / (taps + 1)));
            h.push_back(static_cast<float>(s * w));
            sum += s * w;
        }
        for (float& c : h) c = static_cast<float>(c / sum);
    } else {
        h = {1.0f};
    }
    // Chunks of kChunk outputs, each made from a polyphase copy of the mono
    // mix that stays in the cache: phase q holds frames
    // (i0 - pad + m) * d + q for m = 0, 1, ..., so output i0 + i =
    // sum_j h[j] mix[(i0 + i) * d + j - half] reads phase (j - half) mod d
    // at m = i + pad + floor((j - half) / d), and each tap is one contiguous
    // multiply-add over the chunk.
    const int half = static_cast<int>(h.size()) / 2;
    const std::int64_t n = a.frames / d;
    constexpr int kChunk = 2048;  // a constant count: vectorised
    const std::int64_t pad = half / d + 1;
    const std::int64_t span = kChunk + 2 * pad + 1;
    std::vector<float> phases(static_cast<std::size_t>(span * d));
    t.mono.assign(static_cast<std::size_t>((n + kChunk - 1) / kChunk * kChunk), 0.0f);
    const float scale = 1.0f / static_cast<float>(a.channels);
    std::size_t chunks = 0;
    for (std::int64_t i0 = 0; i0 < n; i0 += kChunk) {
        for (int q = 0; q < d; ++q) {
            // Frames f0 + m * d, zero outside the file.
            const std::int64_t f0 = (i0 - pad) * d + q;
            const std::int64_t mLo = std::clamp<std::int64_t>((-f0 + d - 1) / d, 0, span);
            const std::int64_t mHi = std::clamp<std::int64_t>((a.frames - f0 + d - 1) / d, mLo, span);
            float* __restrict dst = phases.data() + q * span;
            std::fill(dst, dst + mLo, 0.0f);
            std::fill(dst + mHi, dst + span, 0.0f);
            const std::int64_t stride = static_cast<std::int64_t>(d) * a.channels;
            if (mHi <= mLo) continue;
            const float* src = a.samples.data() + (f0 + mLo * d) * a.channels;
            if (a.channels == 2) {
                for (std::int64_t m = mLo; m < mHi; ++m, src += stride) dst[m] = (src[0] + src[1]) * 0.5f;
            } else if (a.channels == 1) {
                for (std::int64_t m = mLo; m < mHi; ++m, src += stride) dst[m] = src[0];
            } else {
                for (std::int64_t m = mLo; m < mHi; ++m, src += stride) {
                    float v = 0;
                    for (int c = 0; c < a.channels; ++c) v += src[c];
                    dst[m] = v * scale;
                }
            }
        }
        for (std::size_t j = 0; j < h.size(); ++j) {
            const std::int64_t off = static_cast<std::int64_t>(j) - half;
            const std::int64_t q = ((off % d) + d) % d, k = (off - q) / d;
            multiplyAdd<kChunk>(t.mono.data() + i0, phases.data() + q * span + pad + k, h[j]);
        }
        if ((++chunks & 15) == 0 && !work.tick(0.09 + 0.07 * static_cast<double>(i0) / static_cast<double>(n))) return false;
    }
    t.mono.resize(static_cast<std::size_t>(n));

    // Onset strength: per frame of hop/2 samples, the energy of three bands
    // over the last two frames, log-compressed, and the sum of the rises
    // against two frames before.
    const int fh = t.hop / 2;
    const std::size_t frames = t.mono.size() / static_cast<std::size_t>(fh);
    Biquad bands[3] = {{Biquad::Kind::lowpass, 150, 0.707, t.rate},
                       {Biquad::Kind::bandpass, 800, 0.5, t.rate},
                       {Biquad::Kind::highpass, 3000, 0.707, t.rate}};
    std::vector<float> energy[3];
    for (auto& e : energy) e.resize(frames);
    for (std::size_t fr = 0; fr < frames; ++fr) {
        if ((fr & 511) == 511 && !work.tick(0.16 + 0.05 * static_cast<double>(fr) / static_cast<double>(frames)))
            return false;
        const float* x = t.mono.data() + fr * static_cast<std::size_t>(fh);
        float e0 = 0, e1 = 0, e2 = 0;  // the three filters in one loop: independent chains run in parallel
        for (int i = 0; i < fh; ++i) {
            const float y0 = bands[0](x[i]), y1 = bands[1](x[i]), y2 = bands[2](x[i]);
            e0 += y0 * y0, e1 += y1 * y1, e2 += y2 * y2;
        }
        energy[0][fr] = e0 / static_cast<float>(fh);
        energy[1][fr] = e1 / static_cast<float>(fh);
        energy[2][fr] = e2 / static_cast<float>(fh);
    }
    constexpr double kGamma = 1e5;  // -50 dBFS sits at the knee of the log
    t.odfFine.assign(frames, 0.0f);
    std::vector<float> level(frames);
    for (int b = 0; b < 3; ++b) {
        for (std::size_t fr = 0; fr < frames; ++fr) {
            const double e = 0.5 * (energy[b][fr] + (fr > 0 ? energy[b][fr - 1] : 0.0f));
            level[fr] = static_cast<float>(std::log1p(kGamma * e));
        }
        // Rises under 0.1 (10% in energy) are ripple, not onsets: a steady
        // tone's energy per frame wobbles a few percent with its phase, and
        // that wobble is perfectly periodic.
        for (std::size_t fr = 2; fr < frames; ++fr) t.odfFine[fr] += std::max(0.0f, level[fr] - level[fr - 2] - 0.1f);
    }
    t.fineSum.assign(frames + 1, 0.0);
    t.fineSq.assign(frames + 1, 0.0);
    for (std::size_t fr = 0; fr < frames; ++fr) {
        t.fineSum[fr + 1] = t.fineSum[fr] + t.odfFine[fr];
        t.fineSq[fr + 1] = t.fineSq[fr] + static_cast<double>(t.odfFine[fr]) * t.odfFine[fr];
    }
    const std::size_t coarse = frames / 2;
    std::vector<float> raw(coarse);
    for (std::size_t k = 0; k < coarse; ++k) raw[k] = t.odfFine[2 * k] + t.odfFine[2 * k + 1];
    t.odfCoarse.assign(coarse, 0.0f);
    for (std::size_t k = 0; k < coarse; ++k)
        t.odfCoarse[k] = 0.25f * (k > 0 ? raw[k - 1] : 0.0f) + 0.5f * raw[k] + 0.25f * (k + 1 < coarse ? raw[k + 1] : 0.0f);
    return work.tick(0.22);
}

// Autocorrelation sums of the coarse ODF per 0.5 s block: windows (and the
// whole file) add blocks up.
struct Tempogram {
    int block = 0;  // coarse frames per block
    int maxLag = 0;
    std::size_t blocks = 0;
    std::vector<double> lagSums;  // blocks x (maxLag + 1): sum over t in block of c[t] c[t + lag]
    std::vector<double> sums;     // per block: sum of c[t]
    std::vector<double> counts;   // per block: frames

    // Normalised autocorrelation r[0..maxLag] over blocks [from, to).
    std::vector<double> acf(std::size_t from, std::size_t to) const {
        std::vector<double> r(static_cast<std::size_t>(maxLag + 1), 0.0);
        double s = 0, n = 0;
        for (std::size_t b = from; b < to; ++b) {
            const double* row = lagSums.data() + b * static_cast<std::size_t>(maxLag + 1);
            for (int l = 0; l <= maxLag; ++l) r[static_cast<std::size_t>(l)] += row[l];
            s += sums[b], n += counts[b];
        }
        if (n <= 0) return std::vector<double>(r.size(), 0.0);
        const double mean2 = (s / n) * (s / n) * n;
        const double var = r[0] - mean2;
        if (var <= 1e-12 * std::max(1.0, r[0])) return std::vector<double>(r.size(), 0.0);
        for (double& v : r) v = (v - mean2) / var;
        return r;
    }
};

Tempogram buildTempogram(const TempoInput& t) {
    Tempogram g;
    const double fr = t.coarseRate();
    g.block = std::max(1, static_cast<int>(std::lround(fr * 0.5)));
    g.maxLag = static_cast<int>(std::ceil(fr * 60.0 / kMinBpm * 3)) + 2;
    const auto& c = t.odfCoarse;
    g.blocks = (c.size() + static_cast<std::size_t>(g.block) - 1) / static_cast<std::size_t>(g.block);
    const std::size_t width = static_cast<std::size_t>(g.maxLag + 1);
    g.lagSums.assign(g.blocks * width, 0.0);
    g.sums.assign(g.blocks, 0.0);
    g.counts.assign(g.blocks, 0.0);
    for (std::size_t b = 0; b < g.blocks; ++b) {
        const std::size_t from = b * static_cast<std::size_t>(g.block);
        const std::size_t to = std::min(c.size(), from + static_cast<std::size_t>(g.block));
        double* row = g.lagSums.data() + b * width;
        for (std::size_t i = from; i < to; ++i) {
            g.sums[b] += c[i];
            const std::size_t lags = std::min(width, c.size() - i);
            const float ci = c[i];
            for (std::size_t l = 0; l < lags; ++l) row[l] += static_cast<double>(ci * c[i + l]);
        }
        g.counts[b] = static_cast<double>(to - from);
    }
    return g;
}

// Linear interpolation of r at a fractional lag.
double at(const std::vector<double>& r, double lag) {
    if (lag < 0 || lag >= static_cast<double>(r.size() - 1)) return 0.0;
    const auto i = static_cast<std::size_t>(lag);
    const double f = lag - static_cast<double>(i);
    return r[i] * (1 - f) + r[i + 1] * f;
}

// How well `lag` explains the autocorrelation: its own peak and the one at
// twice the lag (a steady beat repeats), weighted by the tempo prior.
double lagScore(const std::vector<double>& r, double lag, double frameRate) {
    const double own = at(r, lag), twice = std::max(0.0, at(r, 2 * lag));
    return (own + 0.5 * twice) / 1.5 * tempoPrior(60.0 * frameRate / lag);
}

struct LocalTempo {
    double bpm = 0;       // 0 = no steady beat
    double strength = 0;  // autocorrelation at the beat lag
};

LocalTempo bestTempo(const std::vector<double>& r, double frameRate) {
    const int lo = static_cast<int>(std::floor(60.0 * frameRate / kMaxBpm));
    const int hi = static_cast<int>(std::ceil(60.0 * frameRate / kMinBpm));
    int best = -1;
    double bestScore = 0;
    for (int l = std::max(2, lo); l <= hi && 2 * l + 1 < static_cast<int>(r.size()); ++l) {
        const double s = lagScore(r, l, frameRate);
        // Only local maxima of the autocorrelation are tempo candidates.
        if (s > bestScore && r[static_cast<std::size_t>(l)] >= r[static_cast<std::size_t>(l - 1)] &&
            r[static_cast<std::size_t>(l)] >= r[static_cast<std::size_t>(l + 1)]) {
            best = l, bestScore = s;
        }
    }
    if (best < 0) return {};
    const auto b = static_cast<std::size_t>(best);
    const double lag = best + peakOffset(r[b - 1], r[b], r[b + 1]);
    const double bpm = 60.0 * frameRate / lag;
    if (bpm < kMinBpm * 0.97 || bpm > kMaxBpm * 1.03) return {};
    return {bpm, std::min(at(r, lag), std::max(at(r, 2 * lag), at(r, 3 * lag)))};
}

bool sameTempo(double a, double b) { return a > 0 && b > 0 && std::fabs(std::log(a / b)) <= std::log1p(kSameTempo); }

struct Run {
    std::size_t from = 0, to = 0;  // tempogram blocks [from, to)
    double bpm = 0;
    double strength = 0;
};

// Splits the tempogram into runs of one tempo (or none).
std::vector<Run> findRuns(const std::vector<LocalTempo>& local, double blockS) {
    // Fold stray octave jumps (a window that read 60 instead of 120) onto
    // the most common tempo.
    std::vector<double> beatBpms;
    for (const auto& l : local)
        if (l.bpm > 0) beatBpms.push_back(l.bpm);
    std::vector<LocalTempo> frames = local;
    if (!beatBpms.empty()) {
        const auto middle = beatBpms.begin() + static_cast<std::ptrdiff_t>(beatBpms.size() / 2);
        std::nth_element(beatBpms.begin(), middle, beatBpms.end());
        const double ref = beatBpms[beatBpms.size() / 2];
        for (auto& f : frames)
            for (double k : {0.5, 2.0})
                if (sameTempo(f.bpm * k, ref)) f.bpm *= k;
    }
    std::vector<Run> runs;
    double logSum = 0;
    std::size_t logCount = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const auto& f = frames[i];
        const bool beat = f.bpm > 0;
        bool join = false;
        if (!runs.empty()) {
            const Run& r = runs.back();
            join = beat ? r.bpm > 0 && sameTempo(std::exp(logSum / static_cast<double>(logCount)), f.bpm) : r.bpm == 0;
        }
        if (!join) {
            runs.push_back({i, i, 0, 0});
            logSum = 0, logCount = 0;
        }
        Run& r = runs.back();
        r.to = i + 1;
        r.strength += f.strength;
        if (beat) {
            logSum += std::log(f.bpm), ++logCount;
            r.bpm = std::exp(logSum / static_cast<double>(logCount));
        }
    }
    for (auto& r : runs) r.strength /= static_cast<double>(r.to - r.from);
    const auto distance = [](const Run& x, const Run& y) {
        if (x.bpm == 0 || y.bpm == 0) return x.bpm == y.bpm ? 0.0 : 10.0;
        return std::fabs(std::log(x.bpm / y.bpm));
    };
    const auto length = [](const Run& r) { return r.to - r.from; };
    const auto minBlocks = static_cast<std::size_t>(std::ceil(kMinSectionS / blockS));
    for (;;) {
        // Neighbours of the same tempo become one run (weighted by length).
        for (std::size_t i = 1; i < runs.size();) {
            if (distance(runs[i - 1], runs[i]) <= std::log1p(kSameTempo)) {
                Run& p = runs[i - 1];
                const auto lp = static_cast<double>(length(p)), li = static_cast<double>(length(runs[i]));
                if (p.bpm > 0) p.bpm = std::exp((std::log(p.bpm) * lp + std::log(runs[i].bpm) * li) / (lp + li));
                p.strength = (p.strength * lp + runs[i].strength * li) / (lp + li);
                p.to = runs[i].to;
                runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(i));
            } else {
                ++i;
            }
        }
        if (runs.size() < 2) break;
        // The shortest run under the minimum joins its closer neighbour
        // (which keeps its tempo).
        std::size_t s = 0;
        for (std::size_t i = 1; i < runs.size(); ++i)
            if (length(runs[i]) < length(runs[s])) s = i;
        if (length(runs[s]) >= minBlocks) break;
        std::size_t into;
        if (s == 0) into = 1;
        else if (s + 1 == runs.size()) into = s - 1;
        else {
            const double dl = distance(runs[s - 1], runs[s]), dr = distance(runs[s + 1], runs[s]);
            into = dl < dr || (dl == dr && length(runs[s - 1]) >= length(runs[s + 1])) ? s - 1 : s + 1;
        }
        runs[into].from = std::min(runs[into].from, runs[s].from);
        runs[into].to = std::max(runs[into].to, runs[s].to);
        runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(s));
    }
    return runs;
}

// aubio over mono[from, to): beat times in seconds from the file start.
// Returns false when cancelled.
bool trackBeats(const TempoInput& t, std::size_t from, std::size_t to, std::vector<double>& beats, Work& work,
                std::size_t& processed, std::size_t total) {
    const auto hop = static_cast<uint_t>(t.hop);
    aubio_tempo_t* tracker = new_aubio_tempo("default", 2 * hop, hop, static_cast<uint_t>(std::lround(t.rate)));
    fvec_t* in = new_fvec(hop);
    fvec_t* out = new_fvec(2);
    bool ok = true;  // false: cancelled (a tracker that cannot be made finds no beats)
    if (tracker && in && out) {
        // aubio drops beats in hops under its silence threshold (-90 dB); a
        // click track is digital silence right before each click, so that
        // test is off (beats in leading/trailing silence are dropped later).
        aubio_tempo_set_silence(tracker, -std::numeric_limits<smpl_t>::infinity());
        std::size_t count = 0;
        for (std::size_t p = from; p + hop <= to; p += hop) {
            std::copy_n(t.mono.data() + p, hop, in->data);
            aubio_tempo_do(tracker, in, out);
            if (out->data[0] != 0)
                beats.push_back(static_cast<double>(from + aubio_tempo_get_last(tracker)) / t.rate);
            processed += hop;
            const double done = static_cast<double>(processed) / static_cast<double>(std::max<std::size_t>(1, total));
            if ((++count & 31) == 0 && !work.tick(0.28 + 0.72 * done)) {
                ok = false;
                break;
            }
        }
    }
    if (out) del_fvec(out);
    if (in) del_fvec(in);
    if (tracker) del_aubio_tempo(tracker);
    return ok;
}

// Moves a beat to the clear onset peak within ±50 ms (at most an eighth of
// the period), if there is one.
double refineBeat(const TempoInput& t, double s, double period) {
    const double fr = t.fineRate();
    const auto n = static_cast<std::int64_t>(t.odfFine.size());
    const auto centre = static_cast<std::int64_t>(std::lround(s * fr));
    const auto reach = static_cast<std::int64_t>(std::lround(std::min(0.05, period / 8) * fr));
    std::int64_t best = -1;
    for (std::int64_t i = std::max<std::int64_t>(1, centre - reach); i <= std::min(n - 2, centre + reach); ++i)
        if (best < 0 || t.odfFine[static_cast<std::size_t>(i)] > t.odfFine[static_cast<std::size_t>(best)]) best = i;
    if (best < 0) return s;
    // A clear peak stands well above the onset curve around it (±1 s).
    const auto ctx = static_cast<std::int64_t>(fr);
    const auto lo = static_cast<std::size_t>(std::max<std::int64_t>(0, best - ctx));
    const auto hi = static_cast<std::size_t>(std::min<std::int64_t>(n, best + ctx));
    const double cnt = static_cast<double>(hi - lo);
    const double mean = (t.fineSum[hi] - t.fineSum[lo]) / cnt;
    const double sd = std::sqrt(std::max(0.0, (t.fineSq[hi] - t.fineSq[lo]) / cnt - mean * mean));
    const auto b = static_cast<std::size_t>(best);
    if (t.odfFine[b] <= mean + 2 * sd || t.odfFine[b] <= 0) return s;
    return (static_cast<double>(best) + peakOffset(t.odfFine[b - 1], t.odfFine[b], t.odfFine[b + 1])) / fr;
}

// Least-squares beat period over beats that may skip one now and then.
double beatPeriod(const std::vector<double>& beats) {
    if (beats.size() < 4) return 0;
    std::vector<double> ibi;
    for (std::size_t i = 1; i < beats.size(); ++i) ibi.push_back(beats[i] - beats[i - 1]);
    std::nth_element(ibi.begin(), ibi.begin() + static_cast<std::ptrdiff_t>(ibi.size() / 2), ibi.end());
    const double p0 = ibi[ibi.size() / 2];
    if (p0 <= 0) return 0;
    double sn = 0, sb = 0, snn = 0, snb = 0;
    const auto m = static_cast<double>(beats.size());
    for (double b : beats) {
        const double k = std::round((b - beats[0]) / p0);
        sn += k, sb += b, snn += k * k, snb += k * b;
    }
    const double den = m * snn - sn * sn;
    return den > 0 ? (m * snb - sn * sb) / den : p0;
}

// Steadies aubio's beats: drops beats before the first run of four
// intervals within 10% of the median (aubio's first guesses, made before it
// locks), continues that grid backwards to `from` (aubio needs ~3 s before
// its first beat), and where a beat is missing, more than 8% off the local
// period or squeezed in between two, puts the grid's beat (moved onto its
// onset) in its place. Returns the beat period, 0 if none.
double settleBeats(const TempoInput& t, std::vector<double>& beats, double from) {
    double period = beatPeriod(beats);
    if (period <= 0) return 0;
    std::size_t first = 0;
    const auto steady = [&](std::size_t i) { return std::fabs(beats[i + 1] - beats[i] - period) <= 0.1 * period; };
    const auto steadyRun = [&](std::size_t i) { return steady(i) && steady(i + 1) && steady(i + 2) && steady(i + 3); };
    while (first + 4 < beats.size() && !steadyRun(first)) ++first;
    if (first + 4 >= beats.size()) return period;  // never steady: leave aubio's beats as they are
    beats.erase(beats.begin(), beats.begin() + static_cast<std::ptrdiff_t>(first));
    std::vector<double> before;
    for (double b = beats.front() - period; b >= from - 0.02; b -= period) before.push_back(refineBeat(t, b, period));
    beats.insert(beats.begin(), before.rbegin(), before.rend());

    std::vector<double> out{beats.front()};
    double p = period;
    std::vector<double> recent;
    for (std::size_t i = 1; i < beats.size();) {
        const double expected = out.back() + p, b = beats[i];
        if (b < out.back() + 0.6 * p) {
            ++i;  // squeezed in between two
        } else if (std::fabs(b - expected) <= 0.08 * p) {
            out.push_back(b), ++i;
        } else {
            out.push_back(refineBeat(t, expected, p));
            if (b < expected) ++i;  // early: replaced; late: looked at again against the next grid beat
        }
        // The local period follows gentle drift: the median of the last 8
        // intervals, within 5% of the section's.
        if (out.size() >= 9) {
            recent.clear();
            for (std::size_t k = out.size() - 8; k < out.size(); ++k) recent.push_back(out[k] - out[k - 1]);
            std::nth_element(recent.begin(), recent.begin() + 4, recent.end());
            p = std::clamp(recent[4], 0.95 * period, 1.05 * period);
        }
    }
    beats = std::move(out);
    return beatPeriod(beats);
}

// Where exactly the tempo changes near `approx` (seconds): the frame that
// best splits the onset curve into "fits the left tempo" before and "fits
// the right tempo" after (a side with no beat fits nothing). The fit at
// lag P over a 3 s stretch is sum c[t] c[t+P] / sum c[t]^2 with both frames
// inside the stretch. The middle of the best plateau.
double refineBoundary(const TempoInput& t, double approx, double leftBpm, double rightBpm, double lo, double hi) {
    const auto& c = t.odfCoarse;
    const double fr = t.coarseRate();
    const auto n = static_cast<std::int64_t>(c.size());
    const auto w = static_cast<std::int64_t>(std::lround(3.0 * fr));
    std::vector<double> energy(c.size() + 1, 0.0);
    for (std::size_t i = 0; i < c.size(); ++i) energy[i + 1] = energy[i] + static_cast<double>(c[i]) * c[i];
    struct Fit {
        std::int64_t lag = 0;
        std::vector<double> sums;  // prefix sums of c[t] * max(c[t+lag], c[t+lag+1])
    };
    const auto makeFit = [&](double bpm) {
        Fit f;
        if (bpm <= 0) return f;
        f.lag = static_cast<std::int64_t>(std::floor(60.0 * fr / bpm));
        f.sums.assign(c.size() + 1, 0.0);
        for (std::int64_t i = 0; i < n; ++i) {
            const double next = std::max(i + f.lag < n ? c[static_cast<std::size_t>(i + f.lag)] : 0.0f,
                                         i + f.lag + 1 < n ? c[static_cast<std::size_t>(i + f.lag + 1)] : 0.0f);
            const auto u = static_cast<std::size_t>(i);
            f.sums[u + 1] = f.sums[u] + c[u] * next;
        }
        return f;
    };
    const Fit left = makeFit(leftBpm), right = makeFit(rightBpm);
    // Fit over frames [a, b): pairs (i, i + lag) with both in the stretch.
    const auto fit = [&](const Fit& f, std::int64_t a, std::int64_t b) {
        if (f.sums.empty()) return 0.0;
        a = std::clamp<std::int64_t>(a, 0, n), b = std::clamp<std::int64_t>(b, 0, n);
        const std::int64_t last = b - f.lag - 1;
        const double e = energy[static_cast<std::size_t>(b)] - energy[static_cast<std::size_t>(a)];
        if (last <= a || e <= 0) return 0.0;
        return (f.sums[static_cast<std::size_t>(last)] - f.sums[static_cast<std::size_t>(a)]) / e;
    };
    const auto from = static_cast<std::int64_t>(std::ceil(std::max(lo, approx - 4.0) * fr));
    const auto to = static_cast<std::int64_t>(std::floor(std::min(hi, approx + 4.0) * fr));
    double best = -1e300;
    std::int64_t bestFirst = -1, bestLast = -1;
    for (std::int64_t b = from; b <= to; ++b) {
        const double score = fit(left, b - w, b) - fit(right, b - w, b) + fit(right, b, b + w) - fit(left, b, b + w);
        if (score > best + 1e-9) best = score, bestFirst = bestLast = b;
        else if (score >= best - 1e-9 && bestLast == b - 1) bestLast = b;
    }
    if (bestFirst < 0) return approx;
    return 0.5 * static_cast<double>(bestFirst + bestLast) / fr;
}

struct TempoContext {
    double durationS = 0;
    double soundFrom = 0, soundTo = 0;  // outside: leading/trailing silence
};

// Calling thread. False when cancelled.
bool analyseTempo(const AudioData& a, const TempoContext& ctx, TempoAnalysis& out, Work& work) {
    out = TempoAnalysis{};
    TempoInput t;
    if (!prepareTempo(a, t, work)) return false;
    const Tempogram g = buildTempogram(t);
    if (!work.tick(0.26)) return false;
    const double fr = t.coarseRate();
    const double blockS = g.block / fr;
    const auto half = static_cast<std::size_t>(std::lround(kWindowS / blockS / 2));
    const auto minWindow = static_cast<std::size_t>(std::ceil(5.0 / blockS));

    // Local tempo per block (the window centred on it; windows near the ends
    // are cut short but kept to at least 5 s).
    std::vector<LocalTempo> local(g.blocks);
    double bestStrength = 0;
    for (std::size_t b = 0; b < g.blocks && g.blocks >= minWindow; ++b) {
        if ((b & 31) == 31 && !work.tick(0.26 + 0.02 * static_cast<double>(b) / static_cast<double>(g.blocks))) return false;
        std::size_t from = b >= half ? b - half : 0, to = std::min(g.blocks, b + half + 1);
        if (to - from < minWindow) {
            if (from == 0) to = std::min(g.blocks, minWindow);
            else from = to - minWindow;
        }
        LocalTempo l = bestTempo(g.acf(from, to), fr);
        bestStrength = std::max(bestStrength, l.strength);
        if (l.strength < kBeatStrength) l.bpm = 0;
        local[b] = l;
    }
    if (!work.tick(0.28)) return false;

    std::vector<Run> runs = findRuns(local, blockS);
    if (runs.empty()) runs.push_back({0, g.blocks, 0, 0});
    std::size_t beatSamples = 0;
    for (const auto& r : runs)
        if (r.bpm > 0) beatSamples += (r.to - r.from) * static_cast<std::size_t>(g.block * t.hop);
    // Section bounds: the first from 0, the last to the end, the ones between
    // placed where the onsets change from one tempo to the next.
    std::vector<double> bounds{0.0};
    for (std::size_t i = 1; i < runs.size(); ++i) {
        const double approx = static_cast<double>(runs[i].from) * blockS;
        const double lo = std::max(bounds.back() + 2.0, static_cast<double>(runs[i - 1].from) * blockS + 2.0);
        const double hi = static_cast<double>(runs[i].to) * blockS - 2.0;
        bounds.push_back(lo < hi ? refineBoundary(t, approx, runs[i - 1].bpm, runs[i].bpm, lo, hi) : approx);
    }
    bounds.push_back(ctx.durationS);
    std::size_t processed = 0;
    double beatDuration = 0, weightedConfidence = 0;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const Run& r = runs[i];
        TempoSection s;
        s.startS = bounds[i];
        s.endS = bounds[i + 1];
        s.bpm = r.bpm;
        s.confidence = r.bpm > 0 ? confidenceOf(r.strength) : 0.0;
        if (r.bpm > 0) {
            std::vector<double> beats;
            const auto from = std::min(t.mono.size(), static_cast<std::size_t>(s.startS * t.rate));
            const auto to = std::min(t.mono.size(), static_cast<std::size_t>(std::ceil(s.endS * t.rate)));
            if (!trackBeats(t, from, to, beats, work, processed, beatSamples)) return false;
            const double aubioPeriod = beatPeriod(beats);
            for (double& b : beats) b = refineBeat(t, b, aubioPeriod > 0 ? aubioPeriod : 60.0 / s.bpm);
            const double period = settleBeats(t, beats, s.startS);
            // aubio's beats set the tempo when they agree with the tempogram
            // (or sit an octave off: the beats are the warp markers).
            if (period > 0) {
                const double bpm = 60.0 / period;
                if (sameTempo(bpm, s.bpm) || sameTempo(bpm, 2 * s.bpm) || sameTempo(bpm, s.bpm / 2)) s.bpm = bpm;
            }
            for (double b : beats)
                if (b >= std::max(s.startS, ctx.soundFrom - 0.05) && b < std::min(s.endS, ctx.soundTo + 0.05))
                    out.beats.push_back(b);
            beatDuration += s.endS - s.startS;
            weightedConfidence += s.confidence * (s.endS - s.startS);
        }
        if (i == 0) {
            s.transitionConfidence = 1.0;
        } else {
            const TempoSection& p = out.sections.back();
            if (p.bpm > 0 && s.bpm > 0) {
                // Sure when both sides are and the tempos differ clearly (10%).
                const double apart = std::clamp(std::fabs(std::log(s.bpm / p.bpm)) / std::log(1.1), 0.0, 1.0);
                s.transitionConfidence = std::min(p.confidence, s.confidence) * apart;
            } else {
                s.transitionConfidence = std::max(p.confidence, s.confidence);
            }
        }
        out.sections.push_back(s);
    }
    std::sort(out.beats.begin(), out.beats.end());
    for (double& b : out.beats) b = std::round(b * 1e4) / 1e4;  // 0.1 ms is plenty

    // The file's tempo: the one that covers the most time.
    const double sound = std::max(1e-9, ctx.soundTo - ctx.soundFrom);
    double bestCover = 0;
    for (const auto& s : out.sections) {
        if (s.bpm <= 0) continue;
        double cover = 0;
        for (const auto& o : out.sections)
            if (sameTempo(o.bpm, s.bpm)) cover += o.endS - o.startS;
        if (cover > bestCover) bestCover = cover, out.bpm = s.bpm;
    }
    if (out.bpm <= 0) {
        // How close the best window came to a steady beat, kept low.
        out.confidence = std::min(0.2, 0.5 * confidenceOf(bestStrength));
        out.beats.clear();
        return true;
    }
    out.confidence = std::clamp(weightedConfidence / std::max(beatDuration, sound), 0.0, 1.0);

    // Alternatives from the whole file's autocorrelation (its peaks are the
    // inter-beat intervals that recur): half and double time, then other
    // strong peaks, each scored like the main tempo relative to it.
    const std::vector<double> r = g.acf(0, g.blocks);
    const double mainScore = lagScore(r, 60.0 * fr / out.bpm, fr);
    const auto altConfidence = [&](double bpm) {
        if (mainScore <= 0) return 0.0;
        // Never above the file's tempo itself, which the sections chose.
        return std::clamp(out.confidence * lagScore(r, 60.0 * fr / bpm, fr) / mainScore, 0.0, out.confidence);
    };
    std::vector<TempoAlternative> alts;
    const auto listed = [&](double bpm) {
        if (sameTempo(bpm, out.bpm)) return true;
        for (const auto& x : alts)
            if (sameTempo(x.bpm, bpm)) return true;
        return false;
    };
    for (double k : {0.5, 2.0}) {
        const double bpm = out.bpm * k;
        if (bpm >= kMinBpm && bpm <= kMaxBpm) alts.push_back({bpm, altConfidence(bpm)});
    }
    std::vector<TempoAlternative> peaks;
    for (int l = 2; l + 1 < static_cast<int>(r.size()); ++l) {
        const auto li = static_cast<std::size_t>(l);
        if (r[li] <= 0 || r[li] < r[li - 1] || r[li] < r[li + 1]) continue;
        const double bpm = 60.0 * fr / (l + peakOffset(r[li - 1], r[li], r[li + 1]));
        if (bpm < kMinBpm || bpm > kMaxBpm) continue;
        const double c = altConfidence(bpm);
        if (c >= 0.1) peaks.push_back({bpm, c});
    }
    // Other sections' tempos are alternatives too.
    for (const auto& s : out.sections)
        if (s.bpm > 0) peaks.push_back({s.bpm, std::max(altConfidence(s.bpm), s.confidence * (s.endS - s.startS) / sound)});
    std::sort(peaks.begin(), peaks.end(), [](const auto& x, const auto& y) { return x.confidence > y.confidence; });
    for (const auto& p : peaks)
        if (alts.size() < 5 && !listed(p.bpm)) alts.push_back(p);
    std::stable_sort(alts.begin(), alts.end(), [](const auto& x, const auto& y) { return x.confidence > y.confidence; });
    out.alternatives = std::move(alts);
    return true;
}

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
    r.tempo.structure = structureMarkers(a, soundFrom, soundTo);
    if (!work.tick(o.tempo ? 0.09 : 1.0)) return cancelled();
    if (o.tempo && !analyseTempo(a, {r.durationS, soundFrom, soundTo}, r.tempo, work)) return cancelled();

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
