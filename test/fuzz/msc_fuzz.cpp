// libFuzzer target: any bytes as MIDI input: a channel message and an MSC
// SysEx message.
#include "web/Midi.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> b(data, size);
    if (auto m = cuebox::web::parseMidiChannel(b); m) {
        if (m->channel < 1 || m->channel > 16 || m->number < 0 || m->number > 127 || m->value < 0 || m->value > 127) __builtin_trap();
    }
    if (auto m = cuebox::web::parseMsc(b); m) {
        if (m->cue.size() > 16 || m->list.size() > 16 || m->path.size() > 16 || m->macro > 127) __builtin_trap();
        (void)cuebox::web::mscForUs(*m, 1, 0x71, 0x10);
    }
    return 0;
}
