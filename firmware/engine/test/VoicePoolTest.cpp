// The voice pool: FIFO steal, choke groups and their reservation, the
// audition voice, play modes, pause, loops, overload refusal.
#include "engine/Engine.h"
#include "EngineTestUtil.h"

#include <CppUTest/TestHarness.h>

#include <algorithm>
#include <cmath>

using namespace cuebox::engine;
using namespace cuebox::engine::test;

namespace {
constexpr std::uint64_t kMono = 1, kStereo = 2, kChokeB = 3, kGate = 4, kRetrig = 5, kLoop3 = 6, kAudition = 7,
                        kFadeInStereo = 8;

int countEvents(const std::vector<Event>& ev, Event::Type t) {
    return static_cast<int>(std::count_if(ev.begin(), ev.end(), [t](const Event& e) { return e.type == t; }));
}

float maxJump(const std::vector<float>& x, std::size_t from = 1) {
    float m = 0;
    for (std::size_t i = std::max<std::size_t>(from, 1); i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - x[i - 1]));
    return m;
}
}  // namespace

TEST_GROUP(VoicePool) {
    std::unique_ptr<Engine> engine;
    void setup() override {
        engine = std::make_unique<Engine>(Config{48000, 5, 1000, 8});
        auto* t = new ClipTable;
        t->add(clip(kMono, 1.0f, 0), constantMedia(1, 48000, 0.01f));
        t->add(clip(kStereo, 1.0f, 0), constantMedia(2, 48000, 0.01f));
        t->add(clip(kChokeB, 1.0f, 1), constantMedia(2, 48000, 0.01f));
        ClipEntry gate = clip(kGate, 1.0f, 2);
        gate.mode = PlayMode::gate;
        gate.fadeOut = {960, Curve::linear};
        t->add(gate, constantMedia(1, 48000, 0.1f));
        ClipEntry rt = clip(kRetrig, 1.0f, 3);
        rt.mode = PlayMode::retrigger;
        rt.crossfade = {480, Curve::equalPower};
        rt.powerComp = true;
        t->add(rt, constantMedia(2, 48000, 0.2f));
        t->add(clip(kLoop3, 1.0f, 0, 3), constantMedia(2, 1000, 0.1f));
        t->add(clip(kAudition, 1.0f, 0), constantMedia(2, 48000, 0.3f));
        ClipEntry fi = clip(kFadeInStereo, 1.0f, 0);
        fi.fadeIn = {240, Curve::linear};
        t->add(fi, constantMedia(2, 48000, 0.01f));
        t->finish();
        CHECK(engine->publishTable(t));
    }
    void setChoke(int group) {
        auto* m = new MixConfig(MixConfig::defaults(8));
        m->choke[static_cast<std::size_t>(group)] = true;
        CHECK(engine->publishMix(m));
    }
};

TEST(VoicePool, fullPoolStealsTheOldestVoiceWithAProtectionFade) {
    Renderer r(*engine);
    for (int i = 0; i < 48; ++i) engine->post(startCmd(kMono));
    r.run(2);
    LONGS_EQUAL(48, engine->activeSlots());
    r.events();
    const std::size_t at = r.out[0].size();
    engine->post(startCmd(kFadeInStereo));  // needs two slots
    r.run(10);
    auto ev = r.events();
    LONGS_EQUAL(2, countEvents(ev, Event::Type::stolen));  // the two oldest mono voices
    LONGS_EQUAL(48, engine->activeSlots());
    const auto u = engine->usage();
    LONGS_EQUAL(46, u.mono);
    LONGS_EQUAL(1, u.stereo);
    // Stolen voices fade over 240 frames: no step in the output.
    CHECK(maxJump(r.out[0], at) < 0.0005f);
    // Afterwards the mix is 46 mono voices (centred) plus the stereo one.
    DOUBLES_EQUAL(46 * 0.01 * 0.70710678 + 0.01, r.out[0].back(), 1e-5);
}

TEST(VoicePool, stealingIsFirstInFirstOut) {
    Renderer r(*engine);
    for (int i = 0; i < 47; ++i) engine->post(startCmd(kMono));
    r.run(1);
    engine->post(startCmd(kLoop3));  // the newest... until it is the oldest left
    r.run(1);
    r.events();
    engine->post(startCmd(kStereo));  // 2 slots: steals the two oldest mono voices, not kLoop3
    r.run(1);
    auto ev = r.events();
    for (const auto& e : ev)
        if (e.type == Event::Type::stolen) LONGS_EQUAL(kMono, e.clip);
}

TEST(VoicePool, fourthStartInAChokeGroupFadesTheOldestOfTheGroup) {
    setChoke(1);
    Renderer r(*engine);
    for (int i = 0; i < 3; ++i) {
        engine->post(startCmd(kChokeB));
        r.run(1);
    }
    r.events();
    const std::size_t at = r.out[0].size();
    engine->post(startCmd(kChokeB));
    r.run(8);
    auto ev = r.events();
    LONGS_EQUAL(1, countEvents(ev, Event::Type::choked));
    LONGS_EQUAL(3, engine->usage().stereo);
    // The new voice starts (+0.01, a DC clip without fade in) while the
    // choked one fades over the 240-frame protection fade: 0.04 -> 0.03.
    DOUBLES_EQUAL(0.04, r.out[0][at], 1e-4);
    DOUBLES_EQUAL(0.035, r.out[0][at + 120], 5e-4);
    DOUBLES_EQUAL(0.03, r.out[0][at + 300], 1e-6);
    DOUBLES_EQUAL(0.03, r.out[0].back(), 1e-6);  // three voices left
}

TEST(VoicePool, chokeGroupSlotsAreReservedFromOtherGroups) {
    setChoke(1);
    Renderer r(*engine);
    for (int i = 0; i < 48; ++i) engine->post(startCmd(kMono));
    r.run(1);
    auto u = engine->usage();
    LONGS_EQUAL(6, u.reserved);
    LONGS_EQUAL(42, u.slots);  // 48 - 6 reserved
    CHECK(countEvents(r.events(), Event::Type::stolen) >= 6);
    for (int i = 0; i < 3; ++i) engine->post(startCmd(kChokeB));
    r.run(1);
    auto ev = r.events();
    LONGS_EQUAL(0, countEvents(ev, Event::Type::stolen));  // took nothing from group A
    LONGS_EQUAL(3, countEvents(ev, Event::Type::started));
    LONGS_EQUAL(48, engine->usage().slots);
}

TEST(VoicePool, auditionVoiceIsNeverCountedNorStolenAndPlaysOnTheMonitor) {
    Renderer r(*engine);
    Command a = cmd(Command::Type::audition, kAudition);
    engine->post(a);
    for (int i = 0; i < 60; ++i) engine->post(startCmd(kMono));
    r.run(4);
    auto u = engine->usage();
    CHECK(u.audition);
    LONGS_EQUAL(48, u.slots);
    for (const auto& e : r.events()) CHECK(!(e.type == Event::Type::stolen && e.clip == kAudition));
    const std::size_t mon = static_cast<std::size_t>(engine->outputs());
    DOUBLES_EQUAL(0.3, r.out[mon].back(), 1e-6);      // monitor_1: the audition bus
    DOUBLES_EQUAL(48 * 0.01 * 0.70710678, r.out[0].back(), 1e-5);  // out_1: the pool only
}

TEST(VoicePool, criticalLoadRefusesNewVoicesButNotTheAudition) {
    Renderer r(*engine);
    engine->overloadGuard().update(0.95f);
    engine->post(startCmd(kMono));
    engine->post(cmd(Command::Type::audition, kAudition));
    r.run(1);
    auto ev = r.events();
    CHECK(std::any_of(ev.begin(), ev.end(), [](const Event& e) {
        return e.type == Event::Type::refused && e.reason == RefuseReason::overload && e.clip == kMono;
    }));
    CHECK(engine->usage().audition);
    LONGS_EQUAL(0, engine->usage().slots);
}

TEST(VoicePool, gatePlaysWhileHeldAndReleaseFadesOut) {
    Renderer r(*engine);
    engine->post(cmd(Command::Type::press, kGate));
    r.run(10);
    CHECK(r.out[0].back() > 0.05f);
    const std::size_t at = r.out[0].size();
    engine->post(cmd(Command::Type::release, kGate));
    r.run(20);
    CHECK(r.out[0][at + 480] > 0.02f && r.out[0][at + 480] < 0.05f);  // half way through 960 frames
    DOUBLES_EQUAL(0.0, r.out[0][at + 960], 0);
    LONGS_EQUAL(0, engine->activeSlots());
}

TEST(VoicePool, loopCountPlaysExactlyThatManyTimes) {
    Renderer r(*engine);
    engine->post(startCmd(kLoop3));  // 1000 frames x 3
    r.run(60);
    DOUBLES_EQUAL(0.1, r.out[0][2999], 1e-7);
    DOUBLES_EQUAL(0.0, r.out[0][3000], 0);
    LONGS_EQUAL(0, engine->activeSlots());
}

TEST(VoicePool, retriggerRestartsWithAPowerCompensatedCrossfade) {
    Renderer r(*engine);
    engine->post(cmd(Command::Type::press, kRetrig));
    r.run(4);
    engine->post(cmd(Command::Type::press, kRetrig));
    r.run(2);
    LONGS_EQUAL(1, engine->usage().stereo);  // the old voice no longer counts
    r.run(20);
    auto ev = r.events();
    LONGS_EQUAL(2, countEvents(ev, Event::Type::started));
    LONGS_EQUAL(1, countEvents(ev, Event::Type::stopped));  // the old one, after the crossfade
}

TEST(VoicePool, pauseHoldsThePositionAndResumeContinuesFromIt) {
    Renderer r(*engine);
    engine->post(startCmd(kStereo));
    r.run(5);  // 320 frames in
    engine->post(cmd(Command::Type::pause, kStereo));
    r.run(10);
    const std::int64_t held = engine->voice(0).position.load();
    DOUBLES_EQUAL(0.0, r.out[0].back(), 0);
    CHECK(engine->voice(0).state.load() == VoiceState::paused);
    r.run(10);
    LONGS_EQUAL(held, engine->voice(0).position.load());
    engine->post(cmd(Command::Type::resume, kStereo));
    r.run(10);
    LONGS_EQUAL(held + 640, engine->voice(0).position.load());  // continued from where it paused
    DOUBLES_EQUAL(0.01, r.out[0].back(), 1e-7);
}

TEST(VoicePool, stopGroupFadesOnlyThatGroup) {
    Renderer r(*engine);
    engine->post(startCmd(kMono));    // group A
    engine->post(startCmd(kChokeB));  // group B
    r.run(2);
    Command g = cmd(Command::Type::stopGroup);
    g.group = 1;
    engine->post(g);
    r.run(10);
    LONGS_EQUAL(1, engine->usage().mono);
    LONGS_EQUAL(0, engine->usage().stereo);
}
