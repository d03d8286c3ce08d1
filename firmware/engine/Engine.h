// The cuebox audio engine: voices, fades, busses, routing and meters,
// renderable offline.
//
// Thread contract (every public function is tagged):
//   [RT]      only from the audio process thread; never allocates, locks,
//             logs, does I/O or throws.
//   [control] from one control thread at a time (the engine service loop).
//   [any]     lock-free reads, from any thread.
// The engine knows nothing of JACK, the network or the store: the JACK
// adapter calls process(), the engine service feeds commands and tables.
//
// Voices: a pool of 48 mono slots (a stereo voice takes two). A start that
// does not fit steals the oldest voice (FIFO) with a protection fade. A clip
// group in choke mode holds at most 3 voices (a 4th start chokes the oldest
// of the group) and has 3 stereo voices' worth of slots (6) reserved, so
// other groups cannot take them. The audition voice is dedicated: never
// counted in or taken from the pool, never stolen. Voice objects have
// headroom beyond the pool so a stolen or choked voice fades out while its
// successor starts.
#pragma once

#include "engine/ClipTable.h"
#include "engine/Command.h"
#include "engine/Envelope.h"
#include "engine/LoadMeter.h"
#include "engine/Ltc.h"
#include "engine/Midi.h"
#include "engine/Mixer.h"
#include "engine/OverloadGuard.h"
#include "engine/Recorder.h"
#include "engine/Streamer.h"

#include <boost/lockfree/spsc_queue.hpp>

#include <array>
#include <atomic>
#include <cstdint>

namespace cuebox::engine {

inline constexpr int kVoiceSlots = 48;     // mono slots in the pool
inline constexpr int kChokeVoices = 3;     // voices a choke group may hold
inline constexpr int kChokeReserve = 6;    // slots reserved per choke group
inline constexpr int kMaxVoices = 96;      // voice objects (pool + fading headroom)

struct Config {
    int sampleRate = 48000;
    int protectionFadeMs = 5;
    int panicFadeMs = 1000;
    int outputs = 8;
};

enum class VoiceState : std::uint8_t { free, playing, fading, paused };

// Live view of one voice, written by RT, read by control threads. Fields are
// individually atomic; a reader may see a mix of two blocks (display only).
struct VoiceView {
    std::atomic<std::uint64_t> clip{0};      // 0 = free
    std::atomic<std::int64_t> position{0};   // frames into the media
    std::atomic<std::int64_t> length{0};     // frames
    std::atomic<VoiceState> state{VoiceState::free};
    std::atomic<std::uint8_t> bus{0};
    std::atomic<std::uint8_t> slots{0};
    std::atomic<std::uint8_t> counted{0};    // in the pool (not a fading leftover)
};

struct VoiceUsage {
    int stereo = 0;    // counted stereo voices
    int mono = 0;      // counted mono voices
    int slots = 0;     // pool slots in use
    int reserved = 0;  // slots reserved for choke groups
    bool audition = false;
    LoadState load = LoadState::normal;
};

class Engine {
public:
    explicit Engine(const Config& cfg);  // [control] allocates everything up front
    ~Engine();                           // [control] frees tables still held
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    const Config& config() const { return cfg_; }  // [any]
    int outputs() const { return mixer_.outputs(); }

    bool post(const Command& c);                   // [control] false if the queue is full
    bool popEvent(Event& e);                       // [control]
    // [control] Offers a new clip table / mix configuration; false (nothing
    // taken) while the previous offer is still pending: try again later.
    bool publishTable(ClipTable* t);
    bool publishMix(MixConfig* m);
    // [control] Objects the RT thread no longer reads; the caller deletes them.
    ClipTable* takeRetiredTable();
    MixConfig* takeRetiredMix();

    // [RT] Renders one block. outs: outputs() physical outputs, then the two
    // monitor channels (all overwritten). blockFrame is the absolute frame
    // time of the block's first sample.
    void process(std::uint32_t nframes, float* const* outs, std::uint64_t blockFrame) {
        process(nframes, nullptr, outs, blockFrame);
    }
    // [RT] The same, with the input ports: rec_a_1, rec_a_2, rec_b_1,
    // rec_b_2, ltc_in (null: silence).
    void process(std::uint32_t nframes, const float* const* ins, float* const* outs, std::uint64_t blockFrame);

    // [any] live state
    const VoiceView& voice(int i) const { return views_[static_cast<std::size_t>(i)]; }
    int activeSlots() const { return usage_.slots.load(std::memory_order_relaxed); }
    VoiceUsage usage() const;
    const LoadMeter& load() const { return load_; }
    LoadState loadState() const { return overload_.state(); }
    std::uint64_t droppedEvents() const { return droppedEvents_.load(std::memory_order_relaxed); }
    std::uint64_t lastBlockFrame() const { return lastBlockFrame_.load(std::memory_order_acquire); }
    Mixer& mixer() { return mixer_; }  // [control] meters only
    Streamer& streamer() { return streamer_; }  // the disk thread services it
    Recorder& recorder() { return recorder_; }  // control starts/stops, the disk thread drains
    MidiIo& midi() { return midi_; }            // the JACK adapter and the control thread
    LtcTap& ltc() { return ltc_; }              // filled from ltc_in by process(); the control thread decodes
    // [control] tests drive the overload states through this.
    OverloadGuard& overloadGuard() { return overload_; }
    // [control] Test hook: process() busy-waits until this many ns after its
    // start, so tests can put real, measured load on the RT thread (the
    // engine process enables it only with CUEBOX_TEST_HOOKS=1).
    void setBallastNs(std::int64_t ns) { ballastNs_.store(ns, std::memory_order_relaxed); }

private:
    struct Voice {
        bool active = false;
        bool audition = false;
        bool counted = false;   // holds pool slots (false once stolen/choked, and for audition)
        bool started = false;   // first sample rendered
        bool paused = false;    // faded out and holding its position
        bool pausing = false;   // fading out towards paused
        const ClipEntry* clip = nullptr;
        const ClipTable* table = nullptr;  // the table `clip` lives in
        std::uint64_t clipId = 0;
        std::uint32_t req = 0;
        std::uint64_t seq = 0;  // start order (FIFO)
        std::uint64_t startFrame = 0;
        std::uint64_t queuedFrame = 0;
        std::uint64_t postedAfterBlock = 0;
        std::int64_t postedNs = 0;
        std::uint64_t pickedUpBlock = 0;
        std::int64_t pos = 0;
        std::uint32_t loopsDone = 0;
        std::uint8_t bus = 0;
        int slots = 1;
        float clipGain = 1.0f;  // smoothed towards clip->gain * startGain
        float startGain = 1.0f; // the start command's own gain (MIDI velocity)
        Envelope env;
        int stream = -1;        // streamer ring of a long clip
        float gate = 1.0f;      // data gate: fades out when the stream runs dry
        float gateStep = 0.0f;
        bool starved = false;
    };

    void handle(const Command& c, std::uint64_t blockFrame);
    void press(const Command& c, std::uint64_t blockFrame);
    Voice* start(const Command& c, std::uint64_t blockFrame, bool audition);
    bool makeRoom(const ClipEntry& e, int slots, std::uint64_t blockFrame);
    Voice* freeVoice();
    // The oldest pool voice of `group`, or of any group not in choke mode (-1).
    Voice* oldestCounted(int group);
    void fadeOut(Voice& v, std::uint32_t frames, Curve c);
    void uncount(Voice& v);
    bool stopClip(std::uint64_t clip, std::uint32_t fadeFrames, bool useClipFade);
    void restart(Voice& old, const Command& c, std::uint64_t blockFrame);
    void panic(std::uint32_t fadeFrames, std::uint64_t blockFrame);
    void render(Voice& v, std::uint32_t nframes, std::uint64_t blockFrame);
    bool renderStreamed(Voice& v, std::uint32_t begin, std::uint32_t nframes, float* busL, float* busR, float g0,
                        float gStep);
    void release(Voice& v);
    static bool envelopeEnded(Voice& v);
    void swapTable(const ClipTable* next);
    void retire();
    void publishUsage();
    void emit(const Event& e);
    void emit(Event::Type t, const Voice& v, std::uint64_t frame);
    std::uint32_t msToFrames(int ms) const;
    std::uint32_t protectionFrames() const;
    int index(const Voice& v) const { return static_cast<int>(&v - voices_.data()); }

    Config cfg_;
    Mixer mixer_;
    Streamer streamer_;
    Recorder recorder_;
    MidiIo midi_;
    LtcTap ltc_;
    std::array<Voice, kMaxVoices> voices_{};
    std::array<VoiceView, kMaxVoices> views_{};
    std::uint64_t nextSeq_ = 1;

    struct UsageAtomics {
        std::atomic<int> stereo{0}, mono{0}, slots{0}, reserved{0};
        std::atomic<bool> audition{false};
    } usage_;

    boost::lockfree::spsc_queue<Command, boost::lockfree::capacity<1024>> commands_;
    boost::lockfree::spsc_queue<Event, boost::lockfree::capacity<2048>> events_;
    boost::lockfree::spsc_queue<ClipTable*, boost::lockfree::capacity<16>> retiredTables_;
    boost::lockfree::spsc_queue<MixConfig*, boost::lockfree::capacity<16>> retiredMix_;
    std::atomic<ClipTable*> pendingTable_{nullptr};
    std::atomic<MixConfig*> pendingMix_{nullptr};
    const ClipTable* current_ = nullptr;           // RT-owned
    std::array<const ClipTable*, 8> retiring_{};  // RT-owned: waiting for voices to let go
    MixConfig* mix_ = nullptr;                     // RT-owned
    std::atomic<std::uint64_t> droppedEvents_{0};

    std::atomic<std::uint64_t> lastBlockFrame_{0};
    std::int64_t blockStartNs_ = 0;  // RT-owned
    std::uint32_t blockFrames_ = 0;  // RT-owned
    std::uint64_t panicUntil_ = 0;
    LoadMeter load_;
    OverloadGuard overload_;
    std::atomic<std::int64_t> ballastNs_{0};
};

}  // namespace cuebox::engine
