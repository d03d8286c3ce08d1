#include "media/Render.h"

#include <CppUTest/TestHarness.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

using namespace cuebox;
using namespace cuebox::media;

namespace {

constexpr int kRate = 48000;

AudioData silence(int channels, double seconds) {
    AudioData a;
    a.sampleRate = kRate;
    a.channels = channels;
    a.frames = std::llround(seconds * kRate);
    a.samples.assign(static_cast<std::size_t>(a.frames) * static_cast<std::size_t>(channels), 0.0f);
    return a;
}

void addSine(AudioData& a, int channel, double hz, double amp) {
    for (std::int64_t i = 0; i < a.frames; ++i)
        a.samples[static_cast<std::size_t>(i * a.channels + channel)] +=
            static_cast<float>(amp * std::sin(2 * M_PI * hz * static_cast<double>(i) / a.sampleRate));
}

std::vector<float> channelOf(const AudioData& a, int channel) {
    std::vector<float> out;
    for (std::int64_t i = 0; i < a.frames; ++i) out.push_back(a.samples[static_cast<std::size_t>(i * a.channels + channel)]);
    return out;
}

// Frequency of a steady tone from its rising zero crossings (interpolated
// between samples) over the middle half of the channel, away from the edges.
double frequencyOf(const AudioData& a, int channel) {
    const auto x = channelOf(a, channel);
    const std::size_t from = x.size() / 4, to = x.size() * 3 / 4;
    double first = -1, last = -1;
    int crossings = 0;
    for (std::size_t i = from; i + 1 < to; ++i) {
        if (x[i] <= 0 && x[i + 1] > 0) {
            const double t = static_cast<double>(i) + x[i] / (x[i] - x[i + 1]);
            if (first < 0) first = t;
            last = t;
            ++crossings;
        }
    }
    if (crossings < 2) return 0;
    return (crossings - 1) * a.sampleRate / (last - first);
}

double rmsOf(const AudioData& a, int channel) {
    const auto x = channelOf(a, channel);
    double sum = 0;
    for (std::size_t i = x.size() / 4; i < x.size() * 3 / 4; ++i) sum += double(x[i]) * x[i];
    return std::sqrt(sum / static_cast<double>(x.size() / 2));
}

double peakOf(const AudioData& a, int channel) {
    double p = 0;
    for (float v : channelOf(a, channel)) p = std::max(p, double(std::abs(v)));
    return p;
}

// Time (s) of the loudest millisecond of the channel.
double loudestMomentS(const AudioData& a, int channel) {
    const auto x = channelOf(a, channel);
    const std::size_t w = static_cast<std::size_t>(a.sampleRate / 1000);
    double best = -1, sum = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        sum += double(x[i]) * x[i];
        if (i >= w) sum -= double(x[i - w]) * x[i - w];
        if (sum > best) best = sum, at = i - std::min(i, w / 2);
    }
    return static_cast<double>(at) / a.sampleRate;
}

}  // namespace

TEST_GROUP(Render){};

TEST(Render, lengthIsTheRatioTimesTheInputKeepingRateAndChannels) {
    AudioData in = silence(1, 1.0);
    addSine(in, 0, 440, 0.5);
    for (double ratio : {0.5, 1.25, 2.0}) {
        auto out = render(in, {ratio, 0.0});
        CHECK(out.ok());
        LONGS_EQUAL(std::llround(48000 * ratio), out->frames);
        LONGS_EQUAL(out->frames, out->samples.size());
        LONGS_EQUAL(kRate, out->sampleRate);
        LONGS_EQUAL(1, out->channels);
        // Still the tone at about its level, not silence or garbage.
        DOUBLES_EQUAL(0.5 / std::sqrt(2.0), rmsOf(*out, 0), 0.05);
    }
}

TEST(Render, anOctaveUpDoublesTheFrequencyAndKeepsTheLength) {
    AudioData in = silence(1, 1.5);
    addSine(in, 0, 440, 0.5);
    auto out = render(in, {1.0, 12.0});
    CHECK(out.ok());
    LONGS_EQUAL(in.frames, out->frames);
    DOUBLES_EQUAL(880.0, frequencyOf(*out, 0), 880.0 * 0.005);
}

TEST(Render, aFewSemitonesDownLowersTheFrequencyByTheEqualTemperedRatio) {
    AudioData in = silence(1, 1.5);
    addSine(in, 0, 440, 0.5);
    auto out = render(in, {0.8, -3.0});
    CHECK(out.ok());
    LONGS_EQUAL(std::llround(in.frames * 0.8), out->frames);
    const double expect = 440.0 * std::pow(2.0, -3.0 / 12.0);  // ~370 Hz
    DOUBLES_EQUAL(expect, frequencyOf(*out, 0), expect * 0.005);
}

TEST(Render, stretchingKeepsThePitch) {
    AudioData in = silence(1, 1.5);
    addSine(in, 0, 440, 0.5);
    auto out = render(in, {1.5, 0.0});
    CHECK(out.ok());
    LONGS_EQUAL(std::llround(in.frames * 1.5), out->frames);
    DOUBLES_EQUAL(440.0, frequencyOf(*out, 0), 440.0 * 0.005);
}

TEST(Render, aClickMovesWithTheStretchSoThereIsNoLeadingDelay) {
    AudioData in = silence(1, 2.0);
    for (int i = 0; i < 48; ++i) in.samples[static_cast<std::size_t>(kRate + i)] = (i % 2 ? -0.8f : 0.8f) * (1.0f - i / 48.0f);
    DOUBLES_EQUAL(1.0, loudestMomentS(in, 0), 0.002);
    for (double ratio : {1.5, 0.5, 1.0 / 0.8}) {
        auto out = render(in, {ratio, 0.0});
        CHECK(out.ok());
        DOUBLES_EQUAL(1.0 * ratio, loudestMomentS(*out, 0), 0.010);
    }
    // A pitch shift alone keeps the click where it was.
    auto shifted = render(in, {1.0, 5.0});
    CHECK(shifted.ok());
    DOUBLES_EQUAL(1.0, loudestMomentS(*shifted, 0), 0.010);
}

TEST(Render, stereoChannelsStaySeparate) {
    AudioData in = silence(2, 1.5);
    addSine(in, 0, 440, 0.5);
    for (RenderRequest r : {RenderRequest{1.25, 0.0}, RenderRequest{0.9, 3.0}}) {
        auto out = render(in, r);
        CHECK(out.ok());
        LONGS_EQUAL(2, out->channels);
        DOUBLES_EQUAL(0.5 / std::sqrt(2.0), rmsOf(*out, 0), 0.05);
        // The silent right channel stays below -60 dBFS.
        CHECK(peakOf(*out, 1) < 0.001);
    }
}

TEST(Render, sixChannelsEachKeepTheirOwnTone) {
    AudioData in = silence(6, 1.0);
    for (int c = 0; c < 6; ++c) addSine(in, c, 300.0 + 150.0 * c, 0.3);
    auto out = render(in, {0.8, 0.0});
    CHECK(out.ok());
    LONGS_EQUAL(6, out->channels);
    LONGS_EQUAL(38400, out->frames);
    LONGS_EQUAL(38400 * 6, out->samples.size());
    for (int c = 0; c < 6; ++c) {
        const double hz = 300.0 + 150.0 * c;
        DOUBLES_EQUAL(hz, frequencyOf(*out, c), hz * 0.005);
    }
}

TEST(Render, noStretchAndNoShiftIsAnExactCopy) {
    AudioData in = silence(2, 0.25);
    addSine(in, 0, 440, 0.5);
    addSine(in, 1, 660, 0.25);
    auto out = render(in, {1.0, 0.0});
    CHECK(out.ok());
    LONGS_EQUAL(in.frames, out->frames);
    CHECK(in.samples == out->samples);
}

TEST(Render, requestsOutOfRangeAreRefusedNamingTheField) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    for (double ratio : {0.2, 4.01, 0.0, -1.0, nan, inf}) {
        Status st = checkRender({ratio, 0.0});
        CHECK_FALSE(st.ok());
        CHECK(st.error().code == Errc::bad_request);
        STRCMP_EQUAL("time_ratio", st.error().field.c_str());
    }
    for (double semis : {24.01, -25.0, nan, -inf}) {
        Status st = checkRender({1.0, semis});
        CHECK_FALSE(st.ok());
        STRCMP_EQUAL("pitch_semitones", st.error().field.c_str());
    }
    CHECK(checkRender({0.25, -24.0}).ok());
    CHECK(checkRender({4.0, 24.0}).ok());

    AudioData in = silence(1, 0.1);
    auto bad = render(in, {5.0, 0.0});
    CHECK_FALSE(bad.ok());
    STRCMP_EQUAL("time_ratio", bad.error().field.c_str());
}

TEST(Render, unsuitableAudioIsRefusedNamingTheField) {
    AudioData nine = silence(9, 0.1);
    auto r1 = render(nine, {1.1, 0.0});
    CHECK_FALSE(r1.ok());
    STRCMP_EQUAL("channels", r1.error().field.c_str());

    AudioData shortBuffer = silence(2, 0.1);
    shortBuffer.samples.pop_back();
    auto r2 = render(shortBuffer, {1.1, 0.0});
    CHECK_FALSE(r2.ok());
    STRCMP_EQUAL("frames", r2.error().field.c_str());

    AudioData slow = silence(1, 0.1);
    slow.sampleRate = 4000;
    auto r3 = render(slow, {1.1, 0.0});
    CHECK_FALSE(r3.ok());
    STRCMP_EQUAL("sample_rate", r3.error().field.c_str());
}

TEST(Render, progressRisesToOneAndReturningFalseCancels) {
    AudioData in = silence(1, 1.0);
    addSine(in, 0, 440, 0.5);
    std::vector<double> seen;
    auto out = render(in, {1.1, 0.0}, [&](double f) {
        seen.push_back(f);
        return true;
    });
    CHECK(out.ok());
    CHECK(seen.size() >= 5);
    for (std::size_t i = 1; i < seen.size(); ++i) CHECK(seen[i] >= seen[i - 1]);
    DOUBLES_EQUAL(1.0, seen.back(), 1e-9);

    int calls = 0;
    double lastSeen = 0;
    auto cancelled = render(in, {1.1, 0.0}, [&](double f) {
        ++calls;
        lastSeen = f;
        return f < 0.5;
    });
    CHECK_FALSE(cancelled.ok());
    CHECK(cancelled.error().code == Errc::conflict);
    STRCMP_EQUAL("cancelled", cancelled.error().field.c_str());
    // It stopped at the first refusal instead of running to the end.
    CHECK(lastSeen >= 0.5 && lastSeen < 0.6);
}

TEST(Render, fileNamesAreDeterministicAndTellAudibleDifferencesApart) {
    const std::string h = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    STRCMP_EQUAL("0123456789abcdef-t1.20000-p+3.00.wav", renderFileName(h, {1.2, 3.0}).c_str());
    STRCMP_EQUAL("0123456789abcdef-t0.80000-p-2.50.wav", renderFileName(h, {0.8, -2.5}).c_str());
    STRCMP_EQUAL("0123456789abcdef-t1.00000-p+0.00.wav", renderFileName(h, {}).c_str());
    CHECK(renderFileName(h, {1.2, 3.0}) == renderFileName(h, {1.2, 3.0}));
    // Below the resolution: the same name (and no "-0.00").
    CHECK(renderFileName(h, {1.0, 0.0}) == renderFileName(h, {1.000001, -0.001}));
    // At the resolution or above: different names.
    CHECK(renderFileName(h, {1.0, 0.0}) != renderFileName(h, {1.00001, 0.0}));
    CHECK(renderFileName(h, {1.0, 0.0}) != renderFileName(h, {1.0, 0.01}));
    CHECK(renderFileName(h, {1.0, 0.5}) != renderFileName(h, {1.0, -0.5}));
    CHECK(renderFileName(h, {1.0, 0.0}) != renderFileName("f" + h.substr(1), {1.0, 0.0}));
    // tempoRatio(120 -> 100 bpm) gives 1.2, printed without float noise.
    STRCMP_EQUAL("0123456789abcdef-t1.20000-p+0.00.wav", renderFileName(h, {tempoRatio(120, 100), 0.0}).c_str());
}
