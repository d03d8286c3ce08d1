// Record A and B: each records its stereo input pair (cuebox:rec_a_1/2,
// rec_b_1/2) through a lock-free ring to a disk thread that writes the file.
// The RT side never waits: a full ring drops frames and counts them.
//   [control] start(), stop()      [RT] process()
//   [disk]    read(), finished()   [any] state(), frames(), overruns()
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace cuebox::engine {

inline constexpr int kRecorders = 2;

class Recorder {
public:
    enum class State : std::uint8_t { idle, recording, stopping };

    explicit Recorder(int sampleRate, double ringSeconds = 10.0);  // [control]

    bool start(int rec, float gain);  // [control] false if not idle
    void stop(int rec);               // [control] the disk thread drains, then finished()
    // [RT] ins: rec_a_1, rec_a_2, rec_b_1, rec_b_2 (null entries read as silence).
    void process(std::uint32_t nframes, const float* const* ins);
    // [disk] Moves up to maxFrames recorded stereo frames into out; returns
    // frames moved.
    std::size_t read(int rec, float* out, std::size_t maxFrames);
    // [disk] After stop(), once read() returned everything: back to idle.
    void finished(int rec);

    State state(int rec) const { return slots_[static_cast<std::size_t>(rec)].state.load(std::memory_order_acquire); }
    std::uint64_t frames(int rec) const { return slots_[static_cast<std::size_t>(rec)].frames.load(std::memory_order_relaxed); }
    std::uint64_t overruns(int rec) const { return slots_[static_cast<std::size_t>(rec)].dropped.load(std::memory_order_relaxed); }

private:
    struct Slot {
        std::atomic<State> state{State::idle};
        std::atomic<float> gain{1.0f};
        std::vector<float> ring;                // capacity * 2, stereo interleaved
        std::atomic<std::uint64_t> write{0};    // frames written (RT)
        std::atomic<std::uint64_t> read{0};     // frames read (disk)
        std::atomic<std::uint64_t> frames{0};   // frames recorded this take
        std::atomic<std::uint64_t> dropped{0};  // frames lost to a full ring
    };
    std::uint64_t capacity_;
    std::array<Slot, kRecorders> slots_;
};

}  // namespace cuebox::engine
