// Time-source arbitration: which source the box follows (PTP, LTC, MTC,
// MIDI clock, or its own clock), how good each one is, and what happens
// when the one in use fails.
//
// Every source is watched by a SourceMonitor fed with observations: at a
// local time (JACK frame time in ns, or CLOCK_MONOTONIC for PTP) the source
// said its time is `offset` ns ahead of the local clock (any constant base).
// A least-squares fit over the last seconds gives the drift (ppm), the
// residuals the jitter, and the spread of recent drift estimates the
// instability. Each is judged against the source's own limit; the quality
// score is 1 / (1 + worst ratio), so 1 is perfect and 0.5 is a measure at
// its limit. MIDI sources (MTC and MIDI clock) come from up to four ports
// of equal priority: each port is its own instance with its own limits, and
// the best healthy one of a kind is used.
//
// The Arbiter walks the priority order. Loss of the active source's signal
// is an emergency: in the same call it freewheels (phase 1: the engine
// keeps running on its own audio clock, nothing audible changes) and picks
// the first usable source in priority order (phase 2); the caller notifies
// clients (phase 3) and persists the event and a recovery point (phase 4)
// and reports those times. A degraded active source (quality under its
// threshold) is kept for `holdMs` before a planned switch; a source higher
// in the order that has been locked for `recoverMs` is taken back. The box's
// own clock is always usable and is the last resort.
//
// Not thread-safe: the engine's control thread owns it. No I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cuebox::sync {

enum class Kind : std::uint8_t { internal, ptp, ltc, mtc, midi_clock };
inline constexpr int kKinds = 5;
inline constexpr int kMidiPorts = 4;  // cuebox:sync_in_1..4

const char* kindName(Kind k);
std::optional<Kind> kindFromName(std::string_view name);

// A source instance: a kind and, for MIDI kinds, the port (0-3).
struct SourceId {
    Kind kind = Kind::internal;
    int port = 0;
    bool operator==(const SourceId&) const = default;
    std::string name() const;  // "ltc", "mtc:2" (ports counted from 1)
};

enum class Health : std::uint8_t {
    off,        // disabled in the settings
    absent,     // nothing received (yet)
    acquiring,  // a signal, not yet enough of it to judge
    locked,     // healthy: every measure within its limit
    degraded,   // a signal, but its quality is under the threshold
    lost,       // the signal stopped (the decoder or ptp4l says so)
    refused,    // present but not acceptable (a PTP grandmaster or domain not on the allow-list)
};
const char* healthName(Health h);

struct Limits {
    double maxDriftPpm = 100;       // |drift| against the box's clock
    double maxJitterUs = 1000;      // RMS of the residuals of the fit
    double maxInstabilityPpm = 20;  // spread (stdev) of recent drift estimates
    double qualityThreshold = 0.5;  // under it: degraded (0.5 = a measure at its limit)
};

enum class OnLoss : std::uint8_t {
    failover,   // switch to the next usable source at once
    freewheel,  // run on the source's last known rate for holdMs first (a tape dropout)
};

struct SourceConfig {
    bool enabled = true;
    Limits limits;
    OnLoss onLoss = OnLoss::failover;
};

struct ClockConfig {
    std::vector<Kind> order{Kind::ptp, Kind::ltc, Kind::mtc, Kind::midi_clock, Kind::internal};
    std::array<SourceConfig, kKinds> kinds{};  // by Kind (limits of LTC, PTP; defaults for MIDI ports)
    std::array<SourceConfig, kMidiPorts> midiPorts{};  // per MIDI port (MTC and MIDI clock on that port): enabled and limits; onLoss is the kind's
    bool autoFailover = true;
    int holdMs = 1000;      // a degraded (or freewheeling) active source is kept this long
    int recoverMs = 5000;   // a source higher in the order must be locked this long to be taken back
    int acquireMs = 500;    // and a new signal must be seen this long before it counts as locked
};

struct Measures {
    std::size_t points = 0;      // observations in the window
    double offsetNs = 0;         // the newest observation's offset (from the base the feeder uses)
    double driftPpm = 0;
    double jitterNs = 0;
    double instabilityPpm = 0;
    double quality = 0;          // 0..1
};

class SourceMonitor {
public:
    static constexpr std::size_t kWindow = 128;       // observations kept
    static constexpr std::int64_t kWindowNs = 10'000'000'000;  // and at most this old

    // The decoder's (or ptp4l's) verdict: a signal is present and usable.
    // A change of presence starts a new fit (after a dropout the source may
    // come back with another offset).
    void setPresent(bool present, std::int64_t nowNs);
    void setRefused(bool refused) { refused_ = refused; }
    // A fault the feeder judged (an LTC level under the floor, a rate other
    // than the one set, a PTP offset over its limit): degraded while set.
    void setFault(std::string fault) { fault_ = std::move(fault); }
    const std::string& fault() const { return fault_; }
    void observe(std::int64_t localNs, double offsetNs);
    // Forget everything (a jump in the source's time: the fit starts over).
    void restart(std::int64_t nowNs);

    bool present() const { return present_; }
    bool seen() const { return seen_; }
    bool refused() const { return refused_; }
    std::int64_t presentSinceNs() const { return presentSince_; }
    std::int64_t lastObservationNs() const { return count_ ? local_[(head_ + kWindow - 1) % kWindow] : 0; }
    Measures measures(const Limits& l) const;

private:
    std::array<std::int64_t, kWindow> local_{};
    std::array<double, kWindow> offset_{};
    std::size_t head_ = 0, count_ = 0;
    std::array<double, 16> drifts_{};  // one drift estimate a second, for the instability
    std::size_t driftHead_ = 0, driftCount_ = 0;
    std::int64_t lastDriftNs_ = 0;
    bool present_ = false, seen_ = false, refused_ = false;
    std::string fault_;
    std::int64_t presentSince_ = 0;
    void fit(double& slope, double& rms) const;
};

// A change of the source in use.
struct Switch {
    SourceId from, to;
    bool emergency = false;    // the active source was lost (else: planned, or a recovery)
    std::string reason;        // "lost", "degraded", "recovered", "disabled", "refused", "settings"
    std::int64_t detectedNs = 0;   // CLOCK_MONOTONIC when the update that saw it began
    std::int64_t freewheelNs = 0;  // phase 1 done: freewheeling on the box's clock
    std::int64_t selectedNs = 0;   // phase 2 done: the next source chosen
};

struct SourceView {
    SourceId id;
    Health health = Health::absent;
    Measures measures;
};

class Arbiter {
public:
    Arbiter();
    void configure(const ClockConfig& c, std::int64_t nowNs);
    const ClockConfig& config() const { return config_; }
    SourceMonitor& monitor(SourceId id);
    const SourceMonitor& monitor(SourceId id) const;

    // Judges every source and switches when it must. `nowNs` is
    // CLOCK_MONOTONIC; the switch's phase stamps are taken with the same
    // clock as they happen.
    std::optional<Switch> update(std::int64_t nowNs);

    SourceId active() const { return active_; }
    bool freewheeling() const { return freewheelSince_ != 0; }
    Health health(SourceId id, std::int64_t nowNs) const;
    std::vector<SourceView> sources(std::int64_t nowNs) const;  // every instance, in priority order

private:
    ClockConfig config_;
    std::array<SourceMonitor, 3> single_;  // internal, ptp, ltc
    std::array<SourceMonitor, kMidiPorts> mtc_, clock_;
    static constexpr std::size_t kSlots = 3 + 2 * kMidiPorts;
    std::array<std::int64_t, kSlots> degradedSince_{};  // 0: not degraded
    std::array<std::int64_t, kSlots> lockedSince_{};    // 0: not locked
    SourceId active_{};
    std::int64_t freewheelSince_ = 0;  // the active source was lost then (0: not freewheeling)

    const SourceConfig& cfg(SourceId id) const;
    Limits limitsOf(SourceId id) const;
    std::size_t slot(SourceId id) const;
    Health judge(SourceId id, std::int64_t nowNs) const;
    std::vector<SourceId> instances(Kind k) const;
    bool usable(SourceId id, std::int64_t nowNs) const;
    std::optional<SourceId> best(std::int64_t nowNs, const SourceId* except) const;
    int rank(Kind k) const;
};

std::int64_t monotonicNs();

}  // namespace cuebox::sync
