// SHA-256 of bytes and files (OpenSSL's libcrypto), as lower-case hex.
// Control threads only.
#pragma once

#include "base/Error.h"

#include <string>
#include <string_view>

namespace cuebox {

std::string sha256Hex(std::string_view bytes);
// Streams the file; also returns its size in `bytes` when given.
Result<std::string> sha256File(const std::string& path, std::uint64_t* bytes = nullptr);

}  // namespace cuebox
