// Long clips: RAM head + disk stream, across loops, with underruns. The test
// thread plays the disk thread, calling service() between blocks.
#include "engine/Engine.h"
#include "EngineTestUtil.h"

#include <CppUTest/TestHarness.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

using namespace cuebox::engine;
using namespace cuebox::engine::test;

namespace {
// A stereo clip of unique sample values, the first `head` frames in RAM.
std::shared_ptr<MediaBuffer> streamedMedia(const std::string& path, std::int64_t frames, std::int64_t head) {
    auto whole = rampMedia(2, frames);
    for (std::int64_t i = 0; i < frames; ++i) {  // unique per frame, not periodic
        whole->samples[static_cast<std::size_t>(i * 2)] = static_cast<float>(std::sin(i * 0.001) * 0.5);
        whole->samples[static_cast<std::size_t>(i * 2 + 1)] = static_cast<float>(std::cos(i * 0.0013) * 0.5);
    }
    FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(whole->samples.data(), sizeof(float), whole->samples.size(), f);
    std::fclose(f);
    auto m = std::make_shared<MediaBuffer>(*whole);
    m->headFrames = head;
    m->samples.resize(static_cast<std::size_t>(head * 2));
    m->streamPath = path;
    return m;
}
float expectedL(std::int64_t i) { return static_cast<float>(std::sin(i * 0.001) * 0.5); }
}  // namespace

TEST_GROUP(Streamer) {
    std::string dir;
    std::unique_ptr<Engine> engine;
    std::shared_ptr<MediaBuffer> media;
    void setup() override {
        char tmpl[] = "/tmp/cuebox-stream-XXXXXX";
        dir = mkdtemp(tmpl);
        engine = std::make_unique<Engine>(Config{48000, 5, 1000, 8});
        media = streamedMedia(dir + "/clip.f32", 48000 * 3, 4800);
        auto* t = new ClipTable;
        t->add(clip(1), media);
        t->add(clip(2, 1.0f, 0, 2), media);  // the same media, played twice
        t->finish();
        CHECK(engine->publishTable(t));
    }
    void teardown() override {
        engine.reset();
        std::filesystem::remove_all(dir);
    }
    // Renders with the disk thread keeping up (service after every block).
    void run(Renderer& r, int blocks, bool disk = true) {
        for (int b = 0; b < blocks; ++b) {
            r.run(1);
            if (disk) engine->streamer().service();
        }
    }
};

TEST(Streamer, playsEveryFrameAcrossTheRamHeadAndTheDiskStream) {
    Renderer r(*engine);
    engine->post(startCmd(1));
    run(r, 48000 * 3 / 64 + 10);
    for (std::int64_t i = 0; i < 48000 * 3; ++i)
        if (std::fabs(r.out[0][static_cast<std::size_t>(i)] - expectedL(i)) > 1e-6f) {
            FAIL(("sample " + std::to_string(i) + " differs").c_str());
            break;
        }
    DOUBLES_EQUAL(0.0, r.out[0].back(), 0);  // ended
    LONGS_EQUAL(0, engine->activeSlots());
    LONGS_EQUAL(0, engine->streamer().underruns());
}

TEST(Streamer, aLoopContinuesFromTheStreamIntoTheStartAgain) {
    Renderer r(*engine);
    engine->post(startCmd(2));  // twice through
    run(r, 48000 * 6 / 64 + 10);
    const std::int64_t n = 48000 * 3;
    for (std::int64_t i = 0; i < 2 * n; i += 97) DOUBLES_EQUAL(expectedL(i % n), r.out[0][static_cast<std::size_t>(i)], 1e-6);
    LONGS_EQUAL(0, engine->streamer().underruns());
}

TEST(Streamer, anUnderrunFadesToSilenceKeepsTimeAndFadesBackIn) {
    Renderer r(*engine);
    engine->post(startCmd(1));
    run(r, 40);                    // 2560 frames: still in the RAM head, ring filled 4 s ahead
    engine->streamer().setStalled(true);
    // The ring holds 4 s beyond the head: reading ahead while stalled, the
    // voice plays on until the data runs out, then fades (no step).
    run(r, 48000 * 3 / 64 + 10);  // the clip's 3 s are all in head+ring: no underrun yet
    LONGS_EQUAL(0, engine->streamer().underruns());

    // A longer clip whose stream outruns the ring.
    auto longMedia = streamedMedia(dir + "/long.f32", 48000 * 10, 4800);
    auto* t = new ClipTable;
    t->add(clip(3), longMedia);
    t->finish();
    CHECK(engine->publishTable(t));
    engine->streamer().setStalled(false);
    Renderer r2(*engine);
    engine->post(startCmd(3));
    run(r2, 2);
    engine->streamer().setStalled(true);  // the disk stops after filling 4 s
    run(r2, 48000 * 5 / 64);              // 5 s: runs dry after ~4.1 s
    CHECK(engine->streamer().underruns() >= 1);
    // Faded, not cut: no sample-to-sample step above the signal's own.
    float maxStep = 0;
    for (std::size_t i = 1; i < r2.out[0].size(); ++i) maxStep = std::max(maxStep, std::fabs(r2.out[0][i] - r2.out[0][i - 1]));
    CHECK(maxStep < 0.01f);
    DOUBLES_EQUAL(0.0, r2.out[0].back(), 0);  // silent while starved
    const std::size_t resumeAt = r2.out[0].size();
    engine->streamer().setStalled(false);
    run(r2, 20);
    // Time ran on: after the fade in, the output is the media at the frame
    // the clock reached, not where it stopped.
    const std::size_t i = r2.out[0].size() - 1;
    DOUBLES_EQUAL(expectedL(static_cast<std::int64_t>(i)), r2.out[0][i], 1e-6);
    CHECK(r2.out[0][resumeAt] == 0.0f || std::fabs(r2.out[0][resumeAt]) < std::fabs(expectedL(static_cast<std::int64_t>(resumeAt))) + 1e-6f);
}
