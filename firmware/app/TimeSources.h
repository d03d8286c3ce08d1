// The engine's time sources, on its control thread: LTC (decoded from the
// ring the RT thread fills), MTC and MIDI clock from cuebox:sync_in_1..4,
// PTP from ptp4l's management socket, and the box's own clock; each fed to
// its sync::SourceMonitor, the sync::Arbiter choosing which one is followed.
// Also what uses time: the timestamp record of a clip start (which source,
// which time), quantized start frames (beat, bar, frame of the time
// division) and the frame at which a timecode will pass (timecode-triggered
// clips). Never touches the RT thread except through the LTC ring.
#pragma once

#include "engine/Ltc.h"
#include "model/Settings.h"
#include "sync/Clock.h"
#include "sync/MidiClock.h"
#include "sync/Mtc.h"
#include "sync/Ptp.h"

#include <boost/json.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cuebox::app {

struct TimeSourcesConfig {
    sync::ClockConfig clock;
    std::string ptpSocket;
    int ptpDomain = 0;
    std::vector<std::string> ptpAllowedGrandmasters;  // [] = any
    std::vector<int> ptpAllowedDomains;                // [] = any
    double ptpMaxOffsetUs = 1000;
    std::string ltcFps = "auto";  // or the rate the LTC must have
    double ltcMinLevelDbfs = -36;
    int ltcLockFrames = 2;
    int ltcBufferMs = 250;
    std::string tempoSource = "manual";  // or "midi_clock"
    double tempoBpm = 120;
    int beatsPerBar = 4;
    std::string quantize = "off";  // the show's default
    int snapMinMs = 20;
    std::array<double, 4> groupFps{25, 25, 25, 25};
    std::array<bool, 4> groupDropFrame{};
};
TimeSourcesConfig timeSourcesConfig(const model::Settings& s);

class TimeSources {
public:
    explicit TimeSources(int sampleRate);
    ~TimeSources();

    // The show's settings; `nowFrame` anchors a new hand-set tempo.
    void configure(const TimeSourcesConfig& c, std::uint64_t nowFrame);

    // Inputs, each on the control thread.
    // An LTC block older than ltc_buffer_ms at `nowFrame` is dropped (the
    // decoder sees a gap): the buffer bounds how late a decoded time can be.
    void ltcBlock(const float* samples, std::size_t n, std::uint64_t frame, std::uint64_t nowFrame);
    void midi(int port, const std::uint8_t* bytes, std::size_t n, std::uint64_t frame);
    int ptpFd() const;
    void ptpReadable();

    // Once a poll: loss checks, PTP requests (4 a second), monitors fed,
    // the arbiter judged. A switch of source comes back as the event to
    // send (the "clock_switch" event, with its phase times).
    std::optional<boost::json::object> service(std::int64_t nowNs, std::uint64_t nowFrame);

    boost::json::object live() const;     // live.clock
    boost::json::object ltcLive() const;  // live.ltc

    // Using time.
    // The record of a clip start at `frame`: the source followed and its
    // time there ({time_source, source_time, source_state}).
    boost::json::object stamp(std::uint64_t frame) const;
    // The first boundary of `mode` ("beat", "bar", "frame") for `group`
    // (0-3) at least snapMinMs after `nowFrame`; nullopt for "off".
    std::optional<std::uint64_t> quantized(const std::string& mode, int group, std::uint64_t nowFrame) const;
    // The frame at which the timecode source will show `timecode`
    // ("HH:MM:SS:FF"), if it is locked and that time is still ahead.
    struct TimecodeAt {
        std::uint64_t frame = 0;
        std::string source;  // "ltc", "mtc:2"
    };
    std::optional<TimecodeAt> timecodeFrame(const std::string& timecode, std::uint64_t nowFrame) const;
    // The timecode now (the newest decoded frame counted on), "" if none.
    std::string timecodeNow(std::uint64_t frame) const;
    double tempoBpm() const;
    const std::string& quantizeDefault() const { return cfg_.quantize; }

    const sync::Arbiter& arbiter() const { return arbiter_; }
    const engine::LtcDecoder* ltc() const { return ltc_.get(); }

private:
    struct Timecode {  // a locked timecode stream's newest frame
        std::string source;
        std::int64_t count = 0;  // frames since midnight (drop-frame numbering counted out)
        std::uint64_t startFrame = 0;
        double samplesPerFrame = 0;
        int countFps = 25;
        bool dropFrame = false;
    };
    std::optional<Timecode> timecodeSource() const;
    std::optional<Timecode> ltcTimecode() const;
    std::optional<Timecode> mtcTimecode(int port) const;
    const sync::MidiClock* tempoClock() const;
    void feedLtcMonitor(const engine::LtcFrame& f);

    int rate_;
    TimeSourcesConfig cfg_;
    sync::Arbiter arbiter_;
    std::unique_ptr<engine::LtcDecoder> ltc_;
    std::uint64_t ltcJumps_ = 0;
    std::uint64_t ltcLate_ = 0;  // blocks dropped as older than the buffer
    double ltcBase_ = 0;  // offset base of the LTC monitor's current fit
    bool ltcBased_ = false;
    std::array<std::unique_ptr<sync::MtcDecoder>, sync::kMidiPorts> mtc_;
    std::array<std::uint64_t, sync::kMidiPorts> mtcJumps_{};
    std::array<double, sync::kMidiPorts> mtcBase_{};
    std::array<bool, sync::kMidiPorts> mtcBased_{};
    std::array<std::unique_ptr<sync::MidiClock>, sync::kMidiPorts> clock_;
    std::array<std::uint64_t, sync::kMidiPorts> clockJumps_{};  // jumps + dropouts seen
    std::unique_ptr<sync::PtpClient> ptp_;
    std::int64_t ptpAsked_ = 0, ptpAnswered_ = 0;
    std::uint64_t tempoAnchor_ = 0;  // the frame of beat 0 of a hand-set tempo
    std::optional<sync::Switch> lastSwitch_;
    std::string lastSwitchIso_;
};

}  // namespace cuebox::app
