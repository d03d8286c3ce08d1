// MIDI beat clock (sync/MidiClock.h): the tempo from jittered tick stamps,
// start / stop / continue / song position, beat frames predicted from the
// fit, and a clock that goes silent, jumps in tempo or restarts its phase.
#include "sync/MidiClock.h"

#include <CppUTest/TestHarness.h>

#include <cmath>
#include <cstdlib>

using namespace cuebox::sync;

namespace {
constexpr int kRate = 48000;
constexpr std::uint8_t kTick[1] = {0xF8}, kStart[1] = {0xFA}, kContinue[1] = {0xFB}, kStop[1] = {0xFC};

double tickFrames(double bpm) { return 60.0 * kRate / (bpm * 24); }

// Deterministic stamp jitter in [lo, hi].
struct Jitter {
    int lo = 0, hi = 0;
    std::uint32_t state = 4242;
    int next() {
        if (lo == hi) return lo;
        state = state * 1664525u + 1013904223u;
        return lo + static_cast<int>((state >> 8) % static_cast<std::uint32_t>(hi - lo + 1));
    }
};

// A steady source: tick i at at + i * tickFrames(bpm) (+ jitter).
struct Source {
    double bpm;
    double at;
    Jitter jitter{};
    int next = 0;  // the next tick's number
    double exact(int i) const { return at + i * tickFrames(bpm); }
    // Sends `count` ticks; returns the stamp of the last.
    std::uint64_t send(MidiClock& c, int count) {
        std::uint64_t stamp = 0;
        for (int k = 0; k < count; ++k, ++next) {
            stamp = static_cast<std::uint64_t>(std::llround(exact(next)) + jitter.next());
            CHECK(c.feed(kTick, 1, stamp) == MidiClock::Event::tick);
        }
        return stamp;
    }
};

long long err(std::uint64_t got, double want) { return std::llabs(static_cast<long long>(got) - std::llround(want)); }
}  // namespace

TEST_GROUP(MidiClock){};

TEST(MidiClock, tempoFromStampsJitteredByAPeriod) {
    // Stamps up to one 256-frame JACK period late, as a MIDI bridge that
    // stamps at cycle boundaries makes them.
    for (double bpm : {90.0, 120.0, 174.0}) {
        MidiClock c(kRate);
        Source s{bpm, 100000, Jitter{0, 255}};
        c.feed(kStart, 1, 100000);
        s.send(c, static_cast<int>(bpm * 24 / 60 * 6));  // 6 s
        DOUBLES_EQUAL(bpm, c.status().bpm, 0.1);
        CHECK(c.status().state == MidiClockStatus::State::locked);
        // uniform over 256 frames: stdev 74 frames, 1.54 ms
        CHECK(c.status().jitterUs > 1100 && c.status().jitterUs < 2000);
        CHECK(c.status().driftPpm > 0 && c.status().driftPpm < 1000);
        LONGS_EQUAL(0, c.status().jumps);
        LONGS_EQUAL(s.next, c.status().ticks);
        LONGS_EQUAL(s.next, c.status().songPositionTicks);
    }
}

TEST(MidiClock, exactStampsReadExactly) {
    MidiClock c(kRate);
    Source s{120, 5000};
    s.send(c, 200);
    DOUBLES_EQUAL(120, c.status().bpm, 1e-6);
    DOUBLES_EQUAL(0, c.status().jitterUs, 1);
    DOUBLES_EQUAL(0, c.status().driftPpm, 1);
}

TEST(MidiClock, lockedAfterABeatOfTicks) {
    MidiClock c(kRate);
    Source s{120, 0};
    s.send(c, 10);
    CHECK(c.status().state == MidiClockStatus::State::none);
    s.send(c, 14);
    CHECK(c.status().state == MidiClockStatus::State::locked);
}

TEST(MidiClock, beatsArePredictedFromTheFit) {
    MidiClock c(kRate);
    Source s{120, 50000};
    CHECK(!c.beatFrame(0));  // nothing heard
    CHECK(c.feed(kStart, 1, 50000) == MidiClock::Event::start);
    CHECK(!c.beatFrame(0));  // running, but no tick yet
    s.send(c, 50);
    CHECK(c.status().running);
    LONGS_EQUAL(50000, *c.beatFrame(0));  // the first tick after start
    LONGS_EQUAL(50000 + 5 * 24000, *c.beatFrame(5));
    LONGS_EQUAL(50000 + 1000, *c.tickFrame(1));
    // The next beat at or after a frame.
    auto b = c.nextBeat(50000 + 49000 + 1);
    CHECK(b.has_value());
    LONGS_EQUAL(3, b->beat);
    LONGS_EQUAL(50000 + 72000, b->frame);
    LONGS_EQUAL(50000 + 72000, *c.nextBeatFrame(50000 + 72000));
    LONGS_EQUAL(50000 + 96000, *c.nextBeatFrame(50000 + 72001));
    LONGS_EQUAL(50000, *c.nextBeatFrame(0));
}

TEST(MidiClock, jitteredStampsStillPlaceTheNextBeatClosely) {
    for (double bpm : {90.0, 120.0, 174.0}) {
        MidiClock c(kRate);
        Source s{bpm, 1000, Jitter{-128, 128}};
        c.feed(kStart, 1, 1000);
        long long worst = 0, sum = 0;
        int n = 0;
        for (int round = 0; round < 40; ++round) {
            const std::uint64_t last = s.send(c, 24);
            if (round < 4) continue;  // a full window first
            // The next beat from just after the last tick: 24 ticks ahead.
            auto b = c.nextBeat(last + 1);
            CHECK(b.has_value());
            LONGS_EQUAL(s.next / 24, b->beat);
            const long long e = err(b->frame, s.exact(static_cast<int>(b->beat) * 24));
            worst = std::max(worst, e);
            sum += e;
            ++n;
        }
        // one stamp is off by up to 128 frames
        CHECK(worst <= 64);
        CHECK(sum / n <= 24);
    }
}

TEST(MidiClock, startStopContinueAndSongPosition) {
    MidiClock c(kRate);
    Source s{120, 0};
    // The clock runs before the transport does: tempo, no position.
    s.send(c, 48);
    CHECK(!c.status().running);
    LONGS_EQUAL(0, c.status().songPositionTicks);
    CHECK(!c.beatFrame(0));
    DOUBLES_EQUAL(120, c.status().bpm, 1e-6);
    // Start between ticks 47 and 48: tick 48 is beat 0, predicted before it comes.
    c.feed(kStart, 1, 47500);
    CHECK(c.status().running);
    LONGS_EQUAL(48000, *c.beatFrame(0));
    s.send(c, 30);  // ticks 48..77: positions 0..29
    LONGS_EQUAL(30, c.status().songPositionTicks);
    LONGS_EQUAL(48000 + 24000, *c.beatFrame(1));
    // Stop: the position holds while ticks go on.
    CHECK(c.feed(kStop, 1, 77500) == MidiClock::Event::stop);
    CHECK(!c.status().running);
    s.send(c, 10);  // ticks 78..87
    LONGS_EQUAL(30, c.status().songPositionTicks);
    CHECK(!c.beatFrame(2));
    // Continue: tick 88 is position 30; beat 2 (position 48) is 18 later.
    CHECK(c.feed(kContinue, 1, 87500) == MidiClock::Event::continue_);
    LONGS_EQUAL(88000, *c.tickFrame(30));
    LONGS_EQUAL(88000 + 18000, *c.beatFrame(2));
    s.send(c, 20);  // ticks 88..107: positions 30..49
    LONGS_EQUAL(50, c.status().songPositionTicks);
    // Song position 16 sixteenths (beat 4) then continue: tick 108 is beat 4.
    c.feed(kStop, 1, 107500);
    const std::uint8_t spp[3] = {0xF2, 16, 0};
    CHECK(c.feed(spp, 3, 107600) == MidiClock::Event::songPosition);
    LONGS_EQUAL(96, c.status().songPositionTicks);
    c.feed(kContinue, 1, 107700);
    LONGS_EQUAL(108000, *c.beatFrame(4));
    LONGS_EQUAL(108000 + 24000, *c.nextBeatFrame(108001));
    // The high byte counts 128 sixteenths.
    const std::uint8_t far[3] = {0xF2, 1, 1};
    c.feed(far, 3, 107800);
    LONGS_EQUAL(6 * 129, c.status().songPositionTicks);
    // Not clock messages.
    const std::uint8_t other[3] = {0x90, 60, 100};
    CHECK(c.feed(other, 3, 107900) == MidiClock::Event::none);
    const std::uint8_t shortSpp[2] = {0xF2, 1};
    CHECK(c.feed(shortSpp, 2, 107900) == MidiClock::Event::none);
}

TEST(MidiClock, aSilentClockIsLostAndADropoutOnlyWhileRunning) {
    MidiClock c(kRate);
    Source s{120, 0};
    c.feed(kStart, 1, 0);
    std::uint64_t last = s.send(c, 48);
    CHECK(c.status().state == MidiClockStatus::State::locked);
    c.tick(last + kRate * 4 / 10);
    CHECK(c.status().state == MidiClockStatus::State::locked);
    c.tick(last + kRate * 6 / 10);
    CHECK(c.status().state == MidiClockStatus::State::lost);
    LONGS_EQUAL(1, c.status().dropouts);
    CHECK(!c.beatFrame(100));  // no phase to predict from
    // Back (the source kept its tempo and phase): locked again after a beat.
    s.next += 48;
    s.send(c, 23);
    CHECK(c.status().state == MidiClockStatus::State::lost);
    last = s.send(c, 1);
    CHECK(c.status().state == MidiClockStatus::State::locked);
    LONGS_EQUAL(0, c.status().jumps);
    // Stopped, a clock that stops is lost but not a dropout.
    c.feed(kStop, 1, last + 10);
    c.tick(last + kRate);
    CHECK(c.status().state == MidiClockStatus::State::lost);
    LONGS_EQUAL(1, c.status().dropouts);
}

TEST(MidiClock, oneLateStampIsLeftOutATempoChangeIsAJump) {
    MidiClock c(kRate);
    Source s{120, 0};
    s.send(c, 100);
    // One stamp 400 frames late (a scheduling hiccup): not in the fit.
    c.feed(kTick, 1, static_cast<std::uint64_t>(s.exact(s.next++)) + 400);
    s.send(c, 20);
    DOUBLES_EQUAL(120, c.status().bpm, 1e-6);
    LONGS_EQUAL(0, c.status().jumps);
    CHECK(c.status().state == MidiClockStatus::State::locked);
    // 120 -> 140 BPM at once: a jump, then the new tempo.
    Source t{140, s.exact(s.next - 1) + tickFrames(140), Jitter{-128, 128}};
    t.send(c, 10);
    LONGS_EQUAL(1, c.status().jumps);
    CHECK(c.status().state == MidiClockStatus::State::none);
    t.send(c, 200);
    DOUBLES_EQUAL(140, c.status().bpm, 0.1);
    CHECK(c.status().state == MidiClockStatus::State::locked);
    LONGS_EQUAL(1, c.status().jumps);
}

TEST(MidiClock, aSourceRestartingItsClockAtStartIsFollowedAtOnce) {
    MidiClock c(kRate);
    Source s{120, 0};
    s.send(c, 100);  // ticks at multiples of 1000
    // Start, and the clock restarts half a tick out of phase.
    c.feed(kStart, 1, 100200);
    Source t{120, 100500};
    t.send(c, 1);
    LONGS_EQUAL(0, c.status().jumps);
    LONGS_EQUAL(100500, *c.beatFrame(0));
    LONGS_EQUAL(100500 + 24000, *c.beatFrame(1));
    t.send(c, 30);
    LONGS_EQUAL(100500 + 48000, *c.beatFrame(2));
    LONGS_EQUAL(0, c.status().jumps);
}

TEST(MidiClock, lostTicksAreCountedIntoTheSongPosition) {
    MidiClock c(kRate);
    Source s{120, 0};
    c.feed(kStart, 1, 0);
    s.send(c, 50);
    s.next += 2;    // ticks 50 and 51 lost on the way (a skipped JACK cycle)
    s.send(c, 30);  // 52..81
    LONGS_EQUAL(0, c.status().jumps);
    LONGS_EQUAL(2, c.status().missedTicks);
    LONGS_EQUAL(80, c.status().ticks);
    LONGS_EQUAL(82, c.status().songPositionTicks);
    LONGS_EQUAL(96000, *c.beatFrame(4));
    DOUBLES_EQUAL(120, c.status().bpm, 1e-6);
    CHECK(c.status().state == MidiClockStatus::State::locked);
    // A stamp 0.7 ticks late, followed by one on the grid, is only late.
    c.feed(kTick, 1, static_cast<std::uint64_t>(s.exact(s.next++)) + 700);
    s.send(c, 10);
    LONGS_EQUAL(2, c.status().missedTicks);
    LONGS_EQUAL(93, c.status().songPositionTicks);
    LONGS_EQUAL(0, c.status().jumps);
}

TEST(MidiClock, halfTheTempoIsAJumpNotEveryOtherTickLost) {
    MidiClock c(kRate);
    Source s{120, 0};
    c.feed(kStart, 1, 0);
    s.send(c, 100);
    Source t{60, s.exact(s.next - 1) + tickFrames(60)};
    t.send(c, 5);
    LONGS_EQUAL(1, c.status().jumps);
    LONGS_EQUAL(0, c.status().missedTicks);
    t.send(c, 200);
    DOUBLES_EQUAL(60, c.status().bpm, 1e-6);
    LONGS_EQUAL(1, c.status().jumps);
    LONGS_EQUAL(305, c.status().songPositionTicks);
}
