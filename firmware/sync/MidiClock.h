// MIDI beat clock from cuebox:midi_in: 24 clock ticks (F8) per quarter
// note, start (FA), continue (FB), stop (FC) and song position (F2, in
// sixteenths). The engine service hands the clock every incoming MIDI
// message on its control thread, stamped with the JACK frame time it arrived
// at (engine::MidiEvent). The clock fits a line through the tick stamps
// (least squares over the last 192 ticks, 8 beats), which gives the tempo
// and predicts the JACK frame of any beat: quantized launches use
// nextBeatFrame(). Why 8 beats: stamps jittered over a 256-frame period
// (stdev 74 frames) leave a 96-tick fit at 174 BPM +-0.07 BPM (1 sigma);
// 192 ticks give +-0.025 (120 BPM: +-0.012) and predict the next beat to
// ~13 frames. The price: a gradual tempo change is followed with a lag of
// about 4 beats (a sudden one restarts the fit, below).
//   MidiClock: [control] only (no locks; no allocation per message)
//
// Positions: after start the next tick is song position 0 (beat 0); after a
// song position pointer and continue the next tick is that position; each
// tick while running advances the position by one. Beats are the positions
// that are multiples of 24 ticks, counted from the song's start.
//
// Judging the stamps (MIDI stamps jitter by up to a JACK period):
// - a tick further from the fit's prediction than max(35 % of a tick,
//   6 x the residuals' stdev) is left out of the fit; three in a row are a
//   jump (tempo or phase changed at once): the fit starts again, the state
//   returns to `none` and `jumps` counts it. After start, continue or a
//   song position the first tick may re-phase the fit without counting (a
//   source may restart its clock at start);
// - a tick that comes whole tick intervals late (within that tolerance),
//   followed by one that agrees, means ticks were lost on the way (a
//   skipped JACK cycle, a dropped byte): the song position counts them
//   (`missedTicks`), so beats stay where the source puts them. (One late
//   stamp is followed by a tick on the old grid; a clock that halves its
//   tempo by none that agrees: a jump);
// - `locked` after 24 ticks that agree with the fit (a beat);
// - `lost` when no tick came for max(0.5 s, 3 tick intervals): 0.5 s is
//   longer than any scheduling hiccup, and 3 intervals only matter below
//   15 BPM. Losing the clock while running is a dropout; a source that
//   stops sending ticks after stop is only lost.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace cuebox::sync {

struct MidiClockStatus {
    enum class State { none, locked, lost };
    State state = State::none;
    bool running = false;  // between start/continue and stop
    double bpm = 0;        // from the fit (0: not known yet)
    double jitterUs = 0;   // stdev of the tick stamps about the fit
    // Tempo stability: stdev of the bpm estimate over the last 3 s, in ppm
    // of the tempo (a steady source, stamps jittered by a period: 100-200).
    double driftPpm = 0;
    std::uint64_t ticks = 0;              // clock ticks received
    std::int64_t songPositionTicks = 0;   // position of the next tick (0 after start)
    std::uint64_t dropouts = 0, jumps = 0;
    std::uint64_t missedTicks = 0;  // inferred lost on the way (see above)
};

class MidiClock {
public:
    enum class Event { none, tick, start, continue_, stop, songPosition };

    explicit MidiClock(int sampleRate);

    // One whole MIDI message at JACK frame `frame` (messages in arrival
    // order); anything but F8, FA, FB, FC and F2 is ignored (Event::none).
    Event feed(const std::uint8_t* bytes, std::size_t n, std::uint64_t frame);

    // Judges silence (see above). Call it every control-thread cycle.
    void tick(std::uint64_t nowFrame);

    const MidiClockStatus& status() const { return status_; }

    // Predicted JACK frame of the tick at song position `position` / of beat
    // `beat` (position 24 * beat). Empty while stopped or before the fit
    // has two ticks.
    std::optional<std::uint64_t> tickFrame(std::int64_t position) const;
    std::optional<std::uint64_t> beatFrame(std::int64_t beat) const;
    // The first beat (0 or later) at or after `afterFrame`.
    struct Beat {
        std::int64_t beat = 0;
        std::uint64_t frame = 0;
    };
    std::optional<Beat> nextBeat(std::uint64_t afterFrame) const;
    std::optional<std::uint64_t> nextBeatFrame(std::uint64_t afterFrame) const;

private:
    static constexpr int kWindow = 192;  // ticks in the fit
    static constexpr int kMinFit = 8;    // fewer: a slope carried over, or 2-point line
    static constexpr int kLock = 24;     // ticks that agree before `locked`
    static constexpr int kHistory = 512; // bpm estimates kept for driftPpm

    void onTick(std::uint64_t frame);
    void restart(bool keepSlope);
    void refit();
    double predict(std::int64_t x) const;  // stamp of tick index x, relative to ref_
    void anchor();
    void updateDrift(std::uint64_t frame);
    double lossFrames() const;

    int sampleRate_;
    // Every F8 has an index (0, 1, ...); the fit maps index -> JACK frame.
    std::int64_t nextIndex_ = 0;
    std::array<std::int64_t, kWindow> xs_{};
    std::array<std::uint64_t, kWindow> ys_{};
    int n_ = 0, head_ = 0;   // points in the window; where the next goes
    bool haveFit_ = false;
    std::uint64_t ref_ = 0;  // stamps are fitted relative to this frame...
    std::int64_t xref_ = 0;  // ...and indices relative to this one
    double a_ = 0, b_ = 0;   // stamp(x) = ref_ + a_ + b_ * (x - xref_)
    double carried_ = 0;     // slope kept over a restart (0: none)
    double sigma_ = 0;       // residual stdev (frames)
    int bad_ = 0;            // ticks in a row off the fit
    std::int64_t pending_ = 0;  // ticks the last off tick may have come after lost
    int good_ = 0;           // ticks agreeing since the fit started
    bool rephase_ = false;   // the next tick may re-phase the fit
    bool heard_ = false;
    std::uint64_t lastTick_ = 0;
    // Position mapping: tick index anchorX_ is at song position anchorPos_.
    std::int64_t anchorX_ = 0, anchorPos_ = 0;
    struct Estimate {
        std::uint64_t frame;
        double bpm;
    };
    std::array<Estimate, kHistory> history_{};
    int historyN_ = 0, historyHead_ = 0;
    MidiClockStatus status_;
};

const char* midiClockStateName(MidiClockStatus::State s);

}  // namespace cuebox::sync
