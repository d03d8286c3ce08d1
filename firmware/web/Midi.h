// MIDI as control input (JACK MIDI bytes forwarded by the engine): channel
// messages (note on/off, control change, program change) and MIDI Show
// Control (MSC, a universal real-time SysEx: F0 7F <device> 02 <format>
// <command> <data> F7) as plain parsers, so they are unit-tested and fuzzed
// (test/fuzz) on their own.
#pragma once

#include "base/Error.h"

#include <cstdint>
#include <span>
#include <string>

namespace cuebox::web {

struct MidiChannelMessage {
    enum class Type { noteOn, noteOff, controlChange, programChange };
    Type type = Type::noteOn;
    int channel = 1;  // 1-16
    int number = 0;   // note, controller or program, 0-127
    int value = 0;    // velocity or controller value, 0-127 (0 for program change)
};

// One complete channel voice message (2 or 3 bytes). A note on with
// velocity 0 is a note off, as the MIDI specification says.
Result<MidiChannelMessage> parseMidiChannel(std::span<const std::uint8_t> bytes);

// MSC command numbers (MIDI Show Control 1.0).
enum class MscCommand : std::uint8_t {
    go = 0x01,
    stop = 0x02,
    resume = 0x03,
    timedGo = 0x04,
    load = 0x05,
    set = 0x06,
    fire = 0x07,
    allOff = 0x08,
    restore = 0x09,
    reset = 0x0A,
    goOff = 0x0B,
};

struct MscMessage {
    int deviceId = 0;       // 0x00-0x6F one device, 0x70-0x7E a group, 0x7F all-call
    int commandFormat = 0;  // 0x10 sound (general), 0x7F all types...
    MscCommand command = MscCommand::go;
    std::string cue, list, path;  // GO, STOP, RESUME...: ASCII digits and '.', each may be empty
    int macro = -1;               // FIRE: the macro number 0-127
};

// A whole MSC SysEx message, F0 to F7. Errors name what is wrong ("msc").
Result<MscMessage> parseMsc(std::span<const std::uint8_t> sysex);

// Whether a box with MSC device id `ourId` (0-111) in `ourGroup` (0x70-0x7E,
// or -1 for none) and listening to `ourFormat` acts on `m`: the device id
// must be ours, our group's or all-call (0x7F); the command format ours,
// sound general (0x10) when we are a sound device (0x10-0x1F), or all types
// (0x7F).
bool mscForUs(const MscMessage& m, int ourId, int ourGroup, int ourFormat);

}  // namespace cuebox::web
