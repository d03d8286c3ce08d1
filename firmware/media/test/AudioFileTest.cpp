#include "media/AudioFile.h"
#include "media/DemoMedia.h"

#include <CppUTest/TestHarness.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace cuebox;
using namespace cuebox::media;

TEST_GROUP(AudioFile) {
    std::string dir;
    void setup() override {
        char tmpl[] = "/tmp/cuebox-media-XXXXXX";
        dir = mkdtemp(tmpl);
    }
    void teardown() override { std::filesystem::remove_all(dir); }
};

TEST(AudioFile, wavRoundTripsWithin24BitPrecision) {
    AudioData a;
    a.sampleRate = 48000;
    a.channels = 2;
    a.frames = 1000;
    for (int i = 0; i < 2000; ++i) a.samples.push_back(static_cast<float>(std::sin(i * 0.01) * 0.5));
    CHECK(writeWav(dir + "/a.wav", a).ok());
    auto b = readAudioFile(dir + "/a.wav");
    CHECK(b.ok());
    LONGS_EQUAL(1000, b->frames);
    LONGS_EQUAL(2, b->channels);
    for (int i = 0; i < 2000; ++i) DOUBLES_EQUAL(a.samples[static_cast<std::size_t>(i)], b->samples[static_cast<std::size_t>(i)], 1e-6);
}

TEST(AudioFile, resamplesToTheTargetRateKeepingDurationAndPitch) {
    AudioData a;
    a.sampleRate = 44100;
    a.channels = 1;
    a.frames = 44100;
    for (int i = 0; i < 44100; ++i) a.samples.push_back(static_cast<float>(std::sin(2 * M_PI * 1000.0 * i / 44100.0) * 0.5));
    auto b = resample(a, 48000);
    CHECK(b.ok());
    CHECK(std::abs(b->frames - 48000) <= 2);
    // Mid-file, the output is still a 1 kHz sine at 48 kHz.
    const std::size_t n = 24000;
    double err = 0;
    for (std::size_t i = n; i < n + 480; ++i) {
        const double expect = 0.5 * std::sin(2 * M_PI * 1000.0 * static_cast<double>(i) / 48000.0);
        err = std::max(err, std::abs(expect - b->samples[i]));
    }
    CHECK(err < 0.01);
}

TEST(AudioFile, aTextFileNamedWavIsRefusedWithTheReason) {
    std::ofstream(dir + "/fake.wav") << "this is not audio";
    auto r = readAudioFile(dir + "/fake.wav");
    CHECK_FALSE(r.ok());
    STRCMP_EQUAL("file", r.error().field.c_str());
    CHECK(r.error().reason.find("fake.wav") != std::string::npos);
}

TEST(AudioFile, demoMediaWritesSixteenPlayableClips) {
    auto clips = generateDemoMedia(dir + "/media", 48000);
    CHECK(clips.ok());
    LONGS_EQUAL(16, clips->size());
    for (const auto& c : *clips) {
        auto info = probeAudioFile(dir + "/media/" + c.file);
        CHECK(info.ok());
        LONGS_EQUAL(c.channels, info->channels);
        DOUBLES_EQUAL(c.durationS, info->durationS(), 0.001);
    }
}
