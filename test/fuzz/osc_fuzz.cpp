// libFuzzer target: any bytes as an OSC packet (liblo's decoder and the
// bundle walker), then every message through the cuebox address space.
#include "web/Osc.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto msgs = cuebox::web::parseOscPacket(std::span<const std::uint8_t>(data, size));
    if (!msgs) return 0;
    for (const auto& m : *msgs) {
        auto r = cuebox::web::parseOscCommand(m);
        // What parses must encode again and parse to the same address.
        const std::string again = cuebox::web::encodeOsc(m.address, m.args);
        auto back = cuebox::web::parseOscPacket(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(again.data()), again.size()));
        if (!back || back->size() != 1 || (*back)[0].address != m.address) __builtin_trap();
        (void)r;
    }
    return 0;
}
