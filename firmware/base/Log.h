// Line-oriented log to stderr (journald picks it up on the box). Control
// threads only: never call from the RT process callback.
#pragma once

#include <string_view>

namespace cuebox::log {

enum class Level { debug, info, warn, error };

void setLevel(Level l);
void write(Level l, std::string_view module, std::string_view msg);

inline void info(std::string_view m, std::string_view s) { write(Level::info, m, s); }
inline void warn(std::string_view m, std::string_view s) { write(Level::warn, m, s); }
inline void error(std::string_view m, std::string_view s) { write(Level::error, m, s); }
inline void debug(std::string_view m, std::string_view s) { write(Level::debug, m, s); }

}  // namespace cuebox::log
