// Linear timecode from cuebox:ltc_in. The RT thread only copies the port's
// samples into a lock-free ring (`LtcTap`), stamped with each block's JACK
// frame time; the control thread decodes them with libltc (`LtcDecoder`)
// and judges the signal: the time it carries, its frame rate (24, 25,
// 29.97 drop-frame, 30), its level, and its faults (dropouts, jumps,
// reverse play).
//   LtcTap:     [RT] write()        [control] read()   [any] dropped()
//   LtcDecoder: [control] only
#pragma once

#include <boost/lockfree/spsc_queue.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cuebox::engine {

class LtcTap {
public:
    static constexpr std::size_t kSamples = std::size_t{1} << 17;  // 2.7 s at 48 kHz

    // [RT] one block of the port, whose first sample is at JACK frame
    // `blockFrame`. A full ring drops the block (counted): the decoder sees
    // the gap as a dropout.
    void write(const float* samples, std::uint32_t n, std::uint64_t blockFrame) {
        if (samples_.write_available() < n || stamps_.write_available() == 0) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        stamps_.push(Stamp{blockFrame, n});
        samples_.push(samples, n);
    }
    struct Stamp {
        std::uint64_t frame = 0;  // JACK frame time of the block's first sample
        std::uint32_t n = 0;
    };
    // [control] the next block: its stamp and samples (false when none).
    bool read(Stamp& s, std::vector<float>& out) {
        if (!stamps_.pop(s)) return false;
        out.resize(s.n);
        std::size_t got = 0;
        while (got < s.n) got += samples_.pop(out.data() + got, s.n - got);
        return true;
    }
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    // Sized at construction (on the heap, before the RT thread runs).
    boost::lockfree::spsc_queue<float> samples_{kSamples};
    boost::lockfree::spsc_queue<Stamp> stamps_{4096};
    std::atomic<std::uint64_t> dropped_{0};
};

// One decoded LTC frame.
struct LtcFrame {
    int hours = 0, minutes = 0, seconds = 0, frames = 0;
    bool dropFrame = false;
    bool reverse = false;
    std::uint64_t startFrame = 0;  // JACK frame time of the frame's first transition
    double samplesPerFrame = 0;
    double levelDbfs = 0;
    std::string text() const;  // "01:02:03:04", "01:02:03;04" for drop-frame
};

class LtcDecoder {
public:
    explicit LtcDecoder(int sampleRate);
    ~LtcDecoder();
    LtcDecoder(const LtcDecoder&) = delete;
    LtcDecoder& operator=(const LtcDecoder&) = delete;

    // Feeds one block; returns the frames that completed in it.
    std::vector<LtcFrame> write(const float* samples, std::size_t n, std::uint64_t blockFrame);

    enum class State { none, locked, lost };
    struct Status {
        State state = State::none;
        std::optional<LtcFrame> last;  // the newest frame
        double fps = 0;                // 24, 25, 29.97, 30 (0: not known yet)
        std::uint64_t frames = 0, dropouts = 0, jumps = 0, reverse = 0;
        std::uint64_t lockedAt = 0;  // JACK frame where the last lock was reached (the end of its last frame)
    };
    const Status& status() const { return status_; }
    // Frames in order before the signal counts as locked (2-25).
    void setLockFrames(int n) { lockFrames_ = n < 2 ? 2 : n > 25 ? 25 : n; }

private:
    void judge(LtcFrame f, const void* raw);
    int sampleRate_;
    int lockFrames_ = 2;
    void* decoder_;                  // LTCDecoder
    std::vector<unsigned char> prev_;  // the previous LTCFrame's bytes ({} : none)
    std::uint64_t pos_ = 0;          // samples fed so far
    std::uint64_t expectFrame_ = 0;  // JACK frame the next block should start at
    std::int64_t frameOffset_ = 0;   // JACK frame minus stream sample index
    std::uint64_t lastEnd_ = 0;      // JACK frame of the last frame's end
    int good_ = 0;                   // consecutive frames in order
    std::uint64_t gapAt_ = 0;        // stream index where the last gap ended
    std::vector<float> scratch_;
    Status status_;
};

const char* ltcStateName(LtcDecoder::State s);

}  // namespace cuebox::engine
