#include "engine/Recorder.h"

#include <CppUTest/TestHarness.h>

#include <vector>

using namespace cuebox::engine;

TEST_GROUP(Recorder){};

TEST(Recorder, recordsTheInputPairWithItsGainAndDrainsAfterStop) {
    Recorder rec(48000, 0.1);  // 4800-frame ring
    std::vector<float> a1(64), a2(64), b1(64, 9.0f), b2(64, 9.0f);
    const float* ins[] = {a1.data(), a2.data(), b1.data(), b2.data()};
    CHECK(rec.start(0, 0.5f));
    CHECK_FALSE(rec.start(0, 1.0f));  // already recording
    for (int blk = 0; blk < 10; ++blk) {
        for (int i = 0; i < 64; ++i) {
            a1[static_cast<std::size_t>(i)] = static_cast<float>(blk * 64 + i);
            a2[static_cast<std::size_t>(i)] = -static_cast<float>(blk * 64 + i);
        }
        rec.process(64, ins);
    }
    rec.stop(0);
    rec.process(64, ins);  // stopped: nothing more is taken
    LONGS_EQUAL(640, rec.frames(0));
    std::vector<float> out(2000 * 2);
    LONGS_EQUAL(640, rec.read(0, out.data(), 2000));
    for (int f = 0; f < 640; ++f) {
        DOUBLES_EQUAL(f * 0.5, out[static_cast<std::size_t>(f * 2)], 0);
        DOUBLES_EQUAL(-f * 0.5, out[static_cast<std::size_t>(f * 2 + 1)], 0);
    }
    CHECK(rec.state(0) == Recorder::State::stopping);
    rec.finished(0);
    CHECK(rec.state(0) == Recorder::State::idle);
    LONGS_EQUAL(0, rec.frames(1));  // B was never started
}

TEST(Recorder, aFullRingDropsAndCountsInsteadOfWaiting) {
    Recorder rec(48000, 0.01);  // 480 frames
    std::vector<float> z(64, 0.25f);
    const float* ins[] = {z.data(), z.data(), nullptr, nullptr};
    CHECK(rec.start(0, 1.0f));
    for (int blk = 0; blk < 10; ++blk) rec.process(64, ins);  // 640 frames, nobody reads
    LONGS_EQUAL(480, rec.frames(0));
    LONGS_EQUAL(160, rec.overruns(0));
}
