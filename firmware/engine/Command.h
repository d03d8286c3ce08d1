// Messages between control threads and the RT thread. Trivially copyable,
// carried by fixed-capacity lock-free SPSC queues.
#pragma once

#include <cstdint>
#include <type_traits>

namespace cuebox::engine {

struct Command {
    enum class Type : std::uint8_t {
        start,      // a new voice of the clip, whatever its mode (GO)
        press,      // a tap on the clip's cell: what happens depends on its play mode
        release,    // the tap ends (gate mode stops)
        stop,       // fade the clip out (fadeFrames or the clip's fade out)
        toggle,     // stop if playing, else start
        pause,
        resume,
        stopGroup,  // fade out every voice of `group`
        panic,      // fade everything out; again within the fade: stop at once
        audition,   // play the clip on the dedicated audition voice
        stopAudition,
    };
    Type type = Type::start;
    std::uint64_t clip = 0;
    std::uint8_t group = 0;         // stopGroup
    std::uint32_t req = 0;          // caller's request number, echoed in the event
    std::uint64_t atFrame = 0;      // start: absolute frame time, 0 = as soon as possible
    std::uint32_t fadeFrames = 0;   // stop/panic: fade length, 0 = the clip's / default
    float gain = 1.0f;              // start: on top of the clip's level (a MIDI velocity mapped to level)
    std::uint64_t queuedFrame = 0;  // frame time when the command reached the engine
    // Stamps for measuring the pick-up without JACK's time estimate: the
    // frame time of the last cycle that had begun when the command was
    // posted (Engine::lastBlockFrame) and CLOCK_MONOTONIC at posting.
    std::uint64_t postedAfterBlock = 0;
    std::int64_t postedNs = 0;
};

enum class RefuseReason : std::uint8_t { none, unknownClip, poolFull, noMedia, overload, notPlaying, noStream };

struct Event {
    enum class Type : std::uint8_t {
        starting,  // a start was accepted (frame = when it will sound)
        started,   // a voice began (frame = first output frame)
        stopping,  // a stop/toggle began fading a clip out
        stopped,   // the last voice of a start ended (faded out or reached the end)
        refused,   // a command could not be carried out
        panic,     // a panic began
        stolen,    // a voice of `clip` was taken for a new one (FIFO, protection fade)
        choked,    // a voice of `clip` was choked by a 4th start in its group
        paused,
        resumed,
        ignored,   // a press whose second-press action is "nothing"
        done,      // a command that needs no other answer was carried out
        underrun,  // a streamed voice ran out of data: faded to silence, time runs on
    };
    Type type = Type::started;
    std::uint64_t clip = 0;
    std::uint32_t req = 0;
    std::uint64_t frame = 0;
    std::int64_t latencyFrames = 0;  // started: first output frame - queuedFrame
    std::uint8_t bus = 0;            // started: the voice's bus (0-3 groups, 4 audition)
    std::uint32_t cyclesWaited = 0;  // started: cycles from posting to pick-up (1 = the next cycle)
    std::int64_t waitNs = 0;         // started: posting -> start of the rendering process() call
    RefuseReason reason = RefuseReason::none;
};

static_assert(std::is_trivially_copyable_v<Command>);
static_assert(std::is_trivially_copyable_v<Event>);

const char* refuseReasonText(RefuseReason r);

}  // namespace cuebox::engine
