// MIDI and MIDI Show Control as control input (docs/CONTROL.md): the engine
// forwards what arrives on cuebox:midi_in; each message is matched against
// the show's control mappings (most specific scope first: tab, page, show)
// and carried out through ControlExec, as OSC is. MSC GO/STOP/RESUME with a
// cue number act on the clip of that id when no mapping says otherwise.
// Learn mode hands the next message's address to whoever asked. Feedback
// notes on cuebox:midi_out light a grid controller's pads with the state of
// the clip each note is mapped to. io thread only.
#pragma once

#include "base/Error.h"
#include "model/Show.h"
#include "store/Store.h"
#include "web/LogLimiter.h"
#include "web/Osc.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace cuebox::web {

class ShowService;
class ControlExec;
class CommandSink;

// One incoming message as the mapping table names it.
struct MidiInput {
    std::string source;   // "midi" or "msc"
    std::string address;  // note/1/60, cc/1/7, pc/1/5; go/12, stop, fire/3, all_off...
    int value = 0;        // velocity, controller value, or 0
    bool release = false; // a note off
    // MSC: what the message does without a mapping (cue = clip id).
    std::string msc;      // go, stop, resume, all_off, fire...
    std::string cue;
};

// The mapping table's name for raw MIDI bytes; errors name "midi"/"msc".
// `channel` 0 takes every channel, 1-16 only that one (others: nullopt).
Result<std::optional<MidiInput>> midiInput(std::span<const std::uint8_t> bytes, int channel, int mscDevice, int mscGroup,
                                           int mscFormat, bool mscEnabled);
// What a mapping asks for on this input, or nullopt when this input does not
// fire it (a note off for a start, a controller below half for a trigger).
Result<std::optional<ControlRequest>> requestFromMapping(const boost::json::object& mapping, const MidiInput& in, bool crossedUp);
// The enabled mappings of `source` and `address` that act now: those of the
// most specific scope that has any (the active tab, then the active page,
// then the whole show).
std::vector<const boost::json::object*> activeMappings(const model::Show& show, const std::string& source, const std::string& address);
// A MIDI velocity as a gain for one start: 40 log10(v/127) dB (127: 0 dB).
double velocityDb(int velocity);
// A controller value 0-127 as a fader level: 127 = 0 dB, 0 = off (-90).
double controllerDb(int value);

class MidiControl {
public:
    using Log = std::function<void(store::LogEntry)>;
    using Learned = std::function<void(Result<std::pair<std::string, std::string>>)>;
    MidiControl(boost::asio::io_context& io, ShowService& show, ControlExec& exec, CommandSink& engine, Log log);

    // An engine event: midi (the bytes), clip_started / clip_stopped
    // (feedback), engine (connected: the feedback of every mapped note).
    void onEvent(const boost::json::object& ev);
    // The next MIDI or MSC message within `timeout` is not acted on: its
    // (source, address) goes to `done`. A second learn ends the first with
    // a conflict.
    void learn(std::chrono::milliseconds timeout, Learned done);
    // Sends every mapped note's state again (after a mapping or show change).
    void refreshFeedback();
    boost::json::object stats() const;

private:
    void onMidi(const std::vector<std::uint8_t>& bytes);
    void feedback(std::uint64_t clip, bool playing);
    void sendNote(int channel, int note, int velocity);
    void logLimited(const std::string& detail, const std::string& key);
    boost::asio::io_context& io_;
    ShowService& show_;
    ControlExec& exec_;
    CommandSink& engine_;
    Log log_;
    Learned learning_;
    boost::asio::steady_timer learnTimer_;
    std::map<std::string, int> lastValue_;  // controller address -> last value (edge detection)
    LogLimiter limiter_;
    std::uint64_t received_ = 0, acted_ = 0, unmapped_ = 0, errors_ = 0, learned_ = 0;
};

}  // namespace cuebox::web
