#include "engine/Ltc.h"

#include <ltc.h>

#include <cmath>
#include <cstdio>
#include <cstring>

namespace cuebox::engine {

namespace {
LTCDecoder* dec(void* p) { return static_cast<LTCDecoder*>(p); }

// 24, 25 or 30 from the samples a frame took; 29.97 when drop-frame.
double nominalFps(double samplesPerFrame, int rate, bool dropFrame) {
    if (dropFrame) return 29.97;
    const double fps = rate / samplesPerFrame;
    double best = 24;
    for (double f : {24.0, 25.0, 30.0})
        if (std::fabs(fps - f) < std::fabs(fps - best)) best = f;
    return best;
}

bool sameTime(const LTCFrame& a, const LTCFrame& b) {
    SMPTETimecode x{}, y{};
    ltc_frame_to_time(&x, const_cast<LTCFrame*>(&a), 0);
    ltc_frame_to_time(&y, const_cast<LTCFrame*>(&b), 0);
    return x.hours == y.hours && x.mins == y.mins && x.secs == y.secs && x.frame == y.frame;
}
}  // namespace

std::string LtcFrame::text() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d%c%02d", hours, minutes, seconds, dropFrame ? ';' : ':', frames);
    return buf;
}

const char* ltcStateName(LtcDecoder::State s) {
    switch (s) {
    case LtcDecoder::State::none: return "none";
    case LtcDecoder::State::locked: return "locked";
    case LtcDecoder::State::lost: return "lost";
    }
    return "none";
}

LtcDecoder::LtcDecoder(int sampleRate)
    : sampleRate_(sampleRate), decoder_(ltc_decoder_create(sampleRate / 25, 32)) {}

LtcDecoder::~LtcDecoder() { ltc_decoder_free(dec(decoder_)); }

std::vector<LtcFrame> LtcDecoder::write(const float* samples, std::size_t n, std::uint64_t blockFrame) {
    std::vector<LtcFrame> out;
    // A gap in the stream (JACK skipped cycles, the tap dropped a block):
    // what was half decoded is gone.
    if (pos_ != 0 && blockFrame != expectFrame_) {
        ltc_decoder_queue_flush(dec(decoder_));
        good_ = 0;
        gapAt_ = pos_;
    }
    frameOffset_ = static_cast<std::int64_t>(blockFrame) - static_cast<std::int64_t>(pos_);
    expectFrame_ = blockFrame + n;
    // libltc takes a non-const buffer (it does not write to it).
    scratch_.assign(samples, samples + n);
    ltc_decoder_write_float(dec(decoder_), scratch_.data(), n, static_cast<ltc_off_t>(pos_));
    pos_ += n;
    LTCFrameExt ext;
    while (ltc_decoder_read(dec(decoder_), &ext) > 0) {
        // A frame that began before the gap was stitched from both sides
        // (libltc keeps its bits across the flush): its time and its
        // start are not to be trusted.
        if (static_cast<std::uint64_t>(ext.off_start) < gapAt_) continue;
        SMPTETimecode t{};
        ltc_frame_to_time(&t, &ext.ltc, 0);
        LtcFrame f;
        f.hours = t.hours;
        f.minutes = t.mins;
        f.seconds = t.secs;
        f.frames = t.frame;
        f.dropFrame = ext.ltc.dfbit != 0;
        f.reverse = ext.reverse != 0;
        f.startFrame = static_cast<std::uint64_t>(static_cast<std::int64_t>(ext.off_start) + frameOffset_);
        f.samplesPerFrame = static_cast<double>(ext.off_end - ext.off_start + 1);
        f.levelDbfs = std::round(ext.volume * 10) / 10;
        lastEnd_ = static_cast<std::uint64_t>(static_cast<std::int64_t>(ext.off_end) + frameOffset_);
        judge(f, &ext.ltc);
        out.push_back(f);
    }
    // No frame for three frames' time: the signal is lost (a dropout).
    const double spf = status_.last ? status_.last->samplesPerFrame : 0;
    if (status_.state == State::locked && spf > 0 && static_cast<double>(expectFrame_ - lastEnd_) > 3 * spf) {
        status_.state = State::lost;
        ++status_.dropouts;
        good_ = 0;
    }
    return out;
}

void LtcDecoder::judge(LtcFrame f, const void* raw) {
    const LTCFrame& now = *static_cast<const LTCFrame*>(raw);
    ++status_.frames;
    if (f.reverse) ++status_.reverse;
    if (!prev_.empty()) {
        // The frame that should follow the previous one (backwards when
        // playing in reverse): anything else is a jump.
        LTCFrame expect;
        std::memcpy(&expect, prev_.data(), sizeof expect);
        const int fps = static_cast<int>(std::lround(status_.fps > 0 ? std::ceil(status_.fps) : 30));
        const auto standard = fps == 25 ? LTC_TV_625_50 : fps == 24 ? LTC_TV_FILM_24 : LTC_TV_525_60;
        if (f.reverse) ltc_frame_decrement(&expect, fps, standard, 0);
        else ltc_frame_increment(&expect, fps, standard, 0);
        if (good_ > 0 && !sameTime(expect, now)) {
            ++status_.jumps;
            good_ = 0;
        }
    }
    prev_.assign(reinterpret_cast<const unsigned char*>(&now), reinterpret_cast<const unsigned char*>(&now) + sizeof now);
    status_.fps = nominalFps(f.samplesPerFrame, sampleRate_, f.dropFrame);
    status_.last = f;
    // Locked after lockFrames_ frames in order.
    if (++good_ >= lockFrames_ && status_.state != State::locked) {
        status_.state = State::locked;
        status_.lockedAt = lastEnd_;
    }
}

}  // namespace cuebox::engine
