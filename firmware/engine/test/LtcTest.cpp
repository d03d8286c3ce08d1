// LTC decoding (engine/Ltc.h) against libltc's own encoder: every listed
// rate decodes to the frame, each frame placed at the sample it starts at;
// jumps, dropouts and reverse play are counted.
#include "engine/Ltc.h"

#include <CppUTest/TestHarness.h>

#include <ltc.h>

#include <cmath>
#include <vector>

using namespace cuebox::engine;

namespace {
constexpr int kRate = 48000;

// LTC audio: `count` frames from hh:mm:ss:ff at `fps`; `reverse` plays
// them backwards from there. Samples in -0.5..0.5.
struct Signal {
    std::vector<float> samples;
    std::vector<std::size_t> starts;  // where each frame begins
};

Signal encode(double fps, int h, int m, int s, int f, int count, bool reverse = false) {
    const auto standard = std::lround(fps) == 25 ? LTC_TV_625_50 : std::lround(fps) == 24 ? LTC_TV_FILM_24 : LTC_TV_525_60;
    LTCEncoder* e = ltc_encoder_create(kRate, fps, standard, 0);
    SMPTETimecode tc{};
    tc.hours = static_cast<unsigned char>(h);
    tc.mins = static_cast<unsigned char>(m);
    tc.secs = static_cast<unsigned char>(s);
    tc.frame = static_cast<unsigned char>(f);
    ltc_encoder_set_timecode(e, &tc);
    Signal out;
    for (int i = 0; i < count; ++i) {
        out.starts.push_back(out.samples.size());
        if (reverse) ltc_encoder_encode_reversed_frame(e);
        else ltc_encoder_encode_frame(e);
        ltcsnd_sample_t* buf = nullptr;
        const int n = ltc_encoder_get_bufferptr(e, &buf, 1);
        for (int k = 0; k < n; ++k) out.samples.push_back((static_cast<float>(buf[k]) - 128.f) / 255.f);
        if (reverse) ltc_encoder_dec_timecode(e);
        else ltc_encoder_inc_timecode(e);
    }
    ltc_encoder_free(e);
    return out;
}

// Feeds `s` in 64-frame blocks from JACK frame `at`; returns the frames.
std::vector<LtcFrame> feed(LtcDecoder& d, const std::vector<float>& s, std::uint64_t at) {
    std::vector<LtcFrame> all;
    for (std::size_t i = 0; i < s.size(); i += 64) {
        const std::size_t n = std::min<std::size_t>(64, s.size() - i);
        for (auto& f : d.write(s.data() + i, n, at + i)) all.push_back(f);
    }
    return all;
}
}  // namespace

TEST_GROUP(Ltc){};

TEST(Ltc, everyRateDecodesToTheFrameAtItsSample) {
    struct Case {
        double fps;
        const char* first;
        const char* later;  // the frame 40 after
        bool df;
    };
    // 29.97 drop-frame skips frames 0 and 1 at each minute but every tenth:
    // 00:59:59;29 + 1 is 01:00:00;00, 00:00:59;29 + 1 is 00:01:00;02.
    for (const Case& c : {Case{24, "10:00:00:00", "10:00:01:16", false}, Case{25, "10:00:00:00", "10:00:01:15", false},
                          Case{29.97, "00:00:59;00", "00:01:00;12", true}, Case{30, "10:00:00:00", "10:00:01:10", false}}) {
        LtcDecoder d(kRate);
        const int s = c.df ? 59 : 0, h = c.df ? 0 : 10;
        Signal sig = encode(c.fps, h, 0, s, 0, 60);
        const std::uint64_t at = 123456;
        auto frames = feed(d, sig.samples, at);
        CHECK(frames.size() >= 58);
        STRCMP_EQUAL(c.first, frames.front().text().c_str());
        STRCMP_EQUAL(c.later, frames.at(40).text().c_str());
        // Each frame starts where it was encoded: within 2 samples, the first
        // (before libltc knows the bit length) within 10.
        for (std::size_t i = 0; i < frames.size(); ++i)
            CHECK(std::llabs(static_cast<long long>(frames[i].startFrame) - static_cast<long long>(at + sig.starts[i])) <=
                  (i == 0 ? 10 : 2));
        DOUBLES_EQUAL(c.fps, d.status().fps, 0.001);
        CHECK(d.status().state == LtcDecoder::State::locked);
        LONGS_EQUAL(0, d.status().jumps);
        LONGS_EQUAL(0, d.status().dropouts);
        CHECK(frames.front().dropFrame == c.df);
        CHECK(frames.front().levelDbfs < 0 && frames.front().levelDbfs > -20);
    }
}

TEST(Ltc, jumpsDropoutsAndReverseAreCounted) {
    LtcDecoder d(kRate);
    std::uint64_t at = 0;
    auto play = [&](const Signal& s) {
        feed(d, s.samples, at);
        at += s.samples.size();
    };
    play(encode(25, 1, 0, 0, 0, 30));
    CHECK(d.status().state == LtcDecoder::State::locked);
    // A jump: the time goes on from 02:00:00:00.
    play(encode(25, 2, 0, 0, 0, 30));
    LONGS_EQUAL(1, d.status().jumps);
    // (the newest frame decoded: the last one completes with the next's sync word)
    STRCMP_EQUAL("02:00:01:03", d.status().last->text().c_str());
    // A dropout: 200 ms of silence.
    play(Signal{std::vector<float>(kRate / 5, 0.f), {}});
    CHECK(d.status().state == LtcDecoder::State::lost);
    LONGS_EQUAL(1, d.status().dropouts);
    // Back, and then played backwards.
    play(encode(25, 3, 0, 0, 0, 30));
    CHECK(d.status().state == LtcDecoder::State::locked);
    play(encode(25, 3, 0, 2, 0, 30, true));
    CHECK(d.status().reverse >= 25);
    CHECK(d.status().last->reverse);
}

TEST(Ltc, lockNeedsTheSetNumberOfFramesInOrderAndStampsWhereItWasReached) {
    for (int need : {2, 5}) {
        LtcDecoder d(kRate);
        d.setLockFrames(need);
        Signal sig = encode(25, 10, 0, 0, 0, 12);
        const std::uint64_t at = 5000;
        // Frame by frame: not locked before the need-th frame is decoded.
        std::vector<LtcFrame> got;
        for (std::size_t i = 0; i < sig.samples.size(); i += 64) {
            const std::size_t n = std::min<std::size_t>(64, sig.samples.size() - i);
            for (auto& f : d.write(sig.samples.data() + i, n, at + i)) got.push_back(f);
            if (static_cast<int>(got.size()) < need) CHECK(d.status().state != LtcDecoder::State::locked);
        }
        CHECK(d.status().state == LtcDecoder::State::locked);
        // Locked at the end of the need-th decoded frame (libltc decodes the
        // first frame it sees whole, so frame k of the signal is decoded k-th).
        const std::uint64_t endOfNth = at + sig.starts.at(static_cast<std::size_t>(need)) - 1;
        CHECK(d.status().lockedAt + 2 >= endOfNth && d.status().lockedAt <= endOfNth + 2);
    }
}

TEST(Ltc, aFrameCutByAGapIsNotPlacedWrongly) {
    // 1.2 s of LTC fed in 1024-frame blocks whose JACK frame follows the
    // signal, with one block left out (the server skipped a cycle): every
    // frame decoded afterwards starts where the signal has it.
    LtcDecoder d(kRate);
    Signal sig = encode(25, 10, 0, 0, 0, 30);
    const std::uint64_t at = 77777;
    std::vector<LtcFrame> got;
    for (std::size_t i = 0, block = 0; i < sig.samples.size(); i += 1024, ++block) {
        if (block == 9) continue;  // skipped
        const std::size_t n = std::min<std::size_t>(1024, sig.samples.size() - i);
        for (auto& f : d.write(sig.samples.data() + i, n, at + i)) got.push_back(f);
    }
    CHECK(got.size() >= 24);
    for (const auto& f : got) {
        const int k = f.seconds * 25 + f.frames;  // frame index in the signal
        const std::uint64_t want = at + sig.starts.at(static_cast<std::size_t>(k));
        CHECK_TEXT(f.startFrame + 2 >= want && f.startFrame <= want + 2, f.text().c_str());
    }
}
