// Tempo analysis (for Analysis.cpp), on a mono mix decimated to ~22-24 kHz
// (aubio's cost is per hop and halves; its hop stays 10.7-11.6 ms):
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
#include "media/Tempo.h"

#include <aubio/aubio.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace cuebox::media {
namespace {

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

}  // namespace

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

}  // namespace cuebox::media
