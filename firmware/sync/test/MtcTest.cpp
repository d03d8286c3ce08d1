// MTC decoding (sync/Mtc.h) against quarter frames and full frames made
// here: every rate decodes to the frame, each time placed at the JACK frame
// its piece 0 was sent at (through jittered stamps too); jumps, dropouts and
// reverse play are counted; drop-frame numbering holds at minute and
// ten-minute boundaries.
#include "sync/Mtc.h"

#include <CppUTest/TestHarness.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <vector>

using namespace cuebox::sync;

namespace {
constexpr int kRate = 48000;

double exactFps(int rateBits) { return rateBits == 0 ? 24 : rateBits == 1 ? 25 : rateBits == 2 ? 30000.0 / 1001 : 30; }
double spf(int rateBits) { return kRate / exactFps(rateBits); }
int countFps(int rateBits) { return rateBits == 0 ? 24 : rateBits == 1 ? 25 : 30; }

// The 8 quarter-frame data bytes that carry `t` (piece k at [k]).
std::array<std::uint8_t, 8> pieces(const Timecode& t, int rateBits) {
    return {static_cast<std::uint8_t>(0x00 | (t.frames & 15)),  static_cast<std::uint8_t>(0x10 | (t.frames >> 4)),
            static_cast<std::uint8_t>(0x20 | (t.seconds & 15)), static_cast<std::uint8_t>(0x30 | (t.seconds >> 4)),
            static_cast<std::uint8_t>(0x40 | (t.minutes & 15)), static_cast<std::uint8_t>(0x50 | (t.minutes >> 4)),
            static_cast<std::uint8_t>(0x60 | (t.hours & 15)),   static_cast<std::uint8_t>(0x70 | rateBits << 1 | (t.hours >> 4))};
}

std::array<std::uint8_t, 10> fullFrame(const Timecode& t, int rateBits, std::uint8_t device = 0x7F) {
    return {0xF0,
            0x7F,
            device,
            0x01,
            0x01,
            static_cast<std::uint8_t>(rateBits << 5 | t.hours),
            static_cast<std::uint8_t>(t.minutes),
            static_cast<std::uint8_t>(t.seconds),
            static_cast<std::uint8_t>(t.frames),
            0xF7};
}

// Deterministic stamp jitter in [-range, range].
struct Jitter {
    int range = 0;
    std::uint32_t state = 12345;
    int next() {
        if (range == 0) return 0;
        state = state * 1664525u + 1013904223u;
        return static_cast<int>((state >> 8) % static_cast<std::uint32_t>(2 * range + 1)) - range;
    }
};

struct Played {
    std::vector<MtcTime> times;
    std::uint64_t last = 0;  // stamp of the last message
};

// A running source: `sets` times of 8 quarter frames from `first`.
// Forward, piece 0 of the j-th time (first + 2j) is sent at
// at + 2j frames. Reverse, the j-th time is first - 2j, pieces 7..0, piece 7
// of the first at `at` and piece 0 of the j-th at at + (1.75 + 2j) frames.
Played play(MtcDecoder& d, int rateBits, const Timecode& first, int sets, double at, bool reverse = false,
            Jitter* jitter = nullptr) {
    const int fps = countFps(rateBits);
    const bool df = rateBits == 2;
    const std::int64_t n0 = timecodeToFrames(first, fps, df);
    Played out;
    for (int j = 0; j < sets; ++j) {
        const auto p = pieces(framesToTimecode(reverse ? n0 - 2 * j : n0 + 2 * j, fps, df), rateBits);
        for (int q = 0; q < 8; ++q) {
            const int piece = reverse ? 7 - q : q;
            const double exact = at + (8 * j + q) * spf(rateBits) / 4;
            const auto stamp = static_cast<std::uint64_t>(std::llround(exact) + (jitter ? jitter->next() : 0));
            const std::uint8_t msg[2] = {0xF1, p[static_cast<std::size_t>(piece)]};
            if (auto t = d.feed(msg, 2, stamp)) out.times.push_back(*t);
            out.last = stamp;
        }
    }
    return out;
}

long long err(std::uint64_t got, double want) { return std::llabs(static_cast<long long>(got) - std::llround(want)); }
}  // namespace

TEST_GROUP(Mtc){};

TEST(Mtc, everyRateDecodesToTheFrameAndWhereItStarted) {
    struct Case {
        int rateBits;
        Timecode first;
        const char* text;
        int later;  // the index of a later time...
        const char* laterText;  // ...and its text
        double fps;
    };
    for (const Case& c : {Case{0, {10, 0, 0, 0}, "10:00:00:00", 12, "10:00:01:00", 24},
                          Case{1, {10, 0, 0, 0}, "10:00:00:00", 13, "10:00:01:01", 25},
                          // drop-frame: 00:00:59;28 + 2 is 00:01:00;02, 00:09:59;28 + 2 is 00:10:00;00
                          Case{2, {0, 0, 59, 20}, "00:00:59;20", 5, "00:01:00;02", 29.97},
                          Case{2, {0, 9, 59, 20}, "00:09:59;20", 6, "00:10:00;02", 29.97},
                          Case{3, {10, 0, 0, 0}, "10:00:00:00", 15, "10:00:01:00", 30}}) {
        MtcDecoder d(kRate);
        const double at = 1234567.25;
        Played p = play(d, c.rateBits, c.first, 20, at);
        LONGS_EQUAL(20, p.times.size());
        STRCMP_EQUAL(c.text, p.times.front().text().c_str());
        STRCMP_EQUAL(c.laterText, p.times.at(static_cast<std::size_t>(c.later)).text().c_str());
        // Piece 0 of the j-th time was sent at at + 2j frames: that frame.
        for (std::size_t j = 0; j < p.times.size(); ++j) {
            CHECK(err(p.times[j].startFrame, at + 2.0 * j * spf(c.rateBits)) <= 1);
            CHECK(!p.times[j].full);
            CHECK(!p.times[j].reverse);
        }
        DOUBLES_EQUAL(c.fps, p.times.front().fps, 1e-9);
        CHECK(p.times.front().dropFrame == (c.rateBits == 2));
        DOUBLES_EQUAL(spf(c.rateBits), p.times.front().samplesPerFrame, 1e-9);
        CHECK(d.status().state == MtcStatus::State::locked);
        LONGS_EQUAL(20, d.status().frames);
        LONGS_EQUAL(0, d.status().jumps);
        LONGS_EQUAL(0, d.status().reverse);
        DOUBLES_EQUAL(c.fps, d.status().fps, 1e-9);
    }
}

TEST(Mtc, aTimeIsKnownAtPieceSevenAndLockedAtTheSecond) {
    MtcDecoder d(kRate);
    const auto p = pieces({1, 2, 3, 4}, 1);
    const std::uint64_t q = kRate / 25 / 4;  // 480
    // Joining mid-time: pieces 5..7 of one time make nothing.
    for (int k = 5; k < 8; ++k) {
        const std::uint8_t m[2] = {0xF1, p[static_cast<std::size_t>(k)]};
        CHECK(!d.feed(m, 2, 1000 + q * k));
    }
    for (int k = 0; k < 8; ++k) {
        const std::uint8_t m[2] = {0xF1, p[static_cast<std::size_t>(k)]};
        auto t = d.feed(m, 2, 1000 + q * (8 + k));
        CHECK(t.has_value() == (k == 7));
        if (t) {
            STRCMP_EQUAL("01:02:03:04", t->text().c_str());
            LONGS_EQUAL(1000 + q * 8, t->startFrame);
        }
    }
    CHECK(d.status().state == MtcStatus::State::none);
    const auto p2 = pieces({1, 2, 3, 6}, 1);
    for (int k = 0; k < 8; ++k) {
        const std::uint8_t m[2] = {0xF1, p2[static_cast<std::size_t>(k)]};
        d.feed(m, 2, 1000 + q * (16 + k));
    }
    CHECK(d.status().state == MtcStatus::State::locked);
    STRCMP_EQUAL("01:02:03:06", d.status().last->text().c_str());
}

TEST(Mtc, jitteredStampsAverageOutInTheStartFrame) {
    // One 256-frame period of jitter (+-128): a single stamp is off by up
    // to 128 frames, the fit by much less.
    for (int rateBits : {0, 1, 2, 3}) {
        MtcDecoder d(kRate);
        Jitter jitter{128, 777u + static_cast<std::uint32_t>(rateBits)};
        const double at = 480000;
        Played p = play(d, rateBits, {1, 0, 0, 0}, 100, at, false, &jitter);
        LONGS_EQUAL(100, p.times.size());
        LONGS_EQUAL(0, d.status().jumps);
        CHECK(d.status().state == MtcStatus::State::locked);
        long long worst = 0, sum = 0;
        for (std::size_t j = 0; j < p.times.size(); ++j) {
            const long long e = err(p.times[j].startFrame, at + 2.0 * j * spf(rateBits));
            CHECK(e <= 96);  // even from the first 8 stamps
            if (j >= 4) {   // 32 stamps in the fit
                worst = std::max(worst, e);
                sum += e;
            }
        }
        // (over 50 seeds: worst 42, mean 10; piece 0's own stamp: mean 64)
        CHECK(worst <= 48);
        CHECK(sum / 96 <= 16);
    }
}

TEST(Mtc, fullFrameFromAnyDeviceIsTheTimeAtTheMessage) {
    MtcDecoder d(kRate);
    const auto ff = fullFrame({10, 20, 30, 12}, 1);
    auto t = d.feed(ff.data(), ff.size(), 5000);
    CHECK(t.has_value());
    STRCMP_EQUAL("10:20:30:12", t->text().c_str());
    CHECK(t->full);
    LONGS_EQUAL(5000, t->startFrame);
    DOUBLES_EQUAL(25, t->fps, 1e-9);
    const auto df = fullFrame({1, 2, 3, 4}, 2, 0x05);
    t = d.feed(df.data(), df.size(), 9000);
    CHECK(t.has_value());
    STRCMP_EQUAL("01:02:03;04", t->text().c_str());
    CHECK(t->dropFrame);
    LONGS_EQUAL(2, d.status().frames);

    // Not MTC: ignored.
    std::vector<std::vector<std::uint8_t>> others = {
        {0xF0, 0x7E, 0x7F, 0x01, 0x01, 0x21, 0x00, 0x00, 0x00, 0xF7},  // non-real-time
        {0xF0, 0x7F, 0x7F, 0x01, 0x02, 0x21, 0x00, 0x00, 0x00, 0xF7},  // user bits
        {0xF0, 0x7F, 0x7F, 0x01, 0x01, 0x21, 0x00, 0x00, 0xF7},        // short
        {0xF0, 0x7F, 0x7F, 0x01, 0x01, 0x21, 0x00, 0x00, 0x19, 0xF7},  // frame 25 at 25 fps
        {0xF0, 0x7F, 0x7F, 0x01, 0x01, 0x41, 0x01, 0x00, 0x00, 0xF7},  // 01:01:00;00 does not exist
        {0x90, 0x3C, 0x7F},
        {0xF8},
        {0xF1},
    };
    for (const auto& m : others) CHECK(!d.feed(m.data(), m.size(), 10000));
    LONGS_EQUAL(2, d.status().frames);
}

TEST(Mtc, fullFrameThenQuarterFramesFromTheSameInstantLock) {
    // As cuebox-midi-sync-gen --full-frame sends: the full frame and piece
    // 0 of the same time at the same JACK frame.
    MtcDecoder d(kRate);
    const auto ff = fullFrame({2, 0, 0, 0}, 3);
    CHECK(d.feed(ff.data(), ff.size(), 48000).has_value());
    Played p = play(d, 3, {2, 0, 0, 0}, 1, 48000);
    LONGS_EQUAL(1, p.times.size());
    LONGS_EQUAL(48000, p.times[0].startFrame);
    CHECK(d.status().state == MtcStatus::State::locked);
    LONGS_EQUAL(0, d.status().jumps);
}

TEST(Mtc, jumpsAreCountedAndDecodingGoesOn) {
    MtcDecoder d(kRate);
    const double f = spf(1);
    Played a = play(d, 1, {1, 0, 0, 0}, 10, 0);
    CHECK(d.status().state == MtcStatus::State::locked);
    // The quarter frames go on seamlessly, but from 02:00:00:00.
    Played b = play(d, 1, {2, 0, 0, 0}, 10, 20 * f);
    LONGS_EQUAL(1, d.status().jumps);
    LONGS_EQUAL(10, b.times.size());
    STRCMP_EQUAL("02:00:00:18", d.status().last->text().c_str());
    CHECK(d.status().state == MtcStatus::State::locked);
    // A pause (1.25 frames without a quarter frame: the run breaks) after
    // which the time is where the elapsed frames put it: no jump...
    play(d, 1, {2, 0, 0, 21}, 5, 41 * f);
    LONGS_EQUAL(1, d.status().jumps);
    // ...and where they do not (one frame off): a jump.
    play(d, 1, {2, 0, 1, 8}, 5, 52 * f);
    LONGS_EQUAL(2, d.status().jumps);
    LONGS_EQUAL(0, d.status().dropouts);
    (void)a;
}

TEST(Mtc, silenceAfterLockIsADropoutJudgedByTick) {
    MtcDecoder d(kRate);
    const double f = spf(1);
    Played a = play(d, 1, {1, 0, 0, 0}, 10, 0);
    CHECK(d.status().state == MtcStatus::State::locked);
    d.tick(a.last + static_cast<std::uint64_t>(2.9 * f));
    CHECK(d.status().state == MtcStatus::State::locked);
    d.tick(a.last + static_cast<std::uint64_t>(3.1 * f));
    CHECK(d.status().state == MtcStatus::State::lost);
    LONGS_EQUAL(1, d.status().dropouts);
    d.tick(a.last + static_cast<std::uint64_t>(10 * f));
    LONGS_EQUAL(1, d.status().dropouts);
    // Back at another time: locked again, not a jump (the dropout was the fault).
    play(d, 1, {5, 0, 0, 0}, 4, 100 * f);
    CHECK(d.status().state == MtcStatus::State::locked);
    LONGS_EQUAL(0, d.status().jumps);
    LONGS_EQUAL(1, d.status().dropouts);
}

TEST(Mtc, aHalfAssembledTimeDoesNotSurviveSilence) {
    MtcDecoder d(kRate);
    const auto p = pieces({1, 0, 0, 0}, 1), p2 = pieces({7, 7, 7, 7}, 1);
    for (int k = 0; k < 8; ++k) {  // pieces 0..3 of one time, 4..7 of another
        const std::uint8_t m[2] = {0xF1, (k < 4 ? p : p2)[static_cast<std::size_t>(k)]};
        const std::uint64_t at = 480u * static_cast<std::uint64_t>(k) + (k < 4 ? 0u : 48000u);
        if (k == 4) d.tick(at - 1);
        CHECK(!d.feed(m, 2, at));
    }
    LONGS_EQUAL(0, d.status().frames);
}

TEST(Mtc, reversePlayIsDecodedAndCounted) {
    MtcDecoder d(kRate);
    const double at = 96000;
    Played p = play(d, 3, {10, 0, 1, 4}, 10, at, true);
    LONGS_EQUAL(10, p.times.size());
    STRCMP_EQUAL("10:00:01:04", p.times[0].text().c_str());
    STRCMP_EQUAL("10:00:00:28", p.times[3].text().c_str());
    for (std::size_t j = 0; j < p.times.size(); ++j) {
        CHECK(p.times[j].reverse);
        // piece 0, the last of each time, marks where the time starts
        CHECK(err(p.times[j].startFrame, at + (1.75 + 2.0 * j) * spf(3)) <= 1);
    }
    LONGS_EQUAL(10, d.status().reverse);
    LONGS_EQUAL(0, d.status().jumps);
    CHECK(d.status().state == MtcStatus::State::locked);
    CHECK(d.status().last->reverse);
}

TEST(Mtc, piecesOutOfOrderMakeNoTime) {
    MtcDecoder d(kRate);
    const auto p = pieces({1, 0, 0, 0}, 1);
    for (int k : {0, 1, 2, 3, 5, 6, 7, 0, 1, 2, 3, 4, 5, 7}) {
        const std::uint8_t m[2] = {0xF1, p[static_cast<std::size_t>(k)]};
        CHECK(!d.feed(m, 2, 1000));
    }
    // A direction change restarts the run: 0..4 then 3..0 is no time.
    for (int k : {0, 1, 2, 3, 4, 3, 2, 1, 0}) {
        const std::uint8_t m[2] = {0xF1, p[static_cast<std::size_t>(k)]};
        CHECK(!d.feed(m, 2, 1000));
    }
    LONGS_EQUAL(0, d.status().frames);
}

TEST(Mtc, dropFrameNumberingAtMinuteAndTenMinuteBoundaries) {
    auto next = [](Timecode t, int fps, bool df) { return framesToTimecode(timecodeToFrames(t, fps, df) + 1, fps, df); };
    CHECK((next({0, 0, 59, 29}, 30, true) == Timecode{0, 1, 0, 2}));
    CHECK((next({0, 9, 59, 29}, 30, true) == Timecode{0, 10, 0, 0}));
    CHECK((next({0, 10, 0, 0}, 30, true) == Timecode{0, 10, 0, 1}));
    CHECK((next({0, 10, 59, 29}, 30, true) == Timecode{0, 11, 0, 2}));
    CHECK((next({23, 59, 59, 29}, 30, true) == Timecode{0, 0, 0, 0}));
    CHECK((next({0, 0, 59, 29}, 30, false) == Timecode{0, 1, 0, 0}));
    CHECK((next({0, 0, 59, 23}, 24, false) == Timecode{0, 1, 0, 0}));
    CHECK((framesToTimecode(-1, 30, true) == Timecode{23, 59, 59, 29}));
    LONGS_EQUAL(1800, timecodeToFrames({0, 1, 0, 2}, 30, true));
    LONGS_EQUAL(17982, timecodeToFrames({0, 10, 0, 0}, 30, true));
    LONGS_EQUAL(107892, timecodeToFrames({1, 0, 0, 0}, 30, true));
    LONGS_EQUAL(90000, timecodeToFrames({1, 0, 0, 0}, 25, false));
    LONGS_EQUAL(2589408, timecodeFramesPerDay(30, true));
    // Every count of the first twenty minutes round-trips to a valid time,
    // each a frame after the previous.
    Timecode prev{};
    for (std::int64_t n = 0; n < 2 * 17982; ++n) {
        const Timecode t = framesToTimecode(n, 30, true);
        CHECK(timecodeValid(t, 30, true));
        LONGS_EQUAL(n, timecodeToFrames(t, 30, true));
        if (n > 0) CHECK(timecodeToFrames(t, 30, false) > timecodeToFrames(prev, 30, false));
        prev = t;
    }
    CHECK(!timecodeValid({0, 1, 0, 0}, 30, true));
    CHECK(!timecodeValid({0, 1, 0, 1}, 30, true));
    CHECK(timecodeValid({0, 1, 0, 2}, 30, true));
    CHECK(timecodeValid({0, 10, 0, 0}, 30, true));
    CHECK(timecodeValid({0, 1, 0, 0}, 30, false));
    CHECK(!timecodeValid({0, 0, 0, 25}, 25, false));
    CHECK(!timecodeValid({24, 0, 0, 0}, 25, false));
}
