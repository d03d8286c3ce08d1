// Big-endian composite binary keys: byte order equals numeric order, so a
// cursor walks a show's pages, tabs, cells and clips in order with one prefix
// scan.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace cuebox::store {

class Key {
public:
    Key& u64(std::uint64_t v);
    Key& u16(std::uint16_t v);
    const std::string& bytes() const { return b_; }

    static std::uint64_t readU64(std::string_view s, std::size_t at);
    static std::uint16_t readU16(std::string_view s, std::size_t at);

private:
    std::string b_;
};

}  // namespace cuebox::store
