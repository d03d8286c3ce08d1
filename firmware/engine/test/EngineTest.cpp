#include "engine/Engine.h"
#include "EngineTestUtil.h"

#include <CppUTest/TestHarness.h>

#include <algorithm>
#include <cmath>

using namespace cuebox::engine;
using namespace cuebox::engine::test;

TEST_GROUP(Engine) {
    std::unique_ptr<Engine> engine;
    std::shared_ptr<MediaBuffer> stereo, mono, shortConst;
    void setup() override {
        engine = std::make_unique<Engine>(Config{48000, 5, 1000});
        stereo = rampMedia(2, 48000);
        mono = rampMedia(1, 48000);
        shortConst = constantMedia(2, 1000, 0.5f);
        auto* t = new ClipTable;
        ClipEntry one = clip(1);
        one.fadeOut = {480, Curve::linear};
        t->add(one, stereo);
        t->add(clip(2), mono);
        t->add(clip(3, 0.5f, 0, 0), shortConst);  // loops forever
        t->add(clip(4), nullptr);
        t->finish();
        CHECK(engine->publishTable(t));
    }
    void teardown() override { engine.reset(); }
};

TEST(Engine, stereoClipSamplesAppearOnOut1AndOut2Exactly) {
    Renderer r(*engine);
    engine->post(startCmd(1));
    r.run(10);
    for (std::size_t i = 0; i < 640; ++i) {
        DOUBLES_EQUAL(stereo->samples[i * 2], r.out[0][i], 1e-7);
        DOUBLES_EQUAL(stereo->samples[i * 2 + 1], r.out[1][i], 1e-7);
    }
    for (std::size_t o = 2; o < r.out.size(); ++o)
        DOUBLES_EQUAL(0.0, *std::max_element(r.out[o].begin(), r.out[o].end()), 0);
}

TEST(Engine, monoClipIsCentredAtMinus3dB) {
    Renderer r(*engine);
    engine->post(startCmd(2));
    r.run(2);
    DOUBLES_EQUAL(mono->samples[10] * 0.70710678, r.out[0][10], 1e-7);
    DOUBLES_EQUAL(r.out[0][10], r.out[1][10], 0);
}

TEST(Engine, stopFadesOutOverTheClipsFadeInsteadOfCutting) {
    Renderer r(*engine);
    engine->post(startCmd(1));
    r.run(4);
    const std::size_t stopAt = r.out[0].size();
    engine->post(stopCmd(1));  // clip 1 fades out over 480 frames
    r.run(12);
    // The gain (output / source) falls steadily from 1 to 0 over 480 frames.
    double prevGain = 1.0;
    for (std::size_t i = stopAt; i < stopAt + 470; ++i) {
        double gain = r.out[0][i] / stereo->samples[i * 2];
        CHECK(gain <= prevGain + 1e-6);
        CHECK(prevGain - gain < 1.5 / 480);
        prevGain = gain;
    }
    CHECK(prevGain < 0.05);
    for (std::size_t i = stopAt + 480; i < r.out[0].size(); ++i) DOUBLES_EQUAL(0.0, r.out[0][i], 0);
    CHECK(r.out[0][stopAt + 100] > 0.0f);  // not cut
}

TEST(Engine, stopWithoutFadeStillGetsTheProtectionFade) {
    Renderer r(*engine);
    engine->post(startCmd(2));
    r.run(4);
    const std::size_t stopAt = r.out[0].size();
    engine->post(stopCmd(2));
    r.run(8);
    // 5 ms protection fade = 240 frames: sound continues, attenuating.
    CHECK(r.out[0][stopAt + 120] > 0.0f);
    CHECK(r.out[0][stopAt + 120] < mono->samples[stopAt + 120] * 0.70710678f);
    DOUBLES_EQUAL(0.0, r.out[0][stopAt + 240], 0);
}

TEST(Engine, scheduledStartLandsOnTheExactSample) {
    Renderer r(*engine);
    const std::uint64_t target = r.frame() + 200;  // inside the 4th block
    engine->post(startCmd(1, target));
    r.run(6);
    for (std::size_t i = 0; i < 200; ++i) DOUBLES_EQUAL(0.0, r.out[0][i], 0);
    DOUBLES_EQUAL(stereo->samples[0], r.out[0][200], 1e-7);
    bool sawStarted = false;
    for (auto& e : r.events())
        if (e.type == Event::Type::started) {
            sawStarted = true;
            LONGS_EQUAL(target, e.frame);
        }
    CHECK(sawStarted);
}

TEST(Engine, toggleStartsThenStops) {
    Renderer r(*engine);
    Command t;
    t.type = Command::Type::toggle;
    t.clip = 1;
    engine->post(t);
    r.run(2);
    LONGS_EQUAL(2, engine->activeSlots());
    engine->post(t);
    r.run(20);
    LONGS_EQUAL(0, engine->activeSlots());
    auto ev = r.events();
    CHECK(std::any_of(ev.begin(), ev.end(), [](const Event& e) { return e.type == Event::Type::stopping; }));
}

TEST(Engine, loopWrapsAndNonLoopEndsByItself) {
    Renderer r(*engine);
    engine->post(startCmd(3));  // 1000 frames, loop, gain 0.5 -> 0.25
    r.run(40);                  // 2560 frames
    DOUBLES_EQUAL(0.25, r.out[0][2500], 1e-7);
    LONGS_EQUAL(2, engine->activeSlots());
}

TEST(Engine, unknownClipAndMissingMediaAreRefused) {
    Renderer r(*engine);
    engine->post(startCmd(99));
    engine->post(startCmd(4));
    r.run(1);
    auto ev = r.events();
    LONGS_EQUAL(2, ev.size());
    CHECK(ev[0].type == Event::Type::refused && ev[0].reason == RefuseReason::unknownClip);
    CHECK(ev[1].type == Event::Type::refused && ev[1].reason == RefuseReason::noMedia);
    LONGS_EQUAL(0, engine->activeSlots());
}

TEST(Engine, secondPanicWithinTheFadeStopsAtOnce) {
    Renderer r(*engine);
    engine->post(startCmd(2));
    r.run(2);
    Command p;
    p.type = Command::Type::panic;
    engine->post(p);
    r.run(10);  // 640 frames into a 1 s panic fade: still sounding
    CHECK(engine->activeSlots() > 0);
    engine->post(p);
    r.run(5);  // protection fade (240 frames) is over
    LONGS_EQUAL(0, engine->activeSlots());
}

TEST(Engine, oldTableIsRetiredOnlyAfterItsLastVoiceEnds) {
    Renderer r(*engine);
    engine->post(startCmd(1));
    r.run(1);
    auto* t2 = new ClipTable;
    t2->add(clip(1), rampMedia(2, 48000));  // other media: the voice keeps the old table
    t2->finish();
    CHECK(engine->publishTable(t2));
    r.run(2);
    POINTERS_EQUAL(nullptr, engine->takeRetiredTable());  // voice still reads the old table
    engine->post(stopCmd(1, 64));
    r.run(4);
    ClipTable* old = engine->takeRetiredTable();
    CHECK(old != nullptr);
    delete old;
}

TEST(Engine, startEventReportsLatencyFromQueueToFirstSample) {
    Renderer r(*engine);
    r.run(1);
    Command c = startCmd(1);
    c.queuedFrame = r.frame() - 10;  // reached the engine 10 frames before this block
    engine->post(c);
    r.run(1);
    for (auto& e : r.events())
        if (e.type == Event::Type::started) LONGS_EQUAL(10, e.latencyFrames);
}

TEST(Engine, aCommandPostedDuringACycleIsPickedUpByTheNextOne) {
    Renderer r(*engine);
    r.run(3);
    Command c = startCmd(1);
    c.postedAfterBlock = engine->lastBlockFrame();  // posted while that cycle ran
    c.postedNs = LoadMeter::nowNs();
    engine->post(c);
    r.run(1);
    bool seen = false;
    for (auto& e : r.events())
        if (e.type == Event::Type::started) {
            seen = true;
            LONGS_EQUAL(1, e.cyclesWaited);
            CHECK(e.waitNs >= 0);
        }
    CHECK(seen);
}
