#include "sync/Clock.h"

#include <CppUTest/TestHarness.h>

#include <cmath>
#include <random>

using namespace cuebox::sync;

namespace {
constexpr std::int64_t kMs = 1'000'000;

// Feeds `id` one observation every 40 ms (an LTC frame at 25 fps) from
// `from` to `to`: the source runs `ppm` fast with Gaussian jitter.
void feed(Arbiter& a, SourceId id, std::int64_t from, std::int64_t to, double ppm = 0, double jitterNs = 0, unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0, jitterNs > 0 ? jitterNs : 1e-9);
    a.monitor(id).setPresent(true, from);
    for (std::int64_t t = from; t <= to; t += 40 * kMs) a.monitor(id).observe(t, static_cast<double>(t - from) * ppm * 1e-6 + noise(rng));
}

ClockConfig config(std::vector<Kind> order) {
    ClockConfig c;
    c.order = std::move(order);
    return c;
}

const SourceId kLtc{Kind::ltc, 0}, kPtp{Kind::ptp, 0}, kInternal{};
}  // namespace

TEST_GROUP(SourceMonitor){};

TEST(SourceMonitor, DriftJitterAndQualityFromTheFit) {
    Arbiter a;
    feed(a, kLtc, 0, 8000 * kMs, 50, 2000);
    const Measures m = a.monitor(kLtc).measures(Limits{});
    DOUBLES_EQUAL(50, m.driftPpm, 2);
    DOUBLES_EQUAL(2000, m.jitterNs, 300);
    CHECK(m.instabilityPpm < 5);
    // Drift 50 of 100 ppm is the worst ratio: quality 1 / 1.5.
    DOUBLES_EQUAL(1 / 1.5, m.quality, 0.02);
    // At its limit a measure gives quality 0.5.
    Limits tight;
    tight.maxDriftPpm = 50;
    DOUBLES_EQUAL(0.5, a.monitor(kLtc).measures(tight).quality, 0.02);
}

TEST(SourceMonitor, OldObservationsLeaveTheWindow) {
    Arbiter a;
    auto& m = a.monitor(kLtc);
    m.setPresent(true, 0);
    // 5 s at +200 ppm, then 10 s steady: the fit sees only the steady part.
    for (std::int64_t t = 0; t <= 15000 * kMs; t += 100 * kMs)
        m.observe(t, t < 5000 * kMs ? static_cast<double>(t) * 200e-6 : 5000 * kMs * 200e-6);
    DOUBLES_EQUAL(0, m.measures(Limits{}).driftPpm, 0.5);
}

TEST_GROUP(Arbiter){};

TEST(Arbiter, TakesAHigherSourceOnceLockedForRecoverMs) {
    Arbiter a;
    a.configure(config({Kind::ltc, Kind::internal}), 0);
    CHECK(a.active() == kInternal);
    feed(a, kLtc, 0, 1000 * kMs);
    CHECK(!a.update(1000 * kMs));  // locked since now: not yet
    CHECK(a.health(kLtc, 1000 * kMs) == Health::locked);
    feed(a, kLtc, 1000 * kMs, 6100 * kMs);
    a.monitor(kLtc).setPresent(true, 0);
    auto s = a.update(6100 * kMs);
    CHECK(s.has_value());
    CHECK(s->to == kLtc);
    STRCMP_EQUAL("recovered", s->reason.c_str());
    CHECK(!s->emergency);
}

TEST(Arbiter, LossOfTheActiveSourceFailsOverInOneUpdate) {
    Arbiter a;
    a.configure(config({Kind::ptp, Kind::ltc, Kind::internal}), 0);
    feed(a, kPtp, 0, 7000 * kMs);
    feed(a, kLtc, 0, 7000 * kMs);
    a.update(1000 * kMs);
    auto s = a.update(7000 * kMs);
    CHECK(s && s->to == kPtp);
    a.monitor(kPtp).setPresent(false, 7040 * kMs);
    s = a.update(7040 * kMs);
    CHECK(s.has_value());
    CHECK(s->emergency);
    STRCMP_EQUAL("lost", s->reason.c_str());
    CHECK(s->from == kPtp);
    CHECK(s->to == kLtc);  // the next in the order, not the box's clock
    CHECK(s->freewheelNs >= s->detectedNs || s->detectedNs == 7040 * kMs);
    CHECK(s->selectedNs >= s->freewheelNs);
    CHECK(a.active() == kLtc);
    // ptp comes back: taken back only after recoverMs locked.
    feed(a, kPtp, 7100 * kMs, 8000 * kMs);
    CHECK(!a.update(8000 * kMs));
    feed(a, kPtp, 8000 * kMs, 13200 * kMs);
    s = a.update(13200 * kMs);
    CHECK(s && s->to == kPtp);
}

TEST(Arbiter, FreewheelKeepsALostSourceForHoldMs) {
    Arbiter a;
    auto c = config({Kind::ltc, Kind::internal});
    c.kinds[static_cast<int>(Kind::ltc)].onLoss = OnLoss::freewheel;
    c.holdMs = 800;
    a.configure(c, 0);
    feed(a, kLtc, 0, 6000 * kMs);
    a.update(500 * kMs);
    CHECK(a.update(6000 * kMs).has_value());
    a.monitor(kLtc).setPresent(false, 6000 * kMs);
    CHECK(!a.update(6040 * kMs));
    CHECK(a.freewheeling());
    CHECK(a.active() == kLtc);
    CHECK(!a.update(6800 * kMs));
    auto s = a.update(6841 * kMs);
    CHECK(s && s->to == kInternal && s->emergency);
    CHECK(!a.freewheeling());
}

TEST(Arbiter, ADegradedSourceIsKeptForHoldMsThenLeft) {
    Arbiter a;
    auto c = config({Kind::ptp, Kind::ltc, Kind::internal});
    c.kinds[static_cast<int>(Kind::ptp)].limits.maxJitterUs = 1;
    c.holdMs = 1000;
    a.configure(c, 0);
    feed(a, kLtc, 0, 7000 * kMs);
    feed(a, kPtp, 0, 7000 * kMs, 0, 100);
    a.update(1000 * kMs);
    CHECK(a.update(7000 * kMs)->to == kPtp);
    // 5 µs of jitter against a 1 µs limit: degraded.
    feed(a, kPtp, 7000 * kMs, 17000 * kMs, 0, 5000, 7);
    a.monitor(kPtp).setPresent(true, 0);
    CHECK(a.health(kPtp, 17000 * kMs) == Health::degraded);
    CHECK(!a.update(17000 * kMs));
    CHECK(!a.update(17900 * kMs));
    auto s = a.update(18001 * kMs);
    CHECK(s && s->to == kLtc && !s->emergency);
    STRCMP_EQUAL("degraded", s->reason.c_str());
}

TEST(Arbiter, MidiPortsAreEqualAndAnotherPortTakesOver) {
    Arbiter a;
    a.configure(config({Kind::mtc, Kind::internal}), 0);
    const SourceId m1{Kind::mtc, 0}, m2{Kind::mtc, 1};
    feed(a, m1, 0, 7000 * kMs, 0, 3000);
    feed(a, m2, 0, 7000 * kMs, 0, 100, 3);
    a.update(500 * kMs);
    auto s = a.update(7000 * kMs);
    CHECK(s && s->to == m2);  // the better of two equals
    STRCMP_EQUAL("mtc:2", s->to.name().c_str());
    a.monitor(m2).setPresent(false, 7040 * kMs);
    s = a.update(7040 * kMs);
    CHECK(s && s->to == m1 && s->emergency);
}

TEST(Arbiter, WithoutAutoFailoverOnlyThePrimaryAndTheBoxClock) {
    Arbiter a;
    auto c = config({Kind::ptp, Kind::ltc, Kind::internal});
    c.autoFailover = false;
    a.configure(c, 0);
    feed(a, kPtp, 0, 7000 * kMs);
    feed(a, kLtc, 0, 7000 * kMs);
    a.update(500 * kMs);
    CHECK(a.update(7000 * kMs)->to == kPtp);
    a.monitor(kPtp).setPresent(false, 7040 * kMs);
    CHECK(a.update(7040 * kMs)->to == kInternal);
    CHECK(!a.update(20000 * kMs));  // ltc is locked, but not the primary
}

TEST(Arbiter, RefusedAndDisabledSourcesAreNeverUsed) {
    Arbiter a;
    a.configure(config({Kind::ptp, Kind::ltc, Kind::internal}), 0);
    feed(a, kPtp, 0, 7000 * kMs);
    feed(a, kLtc, 0, 7000 * kMs);
    a.update(500 * kMs);
    a.update(7000 * kMs);
    CHECK(a.active() == kPtp);
    a.monitor(kPtp).setRefused(true);  // a grandmaster not on the allow-list
    auto s = a.update(7040 * kMs);
    CHECK(s && s->to == kLtc);
    STRCMP_EQUAL("refused", s->reason.c_str());
    CHECK(a.health(kPtp, 20000 * kMs) == Health::refused);
    CHECK(!a.update(20000 * kMs));
    // LTC disabled in the settings: the box's clock.
    auto c = a.config();
    c.kinds[static_cast<int>(Kind::ltc)].enabled = false;
    a.configure(c, 20000 * kMs);
    s = a.update(20040 * kMs);
    CHECK(s && s->to == kInternal);
    STRCMP_EQUAL("disabled", s->reason.c_str());
}

TEST(Arbiter, NamesRoundTrip) {
    for (int k = 0; k < kKinds; ++k) CHECK(kindFromName(kindName(static_cast<Kind>(k))) == static_cast<Kind>(k));
    CHECK(!kindFromName("gps"));
}

TEST(Arbiter, AMidiKindFreewheelsByTheKindsSetting) {
    Arbiter a;
    auto c = config({Kind::mtc, Kind::internal});
    c.kinds[static_cast<int>(Kind::mtc)].onLoss = OnLoss::freewheel;
    c.holdMs = 500;
    a.configure(c, 0);
    const SourceId m1{Kind::mtc, 0};
    feed(a, m1, 0, 6000 * kMs);
    a.update(500 * kMs);
    CHECK(a.update(6000 * kMs).has_value());
    a.monitor(m1).setPresent(false, 6000 * kMs);
    CHECK(!a.update(6040 * kMs));
    CHECK(a.freewheeling());
    auto s = a.update(6600 * kMs);
    CHECK(s.has_value() && s->to == kInternal);
}
