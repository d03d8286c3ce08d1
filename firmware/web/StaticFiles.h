// Maps a request target to a file under the web UI folder. A target that is
// not absolute or that contains ".." (or a backslash or NUL) is refused.
#pragma once

#include "base/Error.h"

#include <string>
#include <string_view>

namespace cuebox::web {

Result<std::string> resolveStatic(const std::string& root, std::string_view target);
const char* mimeType(std::string_view path);

}  // namespace cuebox::web
