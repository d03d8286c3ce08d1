// The cuebox audio engine: voices, fades and mixing, renderable offline.
//
// Thread contract (every public function is tagged):
//   [RT]      only from the audio process thread; never allocates, locks,
//             logs, does I/O or throws.
//   [control] from one control thread at a time (the engine service loop).
//   [any]     lock-free reads, from any thread.
// The engine knows nothing of JACK, the network or the store: the JACK
// adapter calls process(), the engine service feeds commands and tables.
#pragma once

#include "engine/ClipTable.h"
#include "engine/Command.h"
#include "engine/LoadMeter.h"

#include <boost/lockfree/spsc_queue.hpp>

#include <array>
#include <atomic>
#include <cstdint>

namespace cuebox::engine {

inline constexpr int kOutputs = 8;
inline constexpr int kVoiceSlots = 48;  // mono slots; a stereo voice takes two
inline constexpr int kMaxVoices = kVoiceSlots;

struct Config {
    int sampleRate = 48000;
    int protectionFadeMs = 5;
    int panicFadeMs = 1000;
};

// Live view of one voice, written by RT, read by control threads. Fields are
// individually atomic; a reader may see a mix of two blocks (display only).
struct VoiceView {
    std::atomic<std::uint64_t> clip{0};      // 0 = free
    std::atomic<std::int64_t> position{0};   // frames into the media
    std::atomic<std::int64_t> length{0};     // frames
    std::atomic<std::uint8_t> stopping{0};
};

class Engine {
public:
    explicit Engine(const Config& cfg);  // [control] allocates everything up front
    ~Engine();                           // [control] frees tables still held
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    const Config& config() const { return cfg_; }  // [any]

    bool post(const Command& c);                   // [control] false if the queue is full
    bool popEvent(Event& e);                       // [control]
    // [control] Offers a new clip table; false (and nothing taken) while the
    // previous offer has not been picked up yet: try again later.
    bool publishTable(ClipTable* t);
    // [control] A table the RT thread no longer reads; the caller deletes it.
    ClipTable* takeRetiredTable();

    // [RT] Renders nframes into kOutputs channel buffers (overwritten).
    // blockFrame is the absolute frame time of the block's first sample.
    void process(std::uint32_t nframes, float* const* outs, std::uint64_t blockFrame);

    // [any] live state
    const VoiceView& voice(int i) const { return views_[static_cast<std::size_t>(i)]; }
    int activeSlots() const { return activeSlots_.load(std::memory_order_relaxed); }
    // [any] frame time of the most recent process() call's block (0 before
    // the first); stamp commands with it (Command::postedAfterBlock).
    std::uint64_t lastBlockFrame() const { return lastBlockFrame_.load(std::memory_order_acquire); }
    const LoadMeter& load() const { return load_; }
    std::uint64_t droppedEvents() const { return droppedEvents_.load(std::memory_order_relaxed); }

private:
    struct Voice {
        bool active = false;
        const ClipEntry* clip = nullptr;
        const ClipTable* table = nullptr;  // the table `clip` lives in
        std::uint64_t clipId = 0;
        std::uint32_t req = 0;
        std::uint64_t startFrame = 0;   // absolute frame of the first sample
        std::uint64_t queuedFrame = 0;
        std::uint64_t postedAfterBlock = 0;
        std::int64_t postedNs = 0;
        std::uint64_t pickedUpBlock = 0;
        bool started = false;           // first sample rendered
        std::int64_t pos = 0;           // frames into the media
        float gain = 0.0f;              // current fade gain
        float step = 0.0f;              // per-frame gain change
        std::uint32_t rampLeft = 0;     // frames left in the current ramp
        bool stopping = false;
        int slots = 1;
    };

    void handle(const Command& c, std::uint64_t blockFrame);
    void start(const Command& c, std::uint64_t blockFrame);
    void stopVoice(Voice& v, std::uint32_t fadeFrames);
    bool stopClip(std::uint64_t clip, std::uint32_t fadeFrames, std::uint32_t req);
    void panic(std::uint32_t fadeFrames, std::uint64_t blockFrame);
    void render(Voice& v, std::uint32_t nframes, float* const* outs, std::uint64_t blockFrame);
    void release(Voice& v, int index);
    void retireTables();
    void emit(const Event& e);
    std::uint32_t msToFrames(int ms) const;

    Config cfg_;
    std::array<Voice, kMaxVoices> voices_{};
    std::array<VoiceView, kMaxVoices> views_{};
    std::atomic<int> activeSlots_{0};
    int usedSlots_ = 0;  // RT-private mirror of activeSlots_

    boost::lockfree::spsc_queue<Command, boost::lockfree::capacity<1024>> commands_;
    boost::lockfree::spsc_queue<Event, boost::lockfree::capacity<1024>> events_;
    boost::lockfree::spsc_queue<ClipTable*, boost::lockfree::capacity<16>> retired_;
    std::atomic<ClipTable*> pending_{nullptr};
    const ClipTable* current_ = nullptr;  // RT-owned
    std::array<const ClipTable*, 8> retiring_{};  // RT-owned: waiting for voices to let go
    std::atomic<std::uint64_t> droppedEvents_{0};

    std::atomic<std::uint64_t> lastBlockFrame_{0};
    std::int64_t blockStartNs_ = 0;  // RT-owned
    std::uint32_t blockFrames_ = 0;  // RT-owned
    std::uint64_t panicUntil_ = 0;  // a second panic before this frame cuts at once
    LoadMeter load_;
};

}  // namespace cuebox::engine
