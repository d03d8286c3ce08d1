// SHA-256 of bytes and files (OpenSSL's libcrypto), as lower-case hex.
// Control threads only.
#pragma once

#include "base/Error.h"

#include <string>
#include <string_view>

namespace cuebox {

std::string sha256Hex(std::string_view bytes);

// Incremental SHA-256 for data that arrives in pieces.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::string_view bytes);
    std::string hex();  // finishes; call once

private:
    void* ctx_;
};
// Streams the file; also returns its size in `bytes` when given.
Result<std::string> sha256File(const std::string& path, std::uint64_t* bytes = nullptr);

}  // namespace cuebox
