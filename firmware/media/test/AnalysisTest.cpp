#include "media/Analysis.h"

#include <boost/json.hpp>
#include <ebur128.h>

#include <CppUTest/TestHarness.h>

#include <cmath>
#include <cstdint>
#include <vector>

using namespace cuebox;
using namespace cuebox::media;

namespace {

AudioData silence(int rate, int channels, double seconds) {
    AudioData a;
    a.sampleRate = rate;
    a.channels = channels;
    a.frames = static_cast<std::int64_t>(std::llround(seconds * rate));
    a.samples.assign(static_cast<std::size_t>(a.frames * channels), 0.0f);
    return a;
}

// The same sine on every channel.
AudioData sine(int rate, int channels, double seconds, double hz, double amplitude, double phase = 0.0) {
    AudioData a = silence(rate, channels, seconds);
    for (std::int64_t f = 0; f < a.frames; ++f) {
        const auto v = static_cast<float>(amplitude * std::sin(2 * M_PI * hz * static_cast<double>(f) / rate + phase));
        for (int c = 0; c < channels; ++c) a.samples[static_cast<std::size_t>(f * channels + c)] = v;
    }
    return a;
}

// Deterministic white noise (an LCG), uniform in -amplitude..amplitude.
void addNoise(AudioData& a, double amplitude, std::uint32_t seed = 1) {
    for (float& s : a.samples) {
        seed = seed * 1664525u + 1013904223u;
        s += static_cast<float>(amplitude * (static_cast<double>(seed >> 8) / 8388608.0 - 1.0));
    }
}

// A 10 ms decaying 2 kHz click at `at` seconds on every channel.
void addClick(AudioData& a, double at) {
    const auto start = static_cast<std::int64_t>(std::llround(at * a.sampleRate));
    const auto len = static_cast<std::int64_t>(a.sampleRate / 100);
    for (std::int64_t i = 0; i < len && start + i < a.frames; ++i) {
        const double t = static_cast<double>(i) / a.sampleRate;
        const auto v = static_cast<float>(0.8 * std::sin(2 * M_PI * 2000 * t) * std::exp(-t / 0.002));
        for (int c = 0; c < a.channels; ++c) a.samples[static_cast<std::size_t>((start + i) * a.channels + c)] += v;
    }
}

// Clicks at `bpm` from `from` up to `to` seconds; returns the click times.
std::vector<double> addClicks(AudioData& a, double bpm, double from, double to) {
    std::vector<double> at;
    for (double t = from; t < to - 1e-9; t += 60.0 / bpm) {
        addClick(a, t);
        at.push_back(t);
    }
    return at;
}

const TempoSection* sectionAt(const TempoAnalysis& t, double s) {
    for (const auto& x : t.sections)
        if (x.startS <= s && s < x.endS) return &x;
    return nullptr;
}

}  // namespace

TEST_GROUP(Analysis){};

TEST(Analysis, sineAtMinus20DbfsReadsMinus20PeakAndItsLoudness) {
    const AudioData a = sine(48000, 2, 10.0, 1000.0, 0.1);
    auto r = analyse(a);
    CHECK(r.ok());
    DOUBLES_EQUAL(-20.0, r->peakDb, 0.01);
    CHECK(r->truePeakDb >= r->peakDb);
    DOUBLES_EQUAL(-20.0, r->truePeakDb, 0.1);
    // EBU Tech 3341 test 1: a 1 kHz sine at -23 dBFS on both channels reads
    // -23.0 LUFS, so -20 dBFS reads -20 LUFS.
    DOUBLES_EQUAL(-20.0, r->loudnessLufs, 0.1);
    DOUBLES_EQUAL(0.0, r->loudnessRangeLu, 0.1);
    LONGS_EQUAL(48000 * 10, r->frames);
    DOUBLES_EQUAL(10.0, r->durationS, 1e-9);
}

TEST(Analysis, fullScaleSinesReadTheEbuReferenceLoudness) {
    // A full-scale 1 kHz sine: 0 LUFS on two channels, -3.01 LUFS on one.
    auto stereo = analyse(sine(48000, 2, 20.0, 1000.0, 1.0), {.tempo = false});
    CHECK(stereo.ok());
    DOUBLES_EQUAL(0.0, stereo->loudnessLufs, 0.05);
    DOUBLES_EQUAL(0.0, stereo->peakDb, 0.01);
    auto mono = analyse(sine(48000, 1, 20.0, 1000.0, 1.0), {.tempo = false});
    CHECK(mono.ok());
    DOUBLES_EQUAL(-3.01, mono->loudnessLufs, 0.05);
}

TEST(Analysis, monoReadsAsLoudAsTheSameSignalInStereo) {
    // The engine plays mono at -3 dB on both sides: as loud as one channel measured once.
    auto mono = analyse(sine(44100, 1, 10.0, 1000.0, 0.5), {.tempo = false});
    auto stereo = analyse(sine(44100, 2, 10.0, 1000.0, 0.5 * M_SQRT1_2), {.tempo = false});
    CHECK(mono.ok() && stereo.ok());
    DOUBLES_EQUAL(stereo->loudnessLufs, mono->loudnessLufs, 0.05);
}

TEST(Analysis, surroundIgnoresTheLfeChannel) {
    AudioData a = silence(48000, 6, 10.0);
    const AudioData lfe = sine(48000, 1, 10.0, 60.0, 0.9);
    for (std::int64_t f = 0; f < a.frames; ++f)
        a.samples[static_cast<std::size_t>(f * 6 + 3)] = lfe.samples[static_cast<std::size_t>(f)];
    auto onlyLfe = analyse(a, {.tempo = false});
    CHECK(onlyLfe.ok());
    DOUBLES_EQUAL(-200.0, onlyLfe->loudnessLufs, 1e-9);
    DOUBLES_EQUAL(20 * std::log10(0.9), onlyLfe->peakDb, 0.01);
}

TEST(Analysis, truePeakFindsThePeakBetweenSamples) {
    // fs/4 at 45 degrees: every sample is at 0.707 of the sine's crest.
    const AudioData a = sine(48000, 1, 5.0, 12000.0, 0.5, M_PI / 4);
    auto r = analyse(a, {.tempo = false});
    CHECK(r.ok());
    DOUBLES_EQUAL(20 * std::log10(0.5 * M_SQRT1_2), r->peakDb, 0.01);
    CHECK(r->truePeakDb > r->peakDb + 2.5);
    DOUBLES_EQUAL(20 * std::log10(0.5), r->truePeakDb, 0.3);
}

TEST(Analysis, truePeakAgreesWithLibebur128) {
    AudioData a = sine(44100, 2, 6.0, 11025.0, 0.3, M_PI / 4);
    addNoise(a, 0.2);
    for (int k = 0; k < 20; ++k) addClick(a, 0.25 + 0.27 * k);
    auto r = analyse(a, {.tempo = false});
    CHECK(r.ok());
    ebur128_state* st = ebur128_init(2, 44100, EBUR128_MODE_TRUE_PEAK);
    ebur128_add_frames_float(st, a.samples.data(), static_cast<std::size_t>(a.frames));
    double l = 0, rr = 0;
    ebur128_true_peak(st, 0, &l);
    ebur128_true_peak(st, 1, &rr);
    ebur128_destroy(&st);
    DOUBLES_EQUAL(20 * std::log10(std::max(l, rr)), r->truePeakDb, 0.05);
    CHECK(r->truePeakDb >= r->peakDb);
}

TEST(Analysis, digitalSilenceReadsMinus200AndIsAllSilence) {
    auto r = analyse(silence(48000, 2, 3.0));
    CHECK(r.ok());
    DOUBLES_EQUAL(-200.0, r->peakDb, 1e-9);
    DOUBLES_EQUAL(-200.0, r->truePeakDb, 1e-9);
    DOUBLES_EQUAL(-200.0, r->loudnessLufs, 1e-9);
    DOUBLES_EQUAL(3.0, r->leadingSilenceS, 1e-9);
    DOUBLES_EQUAL(3.0, r->trailingSilenceS, 1e-9);
    DOUBLES_EQUAL(0.0, r->tempo.bpm, 1e-9);
    LONGS_EQUAL(1, r->tempo.sections.size());
    DOUBLES_EQUAL(0.0, gainToTargetDb(*r, -23.0), 1e-9);
}

TEST(Analysis, leadingAndTrailingSilenceAreMeasuredToTheSample) {
    AudioData a = silence(48000, 2, 4.0);
    const AudioData tone = sine(48000, 2, 2.5, 440.0, 0.5);
    // Sound from 0.75 s to 3.25 s, in the right channel only at both edges.
    const std::int64_t start = 36000;
    std::copy(tone.samples.begin(), tone.samples.end(), a.samples.begin() + start * 2);
    a.samples[static_cast<std::size_t>((start - 10) * 2 + 1)] = 0.01f;  // -40 dB: over the -60 dB threshold
    a.samples[static_cast<std::size_t>((start - 20) * 2)] = 0.0005f;    // -66 dB: under it
    auto r = analyse(a);
    CHECK(r.ok());
    DOUBLES_EQUAL((start - 10) / 48000.0, r->leadingSilenceS, 1e-9);
    // The sine's last loud sample is a little before 3.25 s; a few ms at most.
    DOUBLES_EQUAL(0.75, r->trailingSilenceS, 0.003);
    CHECK(r->trailingSilenceS >= 0.75);
    // A higher threshold trims the quiet blip.
    auto strict = analyse(a, {.silenceThresholdDb = -30.0, .tempo = false});
    CHECK(strict.ok());
    DOUBLES_EQUAL(0.75, strict->leadingSilenceS, 0.003);
}

TEST(Analysis, waveformHasTheRequestedColumnsAndASymmetricSine) {
    auto r = analyse(sine(48000, 2, 5.0, 100.0, 0.6), {.tempo = false});
    CHECK(r.ok());
    LONGS_EQUAL(kWaveformColumns, r->waveformMin.size());
    LONGS_EQUAL(kWaveformColumns, r->waveformMax.size());
    for (std::size_t c = 0; c < r->waveformMax.size(); ++c) {
        // Each column spans ~4.7 periods: the full swing, 0.6 * 127.
        LONGS_EQUAL(76, r->waveformMax[c]);
        LONGS_EQUAL(-76, r->waveformMin[c]);
    }
    auto narrow = analyse(sine(48000, 1, 1.0, 100.0, 1.0), {.waveformColumns = 10, .tempo = false});
    CHECK(narrow.ok());
    LONGS_EQUAL(10, narrow->waveformMax.size());
    LONGS_EQUAL(127, narrow->waveformMax[0]);
    LONGS_EQUAL(-127, narrow->waveformMin[0]);
}

TEST(Analysis, aFileShorterThanTheColumnsGetsOneColumnPerFrame) {
    AudioData a = silence(48000, 1, 0.0);
    a.frames = 5;
    a.samples = {0.0f, 0.5f, -0.25f, 1.0f, -1.0f};
    auto r = analyse(a);
    CHECK(r.ok());
    LONGS_EQUAL(5, r->waveformMax.size());
    LONGS_EQUAL(64, r->waveformMax[1]);
    LONGS_EQUAL(-32, r->waveformMin[2]);
    LONGS_EQUAL(-127, r->waveformMin[4]);
    DOUBLES_EQUAL(-200.0, r->loudnessLufs, 1e-9);  // too short to measure
}

TEST(Analysis, clickTrackAt120BpmGivesItsTempoAndBeats) {
    AudioData a = silence(48000, 2, 30.0);
    const auto clicks = addClicks(a, 120.0, 0.0, 30.0);
    auto r = analyse(a);
    CHECK(r.ok());
    const TempoAnalysis& t = r->tempo;
    DOUBLES_EQUAL(120.0, t.bpm, 1.0);
    CHECK(t.confidence > 0.7);
    LONGS_EQUAL(1, t.sections.size());
    DOUBLES_EQUAL(0.0, t.sections[0].startS, 1e-9);
    DOUBLES_EQUAL(30.0, t.sections[0].endS, 1e-9);
    DOUBLES_EQUAL(120.0, t.sections[0].bpm, 1.0);
    // Nearly every click has a beat within 20 ms, and beats are 0.5 s apart.
    CHECK(t.beats.size() >= 55);
    CHECK(t.beats.size() <= 61);
    std::size_t hit = 0;
    for (double c : clicks)
        for (double b : t.beats)
            if (std::fabs(b - c) < 0.02) {
                ++hit;
                break;
            }
    CHECK(hit >= 55);
    for (std::size_t i = 1; i < t.beats.size(); ++i) DOUBLES_EQUAL(0.5, t.beats[i] - t.beats[i - 1], 0.03);
    // Half and double time are listed, less likely than 120.
    bool half = false, twice = false;
    for (const auto& x : t.alternatives) {
        CHECK(x.confidence >= 0 && x.confidence <= t.confidence);
        half = half || std::fabs(x.bpm - 60.0) < 1.0;
        twice = twice || std::fabs(x.bpm - 240.0) < 2.0;
    }
    CHECK(half && twice);
    for (std::size_t i = 1; i < t.alternatives.size(); ++i)
        CHECK(t.alternatives[i - 1].confidence >= t.alternatives[i].confidence);
}

TEST(Analysis, aTempoChangeGivesTwoSections) {
    AudioData a = silence(44100, 2, 40.0);
    addClicks(a, 100.0, 0.0, 20.0);
    addClicks(a, 140.0, 20.0, 40.0);
    addNoise(a, 0.01);
    auto r = analyse(a);
    CHECK(r.ok());
    const TempoAnalysis& t = r->tempo;
    LONGS_EQUAL(2, t.sections.size());
    DOUBLES_EQUAL(100.0, t.sections[0].bpm, 1.5);
    DOUBLES_EQUAL(140.0, t.sections[1].bpm, 1.5);
    DOUBLES_EQUAL(20.0, t.sections[0].endS, 1.5);
    DOUBLES_EQUAL(t.sections[0].endS, t.sections[1].startS, 1e-9);
    DOUBLES_EQUAL(40.0, t.sections[1].endS, 1e-9);
    DOUBLES_EQUAL(1.0, t.sections[0].transitionConfidence, 1e-9);
    CHECK(t.sections[1].transitionConfidence > 0.5);
    // Beats follow each section's tempo.
    const TempoSection* second = sectionAt(t, 30.0);
    CHECK(second != nullptr);
    for (std::size_t i = 1; i < t.beats.size(); ++i)
        if (t.beats[i - 1] > 22.0) DOUBLES_EQUAL(60.0 / 140.0, t.beats[i] - t.beats[i - 1], 0.03);
    // Either tempo is the file's, the other an alternative.
    CHECK(std::fabs(t.bpm - 100.0) < 1.5 || std::fabs(t.bpm - 140.0) < 1.5);
    const double other = std::fabs(t.bpm - 100.0) < 1.5 ? 140.0 : 100.0;
    bool listed = false;
    for (const auto& x : t.alternatives) listed = listed || std::fabs(x.bpm - other) < 1.5;
    CHECK(listed);
}

TEST(Analysis, whiteNoiseHasNoConfidentTempo) {
    AudioData a = silence(48000, 2, 30.0);
    addNoise(a, 0.3);
    auto r = analyse(a);
    CHECK(r.ok());
    DOUBLES_EQUAL(0.0, r->tempo.bpm, 1e-9);
    CHECK(r->tempo.confidence < 0.2);
    CHECK(r->tempo.beats.empty());
    LONGS_EQUAL(1, r->tempo.sections.size());
    DOUBLES_EQUAL(0.0, r->tempo.sections[0].bpm, 1e-9);
    DOUBLES_EQUAL(30.0, r->tempo.sections[0].endS, 1e-9);
}

TEST(Analysis, syllablesAtRandomHaveNoTempo) {
    // Speech-like: voiced bursts of 80-280 ms with gaps of 30-280 ms.
    AudioData a = silence(44100, 1, 30.0);
    std::uint32_t seed = 3;
    const auto next = [&seed] {
        seed = seed * 1664525u + 1013904223u;
        return static_cast<double>(seed >> 8) / 16777216.0;
    };
    for (double t = 0.2; t < 29.0;) {
        const double len = 0.08 + 0.2 * next(), gap = 0.03 + 0.25 * next(), f0 = 100 + 60 * next();
        const auto start = static_cast<std::int64_t>(t * 44100), n = static_cast<std::int64_t>(len * 44100);
        for (std::int64_t i = 0; i < n; ++i) {
            const double s = static_cast<double>(i) / 44100;
            double v = 0;
            for (int h = 1; h < 12; ++h) v += std::sin(2 * M_PI * f0 * h * s) / h;
            const double envelope = std::sin(M_PI * static_cast<double>(i) / static_cast<double>(n));
            a.samples[static_cast<std::size_t>(start + i)] += static_cast<float>(0.2 * envelope * v);
        }
        t += len + gap + (next() < 0.08 ? 0.4 : 0.0);
    }
    auto r = analyse(a);
    CHECK(r.ok());
    DOUBLES_EQUAL(0.0, r->tempo.bpm, 1e-9);
    CHECK(r->tempo.beats.empty());
    LONGS_EQUAL(1, r->tempo.sections.size());
}

TEST(Analysis, aBeatThatStopsEndsItsSection) {
    AudioData a = silence(44100, 2, 40.0);
    addClicks(a, 120.0, 0.0, 20.0);
    AudioData tail = silence(44100, 2, 20.0);
    addNoise(tail, 0.1);
    std::copy(tail.samples.begin(), tail.samples.end(), a.samples.begin() + 20 * 44100 * 2);
    auto r = analyse(a);
    CHECK(r.ok());
    const TempoAnalysis& t = r->tempo;
    DOUBLES_EQUAL(120.0, t.bpm, 1.0);
    LONGS_EQUAL(2, t.sections.size());
    DOUBLES_EQUAL(120.0, t.sections[0].bpm, 1.0);
    DOUBLES_EQUAL(0.0, t.sections[1].bpm, 1e-9);
    DOUBLES_EQUAL(20.0, t.sections[1].startS, 1.5);
    CHECK(t.sections[1].transitionConfidence > 0.5);
    CHECK(!t.beats.empty());
    CHECK(t.beats.back() < 21.5);
    // Half the file has a beat.
    CHECK(t.confidence > 0.3 && t.confidence < 0.7);
}

TEST(Analysis, aSteadyToneHasNoTempo) {
    auto r = analyse(sine(44100, 1, 20.0, 440.0, 0.5));
    CHECK(r.ok());
    DOUBLES_EQUAL(0.0, r->tempo.bpm, 1e-9);
    CHECK(r->tempo.confidence < 0.2);
    LONGS_EQUAL(1, r->tempo.sections.size());
}

TEST(Analysis, aJumpInLevelIsAStructureMarker) {
    AudioData a = sine(48000, 2, 30.0, 220.0, 0.05);
    for (std::int64_t f = 15 * 48000; f < a.frames; ++f)
        for (int c = 0; c < 2; ++c) a.samples[static_cast<std::size_t>(f * 2 + c)] *= 10.0f;  // +20 dB
    for (bool tempo : {false, true}) {  // with the tempo analysis too
        auto r = analyse(a, {.tempo = tempo});
        CHECK(r.ok());
        LONGS_EQUAL(1, r->tempo.structure.size());
        DOUBLES_EQUAL(15.0, r->tempo.structure[0], 0.5);
    }
}

TEST(Analysis, progressIsReportedAndCanCancel) {
    AudioData a = silence(48000, 2, 20.0);
    addClicks(a, 120.0, 0.0, 20.0);
    std::vector<double> seen;
    auto r = analyse(a, {}, [&](double f) {
        seen.push_back(f);
        return true;
    });
    CHECK(r.ok());
    // In order, in steps of at most 2%.
    CHECK(seen.size() >= 45);
    CHECK(seen.front() <= 0.02);
    for (std::size_t i = 1; i < seen.size(); ++i) {
        CHECK(seen[i] > seen[i - 1]);
        CHECK(seen[i] - seen[i - 1] <= 0.02 + 1e-9);
    }
    CHECK(seen.back() > 0.95 && seen.back() < 1.0);

    int calls = 0;
    auto c = analyse(a, {}, [&](double f) { return ++calls < 3; });
    CHECK_FALSE(c.ok());
    CHECK(c.error().code == Errc::conflict);
    STRCMP_EQUAL("cancelled", c.error().field.c_str());
    LONGS_EQUAL(3, calls);
}

TEST(Analysis, badInputIsRefusedWithTheField) {
    AudioData a = silence(48000, 2, 1.0);
    a.channels = 9;
    auto r = analyse(a);
    CHECK_FALSE(r.ok());
    STRCMP_EQUAL("channels", r.error().field.c_str());
    AudioData b = silence(48000, 1, 1.0);
    b.samples[100] = std::nanf("");
    auto n = analyse(b);
    CHECK_FALSE(n.ok());
    STRCMP_EQUAL("samples", n.error().field.c_str());
    AudioData e = silence(48000, 1, 1.0);
    e.frames = 0;
    e.samples.clear();
    CHECK_FALSE(analyse(e).ok());
}

TEST(Analysis, jsonRoundTripsWithTheWaveform) {
    AudioData a = silence(44100, 2, 20.0);
    addClicks(a, 128.0, 1.0, 19.0);
    auto r = analyse(a);
    CHECK(r.ok());
    CHECK(!r->tempo.beats.empty());
    const boost::json::object o = toJson(*r, true);
    CHECK(o.contains("waveform"));
    CHECK(!toJson(*r).contains("waveform"));
    const auto& tempo = o.at("tempo").as_object();
    CHECK(tempo.at("sections").as_array()[0].as_object().contains("transition_confidence"));
    auto back = analysisFromJson(o);
    CHECK(back.ok());
    const Analysis& b = *back;
    LONGS_EQUAL(r->sampleRate, b.sampleRate);
    LONGS_EQUAL(r->channels, b.channels);
    LONGS_EQUAL(r->frames, b.frames);
    DOUBLES_EQUAL(r->durationS, b.durationS, 0);
    DOUBLES_EQUAL(r->peakDb, b.peakDb, 0);
    DOUBLES_EQUAL(r->truePeakDb, b.truePeakDb, 0);
    DOUBLES_EQUAL(r->loudnessLufs, b.loudnessLufs, 0);
    DOUBLES_EQUAL(r->loudnessRangeLu, b.loudnessRangeLu, 0);
    DOUBLES_EQUAL(r->leadingSilenceS, b.leadingSilenceS, 0);
    DOUBLES_EQUAL(r->trailingSilenceS, b.trailingSilenceS, 0);
    CHECK(r->waveformMin == b.waveformMin);
    CHECK(r->waveformMax == b.waveformMax);
    DOUBLES_EQUAL(r->tempo.bpm, b.tempo.bpm, 0);
    DOUBLES_EQUAL(r->tempo.confidence, b.tempo.confidence, 0);
    CHECK(r->tempo.beats == b.tempo.beats);
    CHECK(r->tempo.structure == b.tempo.structure);
    LONGS_EQUAL(r->tempo.alternatives.size(), b.tempo.alternatives.size());
    for (std::size_t i = 0; i < b.tempo.alternatives.size(); ++i) {
        DOUBLES_EQUAL(r->tempo.alternatives[i].bpm, b.tempo.alternatives[i].bpm, 0);
        DOUBLES_EQUAL(r->tempo.alternatives[i].confidence, b.tempo.alternatives[i].confidence, 0);
    }
    LONGS_EQUAL(r->tempo.sections.size(), b.tempo.sections.size());
    for (std::size_t i = 0; i < b.tempo.sections.size(); ++i) {
        DOUBLES_EQUAL(r->tempo.sections[i].startS, b.tempo.sections[i].startS, 0);
        DOUBLES_EQUAL(r->tempo.sections[i].endS, b.tempo.sections[i].endS, 0);
        DOUBLES_EQUAL(r->tempo.sections[i].bpm, b.tempo.sections[i].bpm, 0);
        DOUBLES_EQUAL(r->tempo.sections[i].confidence, b.tempo.sections[i].confidence, 0);
        DOUBLES_EQUAL(r->tempo.sections[i].transitionConfidence, b.tempo.sections[i].transitionConfidence, 0);
    }
    // And the same JSON again.
    CHECK(toJson(b, true) == o);
    // Through text, as the API serves it (Boost 1.81 parses numbers to
    // within a unit in the last place, so compare the JSON with a tolerance).
    auto text = analysisFromJson(boost::json::parse(boost::json::serialize(o)));
    CHECK(text.ok());
    DOUBLES_EQUAL(r->loudnessLufs, text->loudnessLufs, 1e-9);
    DOUBLES_EQUAL(r->tempo.bpm, text->tempo.bpm, 1e-9);
    LONGS_EQUAL(r->tempo.beats.size(), text->tempo.beats.size());
    LONGS_EQUAL(r->waveformMax.size(), text->waveformMax.size());
}

TEST(Analysis, malformedJsonIsRefusedNamingTheMember) {
    auto r = analyse(sine(48000, 1, 2.0, 440.0, 0.5));
    CHECK(r.ok());
    boost::json::object o = toJson(*r, true);

    boost::json::object noPeak = o;
    noPeak.erase("peak_db");
    auto a = analysisFromJson(noPeak);
    CHECK_FALSE(a.ok());
    CHECK(a.error().code == Errc::bad_request);
    STRCMP_EQUAL("peak_db", a.error().field.c_str());

    boost::json::object badSection = o;
    badSection["tempo"].as_object()["sections"].as_array()[0].as_object()["bpm"] = "fast";
    auto b = analysisFromJson(badSection);
    CHECK_FALSE(b.ok());
    STRCMP_EQUAL("tempo.sections[0].bpm", b.error().field.c_str());

    boost::json::object badWave = o;
    badWave["waveform"].as_object()["max"].as_array()[0] = 300;
    auto c = analysisFromJson(badWave);
    CHECK_FALSE(c.ok());
    STRCMP_EQUAL("waveform.max", c.error().field.c_str());

    boost::json::object badChannels = o;
    badChannels["channels"] = 2.5;
    CHECK_FALSE(analysisFromJson(badChannels).ok());
    CHECK_FALSE(analysisFromJson(boost::json::value("analysis")).ok());
}

TEST(Analysis, gainToTargetIsLimitedByTheTruePeakCeiling) {
    Analysis a;
    a.loudnessLufs = -30.0;
    a.truePeakDb = -12.0;
    DOUBLES_EQUAL(7.0, gainToTargetDb(a, -23.0), 1e-9);    // -23 - -30, peak to -5 dBTP
    DOUBLES_EQUAL(11.0, gainToTargetDb(a, -16.0), 1e-9);   // wants 14, the ceiling allows 11
    DOUBLES_EQUAL(10.0, gainToTargetDb(a, -16.0, -2.0), 1e-9);
    DOUBLES_EQUAL(-5.0, gainToTargetDb(a, -35.0), 1e-9);   // turning down is never limited
    a.loudnessLufs = -200.0;
    DOUBLES_EQUAL(0.0, gainToTargetDb(a, -23.0), 1e-9);
}
