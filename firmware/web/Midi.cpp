#include "web/Midi.h"

namespace cuebox::web {

namespace {
Error bad(std::string field, std::string reason) { return makeError(Errc::bad_request, std::move(field), std::move(reason)); }

bool cueChar(std::uint8_t c) { return (c >= '0' && c <= '9') || c == '.'; }
}  // namespace

Result<MidiChannelMessage> parseMidiChannel(std::span<const std::uint8_t> b) {
    if (b.empty() || !(b[0] & 0x80)) return bad("midi", "a MIDI message starts with a status byte");
    MidiChannelMessage m;
    const std::uint8_t kind = b[0] & 0xF0;
    m.channel = (b[0] & 0x0F) + 1;
    const std::size_t want = kind == 0xC0 ? 2 : 3;
    if (kind != 0x80 && kind != 0x90 && kind != 0xB0 && kind != 0xC0)
        return bad("midi", "only note on/off, control change and program change are control messages");
    if (b.size() != want) return bad("midi", "a message of this kind is " + std::to_string(want) + " bytes");
    for (std::size_t i = 1; i < want; ++i)
        if (b[i] & 0x80) return bad("midi", "a data byte is 0-127");
    m.number = b[1];
    m.value = want == 3 ? b[2] : 0;
    switch (kind) {
    case 0x80: m.type = MidiChannelMessage::Type::noteOff; break;
    case 0x90: m.type = m.value == 0 ? MidiChannelMessage::Type::noteOff : MidiChannelMessage::Type::noteOn; break;
    case 0xB0: m.type = MidiChannelMessage::Type::controlChange; break;
    default: m.type = MidiChannelMessage::Type::programChange;
    }
    return m;
}

Result<MscMessage> parseMsc(std::span<const std::uint8_t> s) {
    // F0 7F dev 02 fmt cmd ... F7: at least 7 bytes.
    if (s.size() < 7 || s[0] != 0xF0 || s.back() != 0xF7) return bad("msc", "not a complete SysEx message (F0 ... F7)");
    if (s.size() > 128) return bad("msc", "an MSC message is at most 128 bytes");
    if (s[1] != 0x7F || s[3] != 0x02) return bad("msc", "not MIDI Show Control (F0 7F <device> 02 ...)");
    for (std::size_t i = 1; i + 1 < s.size(); ++i)
        if (s[i] & 0x80) return bad("msc", "a SysEx data byte is 0-127");
    MscMessage m;
    m.deviceId = s[2];
    m.commandFormat = s[4];
    const std::uint8_t cmd = s[5];
    if (cmd < 0x01 || cmd > 0x0B) return bad("msc", "command " + std::to_string(cmd) + " is not one cuebox answers (GO .. GO_OFF)");
    m.command = static_cast<MscCommand>(cmd);
    const auto data = s.subspan(6, s.size() - 7);
    if (m.command == MscCommand::fire) {
        if (data.size() != 1) return bad("msc", "FIRE carries one macro number");
        m.macro = data[0];
        return m;
    }
    if (m.command == MscCommand::allOff || m.command == MscCommand::restore || m.command == MscCommand::reset) {
        if (!data.empty()) return bad("msc", "this command carries no data");
        return m;
    }
    // TIMED_GO starts with 5 bytes of time (hr mn sc fr ff), then the cue.
    std::size_t at = 0;
    if (m.command == MscCommand::timedGo) {
        if (data.size() < 5) return bad("msc", "TIMED_GO starts with a 5-byte time");
        at = 5;
    }
    if (m.command == MscCommand::set) return m;  // SET carries a control number and value: not a cue
    // Q_number 00 Q_list 00 Q_path, each optional, each digits and '.'.
    std::string* field[3] = {&m.cue, &m.list, &m.path};
    int f = 0;
    for (; at < data.size(); ++at) {
        const std::uint8_t c = data[at];
        if (c == 0x00) {
            if (++f > 2) return bad("msc", "more than three cue fields (number, list, path)");
            continue;
        }
        if (!cueChar(c)) return bad("msc", "a cue field holds only digits and '.'");
        if (field[f]->size() >= 16) return bad("msc", "a cue field is at most 16 characters");
        *field[f] += static_cast<char>(c);
    }
    return m;
}

bool mscForUs(const MscMessage& m, int ourId, int ourGroup, int ourFormat) {
    const bool device = m.deviceId == 0x7F || m.deviceId == ourId || (ourGroup >= 0x70 && m.deviceId == ourGroup);
    const bool format = m.commandFormat == 0x7F || m.commandFormat == ourFormat ||
                        (m.commandFormat == 0x10 && ourFormat >= 0x10 && ourFormat <= 0x1F);
    return device && format;
}

}  // namespace cuebox::web
