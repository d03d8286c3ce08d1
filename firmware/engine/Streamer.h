// Streaming of long clips. A long clip's media keeps only its head in RAM
// (MediaBuffer::headFrames); the rest is read from a raw float32 file at the
// engine's rate (MediaBuffer::streamPath) into one ring per playing voice by
// a disk thread, with read-ahead. The RT side never waits: when a ring runs
// dry the voice's data gate fades out (protection fade), time keeps running,
// the underrun is counted, and the gate fades back in when data returns.
//
// Positions are "virtual" frames: a looping voice keeps counting past the
// end, frame v plays media frame v % frames. The ring holds virtual frames
// [readFrame, writeFrame).
//   [RT]   claim(), available(), frameAt(), advance(), release()
//   [disk] service() (one disk thread)
//   [any]  underruns()
#pragma once

#include "engine/ClipTable.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace cuebox::engine {

inline constexpr int kStreams = 24;

class Streamer {
public:
    explicit Streamer(int sampleRate, double ringSeconds = 4.0);  // [control]
    ~Streamer();

    // [RT] A ring for `media` whose RT reads start at virtual frame `from`;
    // -1 if none is free.
    int claim(const MediaBuffer* media, std::int64_t from);
    // [RT] frames present from virtual frame v on.
    std::int64_t available(int slot, std::int64_t v) const;
    // [RT] the samples of virtual frame v (must be available).
    const float* frameAt(int slot, std::int64_t v) const;
    // [RT] the voice has consumed everything before v.
    void advance(int slot, std::int64_t v);
    void release(int slot);  // [RT]

    // [disk] Opens, fills and closes rings. Returns true if it did anything.
    bool service();
    // [control] Test hook: while set, service() does nothing (starves rings).
    void setStalled(bool s) { stalled_.store(s); }

    std::uint64_t underruns() const { return underruns_.load(std::memory_order_relaxed); }  // [any]
    void countUnderrun() { underruns_.fetch_add(1, std::memory_order_relaxed); }            // [RT]
    int active() const;                                                                      // [any]

private:
    enum State : int { freeSlot, requested, streaming, releasing };
    struct Ring {
        std::atomic<int> state{freeSlot};
        const MediaBuffer* media = nullptr;  // set by RT before `requested`
        std::atomic<std::int64_t> readFrame{0};
        std::atomic<std::int64_t> writeFrame{0};
        std::vector<float> buf;  // capacity * 2 (stereo at most; more channels are folded to the first two)
        int fd = -1;             // disk thread only
        int fileChannels = 0;    // disk thread only
    };
    bool fill(Ring& r);

    int rate_;
    std::int64_t capacity_;
    std::array<Ring, kStreams> rings_;
    std::vector<float> scratch_;  // disk thread
    std::atomic<bool> stalled_{false};
    std::atomic<std::uint64_t> underruns_{0};
};

}  // namespace cuebox::engine
