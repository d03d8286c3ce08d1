// MIDI time code from cuebox:midi_in. The engine service hands the decoder
// every incoming MIDI message on its control thread, stamped with the JACK
// frame time it arrived at (engine::MidiEvent); the decoder assembles
// quarter frames and full-frame messages into times, places each at the
// JACK frame its timecode frame started, and judges the source the way
// engine::LtcDecoder judges LTC: none / locked / lost, dropouts, jumps,
// reverse play.
//   MtcDecoder: [control] only (no locks; no allocation per message)
//
// Timing contract (MIDI 1.0, MTC): a running source sends 4 quarter frames
// per timecode frame; the 8 pieces of a time T are sent over frames T and
// T+1, piece 0 at the instant frame T starts. Forward, pieces arrive 0..7
// and T is known at piece 7, when T+1 is 3/4 done (the time now is T + 1.75
// frames). Reverse, pieces arrive 7..0 and piece 0 is again sent at the
// instant the position is at T's start (playing backwards, where T ends):
// T is known with no latency. Either way `startFrame` is the JACK frame of
// piece 0's instant, from a least-squares fit over the run's last 32
// quarter-frame stamps (MIDI stamps jitter by up to a JACK period; the fit
// averages zero-mean jitter out; a constant latency of the interface does
// not average out and is the caller's to subtract; stamps that jitter by
// more than 3/4 of a frame break the runs). A full-frame message (a
// locate) gives the time of the frame that starts at the message.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace cuebox::sync {

// HH:MM:SS:FF <-> frames since 00:00:00:00, for a counting rate of 24, 25
// or 30 frames. Drop-frame (29.97) numbering skips frame numbers 00 and 01
// at the start of every minute except every tenth: 00:00:59;29 is followed
// by 00:01:00;02, 00:09:59;29 by 00:10:00;00. Days wrap: 23:59:59:xx + 1 is
// 00:00:00:00.
struct Timecode {
    int hours = 0, minutes = 0, seconds = 0, frames = 0;
    bool operator==(const Timecode&) const = default;
};
std::int64_t timecodeFramesPerDay(int fps, bool dropFrame);
std::int64_t timecodeToFrames(const Timecode& t, int fps, bool dropFrame);
// `n` modulo a day (negative counts from the end of the day).
Timecode framesToTimecode(std::int64_t n, int fps, bool dropFrame);
// In range, and not a number drop-frame skips.
bool timecodeValid(const Timecode& t, int fps, bool dropFrame);

// One time decoded from MTC.
struct MtcTime {
    int hours = 0, minutes = 0, seconds = 0, frames = 0;
    double fps = 0;          // 24, 25, 29.97, 30 (the rate bits: 0, 1, 2, 3)
    bool dropFrame = false;  // 29.97 drop-frame
    bool full = false;       // from a full-frame message, not quarter frames
    bool reverse = false;    // quarter frames arrived 7..0
    std::uint64_t startFrame = 0;  // JACK frame time of the start of frame T (see above)
    double samplesPerFrame = 0;    // at the nominal rate (29.97: sampleRate * 1001 / 30000)

    Timecode timecode() const { return {hours, minutes, seconds, frames}; }
    int countFps() const { return fps > 29 ? 30 : static_cast<int>(fps + 0.5); }
    std::string text() const;  // "01:02:03:04", "01:02:03;04" for drop-frame
};

struct MtcStatus {
    enum class State { none, locked, lost };
    State state = State::none;
    std::optional<MtcTime> last;  // the newest time
    double fps = 0;               // of the newest time (0: none yet)
    // times decoded; lost after lock (no MTC message for 3 frames' time);
    // times that do not follow the previous one by the frames elapsed;
    // times decoded from reverse quarter frames.
    std::uint64_t frames = 0, dropouts = 0, jumps = 0, reverse = 0;
};

class MtcDecoder {
public:
    explicit MtcDecoder(int sampleRate);

    // One whole MIDI message at JACK frame `frame` (messages in arrival
    // order). Quarter frames (F1 xx) and full-frame SysEx
    // (F0 7F <any device> 01 01 hh mm ss ff F7) are used, anything else is
    // ignored. Returns the time this message completed, if any.
    std::optional<MtcTime> feed(const std::uint8_t* bytes, std::size_t n, std::uint64_t frame);

    // Judges silence: with no MTC message for more than 3 frames' time
    // before `nowFrame`, a locked source is lost (a dropout) and a half
    // assembled time is dropped. Call it every control-thread cycle.
    void tick(std::uint64_t nowFrame);

    const MtcStatus& status() const { return status_; }

private:
    static constexpr int kWindow = 32;  // quarter frames in the fit: 8 timecode frames

    std::optional<MtcTime> quarterFrame(int piece, int nibble, std::uint64_t frame);
    std::optional<MtcTime> fullFrame(const std::uint8_t* b, std::uint64_t frame);
    std::uint64_t fitStart(std::int64_t idx0, double samplesPerFrame) const;
    void judge(const MtcTime& t, int rateBits, bool fromRun, std::int64_t idx0);
    void silence(std::uint64_t nowFrame);
    void breakRun();
    double samplesPerFrame(int rateBits) const;

    int sampleRate_;
    // The quarter-frame run: pieces in order in one direction, no gap.
    std::array<int, 8> nibble_{};
    int lastPiece_ = -1;
    int dir_ = 0;                // +1 forward (0..7), -1 reverse (7..0), 0 not known yet
    int seq_ = 0;                // pieces in the run so far
    std::int64_t idx_ = -1;      // run index of the newest piece
    std::uint64_t runId_ = 0;    // which run (a time from the same run follows by index)
    std::array<std::uint64_t, kWindow> stamps_{};  // stamp of run index i at [i % kWindow]
    bool heard_ = false;
    std::uint64_t lastMessage_ = 0;  // JACK frame of the newest MTC message
    // The previous time, for jumps.
    struct Prev {
        std::int64_t count = 0;  // timecodeToFrames
        int rateBits = 0;
        std::uint64_t startFrame = 0;
        std::uint64_t runId = 0;  // 0: a full frame
        std::int64_t idx0 = 0;    // run index of its piece 0
    };
    std::optional<Prev> prev_;
    int good_ = 0;  // consecutive times in order
    MtcStatus status_;
};

const char* mtcStateName(MtcStatus::State s);

}  // namespace cuebox::sync
