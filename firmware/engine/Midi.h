// MIDI between the JACK MIDI ports (cuebox:midi_in, cuebox:midi_out) and the
// control thread: the RT thread hands each incoming event to a lock-free
// ring and writes queued outgoing messages into the output port; the
// control thread forwards incoming events to cuebox-web (which maps them)
// and queues the feedback it gets back. The RT side never waits: a full ring
// drops the event and counts it.
//   [RT]      received(), drainOut()
//   [control] next(), send()     [any] dropped()
#pragma once

#include <boost/lockfree/spsc_queue.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>

namespace cuebox::engine {

inline constexpr std::size_t kMaxMidiEvent = 128;  // channel messages and MSC SysEx fit

struct MidiEvent {
    std::uint64_t frame = 0;  // JACK frame time of the event
    std::uint8_t port = 0;    // 0: midi_in (control); 1-4: sync_in_1..4 (time sources)
    std::uint16_t size = 0;
    std::array<std::uint8_t, kMaxMidiEvent> bytes{};
};

class MidiIo {
public:
    // [RT] one incoming event at `frame`. Longer events (a bulk dump) are
    // not control messages: dropped and counted like a full ring.
    void received(const std::uint8_t* data, std::size_t n, std::uint64_t frame, std::uint8_t port = 0) {
        if (n == 0 || n > kMaxMidiEvent || in_.write_available() == 0) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        MidiEvent e;
        e.frame = frame;
        e.port = port;
        e.size = static_cast<std::uint16_t>(n);
        std::memcpy(e.bytes.data(), data, n);
        in_.push(e);
    }
    // [RT] calls write(bytes, size) for each queued outgoing message.
    template <typename Write>
    void drainOut(Write write) {
        out_.consume_all([&](const MidiEvent& e) { write(e.bytes.data(), static_cast<std::size_t>(e.size)); });
    }
    // [control]
    bool next(MidiEvent& e) { return in_.pop(e); }
    bool send(const std::uint8_t* data, std::size_t n) {
        if (n == 0 || n > kMaxMidiEvent) return false;
        MidiEvent e;
        e.size = static_cast<std::uint16_t>(n);
        std::memcpy(e.bytes.data(), data, n);
        return out_.push(e);
    }
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    boost::lockfree::spsc_queue<MidiEvent, boost::lockfree::capacity<512>> in_;
    boost::lockfree::spsc_queue<MidiEvent, boost::lockfree::capacity<512>> out_;
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace cuebox::engine
