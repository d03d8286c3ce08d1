#include "store/Keys.h"

namespace cuebox::store {

Key& Key::u64(std::uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) b_.push_back(static_cast<char>((v >> s) & 0xff));
    return *this;
}

Key& Key::u16(std::uint16_t v) {
    b_.push_back(static_cast<char>(v >> 8));
    b_.push_back(static_cast<char>(v & 0xff));
    return *this;
}

std::uint64_t Key::readU64(std::string_view s, std::size_t at) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
    return v;
}

std::uint16_t Key::readU16(std::string_view s, std::size_t at) {
    return static_cast<std::uint16_t>((static_cast<unsigned char>(s[at]) << 8) | static_cast<unsigned char>(s[at + 1]));
}

}  // namespace cuebox::store
