// Routing matrix, levels (smoothed), monitor and PFL, meters.
#include "engine/Engine.h"
#include "EngineTestUtil.h"

#include <CppUTest/TestHarness.h>

#include <cmath>

using namespace cuebox::engine;
using namespace cuebox::engine::test;

TEST_GROUP(Mixer) {
    std::unique_ptr<Engine> engine;
    void setup() override {
        engine = std::make_unique<Engine>(Config{48000, 5, 1000, 8});
        auto* t = new ClipTable;
        ClipEntry a = clip(1, 1.0f, 0);  // group A
        t->add(a, constantMedia(2, 96000, 0.25f));
        t->add(clip(2, 1.0f, 1), constantMedia(2, 96000, 0.5f));  // group B
        t->finish();
        CHECK(engine->publishTable(t));
    }
};

TEST(Mixer, matrixCrosspointsOutputLevelsAndMasterMultiply) {
    auto* m = new MixConfig(MixConfig::defaults(8));
    m->matrix[0][2] = 0.5f;      // A left -> out_3 at -6 dB
    m->outputLevel[2] = 0.5f;
    m->masterLevel = 0.8f;
    m->busLevel[0] = 1.0f;
    CHECK(engine->publishMix(m));
    Renderer r(*engine);
    engine->post(startCmd(1));
    r.run(200);  // smoothing settles (10 ms time constant)
    DOUBLES_EQUAL(0.25 * 0.5 * 0.5 * 0.8, r.out[2].back(), 1e-5);
    DOUBLES_EQUAL(0.25 * 0.8, r.out[0].back(), 1e-5);
    DOUBLES_EQUAL(0.0, r.out[4].back(), 0);  // not routed
}

TEST(Mixer, aLevelChangeGlidesWithoutAStep) {
    Renderer r(*engine);
    engine->post(startCmd(1));
    r.run(20);
    auto* m = new MixConfig(MixConfig::defaults(8));
    m->busLevel[0] = 0.0f;  // group A fader down at once
    CHECK(engine->publishMix(m));
    const std::size_t at = r.out[0].size();
    r.run(100);
    float maxStep = 0;
    for (std::size_t i = at; i < r.out[0].size(); ++i) maxStep = std::max(maxStep, std::fabs(r.out[0][i] - r.out[0][i - 1]));
    CHECK(maxStep < 0.25f / 200);   // spread over well over 200 samples
    CHECK(r.out[0][at + 96] > 0.1f);  // 2 ms later still sounding
    DOUBLES_EQUAL(0.0, r.out[0].back(), 1e-4);
}

TEST(Mixer, monitorHearsABusOnPreFadeListenEvenWithItsFaderDown) {
    auto* m = new MixConfig(MixConfig::defaults(8));
    m->busLevel[1] = 0.0f;
    m->pfl[1] = true;
    m->monitorLevel = 0.5f;
    CHECK(engine->publishMix(m));
    Renderer r(*engine);
    engine->post(startCmd(2));
    r.run(200);
    DOUBLES_EQUAL(0.0, r.out[0].back(), 1e-5);         // main outputs: fader down
    DOUBLES_EQUAL(0.25, r.out[8].back(), 1e-5);        // monitor_1: 0.5 pre-fader x 0.5
}

TEST(Mixer, metersReportPeakAndRmsPerBusAndOutput) {
    Renderer r(*engine);
    engine->post(startCmd(1));
    r.run(50);
    float pk, rms;
    engine->mixer().busMeter(0).read(pk, rms);
    DOUBLES_EQUAL(0.25, pk, 1e-6);
    DOUBLES_EQUAL(0.25, rms, 1e-3);
    engine->mixer().outputMeter(0).read(pk, rms);
    DOUBLES_EQUAL(0.25, pk, 1e-6);
    engine->mixer().busMeter(2).read(pk, rms);  // group B: silent
    DOUBLES_EQUAL(0.0, pk, 0);
    // Read again: starts afresh.
    engine->mixer().outputMeter(0).read(pk, rms);
    DOUBLES_EQUAL(0.0, pk, 0);
}
