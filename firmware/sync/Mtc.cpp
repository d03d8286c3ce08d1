#include "sync/Mtc.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cuebox::sync {

namespace {
constexpr std::int64_t kDropFramesPer10Min = 17982;  // 10 * 1800 - 9 * 2
constexpr std::int64_t kDropFramesPerMin = 1798;     // a minute that drops 00 and 01

double nominalFps(int rateBits) {
    static constexpr double kFps[4] = {24, 25, 29.97, 30};
    return kFps[rateBits & 3];
}
double exactFps(int rateBits) {
    static constexpr double kFps[4] = {24, 25, 30000.0 / 1001.0, 30};
    return kFps[rateBits & 3];
}
int countFps(int rateBits) { return rateBits == 0 ? 24 : rateBits == 1 ? 25 : 30; }
bool dropFrame(int rateBits) { return rateBits == 2; }

std::int64_t floorMod(std::int64_t a, std::int64_t m) {
    const std::int64_t r = a % m;
    return r < 0 ? r + m : r;
}
}  // namespace

std::int64_t timecodeFramesPerDay(int fps, bool df) {
    return df ? 24 * 6 * kDropFramesPer10Min : std::int64_t{24} * 3600 * fps;
}

std::int64_t timecodeToFrames(const Timecode& t, int fps, bool df) {
    const std::int64_t minutes = std::int64_t{t.hours} * 60 + t.minutes;
    std::int64_t n = (minutes * 60 + t.seconds) * fps + t.frames;
    if (df) n -= 2 * (minutes - minutes / 10);
    return n;
}

Timecode framesToTimecode(std::int64_t n, int fps, bool df) {
    n = floorMod(n, timecodeFramesPerDay(fps, df));
    if (df) {
        // Put back the numbers skipped before n: 18 per whole ten minutes,
        // 2 per whole minute after the first (1800-frame) one of the ten.
        const std::int64_t tens = n / kDropFramesPer10Min, rem = n % kDropFramesPer10Min;
        n += 18 * tens + (rem >= 2 ? 2 * ((rem - 2) / kDropFramesPerMin) : 0);
    }
    Timecode t;
    t.frames = static_cast<int>(n % fps);
    n /= fps;
    t.seconds = static_cast<int>(n % 60);
    n /= 60;
    t.minutes = static_cast<int>(n % 60);
    t.hours = static_cast<int>(n / 60);
    return t;
}

bool timecodeValid(const Timecode& t, int fps, bool df) {
    if (t.hours < 0 || t.hours > 23 || t.minutes < 0 || t.minutes > 59 || t.seconds < 0 || t.seconds > 59 || t.frames < 0 ||
        t.frames >= fps)
        return false;
    return !(df && t.seconds == 0 && t.frames < 2 && t.minutes % 10 != 0);
}

std::string MtcTime::text() const {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d%c%02d", hours, minutes, seconds, dropFrame ? ';' : ':', frames);
    return buf;
}

const char* mtcStateName(MtcStatus::State s) {
    switch (s) {
    case MtcStatus::State::none: return "none";
    case MtcStatus::State::locked: return "locked";
    case MtcStatus::State::lost: return "lost";
    }
    return "none";
}

MtcDecoder::MtcDecoder(int sampleRate) : sampleRate_(sampleRate) {}

double MtcDecoder::samplesPerFrame(int rateBits) const { return sampleRate_ / exactFps(rateBits); }

std::optional<MtcTime> MtcDecoder::feed(const std::uint8_t* b, std::size_t n, std::uint64_t frame) {
    if (n == 2 && b[0] == 0xF1 && b[1] < 0x80) {
        silence(frame);
        return quarterFrame(b[1] >> 4, b[1] & 0x0F, frame);
    }
    if (n == 10 && b[0] == 0xF0 && b[1] == 0x7F && b[2] < 0x80 && b[3] == 0x01 && b[4] == 0x01 && b[9] == 0xF7) {
        silence(frame);
        return fullFrame(b + 5, frame);
    }
    return std::nullopt;
}

void MtcDecoder::tick(std::uint64_t nowFrame) { silence(nowFrame); }

void MtcDecoder::silence(std::uint64_t now) {
    if (!heard_ || now <= lastMessage_) return;
    // Before the rate is known, the longest frame (24 fps) is the measure.
    const double spf = status_.last ? status_.last->samplesPerFrame : sampleRate_ / 24.0;
    if (static_cast<double>(now - lastMessage_) <= 3 * spf) return;
    if (status_.state == MtcStatus::State::locked) {
        status_.state = MtcStatus::State::lost;
        ++status_.dropouts;
    }
    good_ = 0;
    breakRun();
}

void MtcDecoder::breakRun() {
    lastPiece_ = -1;
    dir_ = 0;
    seq_ = 0;
}

std::optional<MtcTime> MtcDecoder::quarterFrame(int piece, int nibble, std::uint64_t frame) {
    // A piece continues the run when it is the next one in the run's
    // direction and comes within a frame of the previous: a quarter frame
    // apart, give or take the stamps' jitter. Anything else starts a run, so
    // a pause with numbers that look consecutive (piece 7, a stop, piece 0)
    // is judged by the elapsed time, not by the run. The price: stamps may
    // jitter by no more than 3/4 of a frame (a JACK period up to 1200
    // frames at 48 kHz and 30 fps).
    const double spf = status_.last ? status_.last->samplesPerFrame : sampleRate_ / 24.0;
    int step = 0;
    if (lastPiece_ >= 0 && static_cast<double>(frame - std::min(frame, lastMessage_)) <= spf) {
        if (piece == (lastPiece_ + 1) % 8) step = 1;
        else if (piece == (lastPiece_ + 7) % 8) step = -1;
    }
    if (step != 0 && (dir_ == 0 || dir_ == step)) {
        dir_ = step;
        ++seq_;
    } else {
        // The previous piece is not trusted to belong with this one.
        ++runId_;
        dir_ = 0;
        seq_ = 1;
    }
    ++idx_;
    stamps_[static_cast<std::size_t>(idx_ % kWindow)] = frame;
    nibble_[static_cast<std::size_t>(piece)] = nibble;
    lastPiece_ = piece;
    heard_ = true;
    lastMessage_ = frame;

    const bool complete = seq_ >= 8 && ((dir_ > 0 && piece == 7) || (dir_ < 0 && piece == 0));
    if (!complete) return std::nullopt;
    const int rateBits = (nibble_[7] >> 1) & 3;
    MtcTime t;
    t.frames = nibble_[0] | (nibble_[1] & 1) << 4;
    t.seconds = nibble_[2] | (nibble_[3] & 3) << 4;
    t.minutes = nibble_[4] | (nibble_[5] & 3) << 4;
    t.hours = nibble_[6] | (nibble_[7] & 1) << 4;
    if (!timecodeValid(t.timecode(), countFps(rateBits), dropFrame(rateBits))) return std::nullopt;
    t.fps = nominalFps(rateBits);
    t.dropFrame = dropFrame(rateBits);
    t.reverse = dir_ < 0;
    t.samplesPerFrame = samplesPerFrame(rateBits);
    const std::int64_t idx0 = dir_ > 0 ? idx_ - 7 : idx_;  // piece 0's run index
    t.startFrame = fitStart(idx0, t.samplesPerFrame);
    judge(t, rateBits, true, idx0);
    return t;
}

std::optional<MtcTime> MtcDecoder::fullFrame(const std::uint8_t* d, std::uint64_t frame) {
    const int rateBits = (d[0] >> 5) & 3;
    MtcTime t;
    t.hours = d[0] & 0x1F;
    t.minutes = d[1];
    t.seconds = d[2];
    t.frames = d[3];
    if (!timecodeValid(t.timecode(), countFps(rateBits), dropFrame(rateBits))) return std::nullopt;
    t.fps = nominalFps(rateBits);
    t.dropFrame = dropFrame(rateBits);
    t.full = true;
    t.startFrame = frame;
    t.samplesPerFrame = samplesPerFrame(rateBits);
    // A locate: the quarter frames before it do not continue after it.
    breakRun();
    heard_ = true;
    lastMessage_ = frame;
    judge(t, rateBits, false, 0);
    return t;
}

// The JACK frame of run index idx0 from the run's newest stamps: the mean
// of (stamp - index * quarter) at the nominal quarter-frame length. When 16
// or more stamps say the source runs more than 2 % off speed (vari-speed),
// their own least-squares slope is used instead.
std::uint64_t MtcDecoder::fitStart(std::int64_t idx0, double spf) const {
    const int n = std::min(seq_, kWindow);
    const std::int64_t first = idx_ - n + 1;
    const std::uint64_t ref = stamps_[static_cast<std::size_t>(first % kWindow)];
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::int64_t i = first; i <= idx_; ++i) {
        const double x = static_cast<double>(i - idx0);
        const double y = static_cast<double>(static_cast<std::int64_t>(stamps_[static_cast<std::size_t>(i % kWindow)] - ref));
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    const double mx = sx / n, my = sy / n;
    double slope = spf / 4;
    if (n >= 16) {
        const double fitted = (sxy - n * mx * my) / (sxx - n * mx * mx);
        if (std::fabs(fitted / slope - 1) > 0.02 && fitted > 0) slope = fitted;
    }
    const double at = my - slope * mx;  // the fit at x = 0 (idx0), relative to ref
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(ref) + std::llround(at));
}

void MtcDecoder::judge(const MtcTime& t, int rateBits, bool fromRun, std::int64_t idx0) {
    const int fps = countFps(rateBits);
    const bool df = dropFrame(rateBits);
    const std::int64_t count = timecodeToFrames(t.timecode(), fps, df);
    ++status_.frames;
    if (t.reverse) ++status_.reverse;
    if (prev_ && good_ > 0) {
        // Within one quarter-frame run the time moves a frame per 4 pieces
        // (in the run's direction); otherwise by the frames elapsed between
        // the two start frames.
        bool ok = prev_->rateBits == rateBits;
        if (ok) {
            std::int64_t delta;
            if (fromRun && prev_->runId == runId_) {
                delta = (idx0 - prev_->idx0) / 4 * (t.reverse ? -1 : 1);
            } else {
                const double elapsed =
                    (static_cast<double>(t.startFrame) - static_cast<double>(prev_->startFrame)) / t.samplesPerFrame;
                delta = std::llround(elapsed) * (t.reverse ? -1 : 1);
            }
            ok = floorMod(count - prev_->count - delta, timecodeFramesPerDay(fps, df)) == 0;
        }
        if (!ok) {
            ++status_.jumps;
            good_ = 0;
        }
    }
    prev_ = Prev{count, rateBits, t.startFrame, fromRun ? runId_ : 0, idx0};
    status_.last = t;
    status_.fps = t.fps;
    // Locked after two times in order.
    if (++good_ >= 2) status_.state = MtcStatus::State::locked;
}

}  // namespace cuebox::sync
