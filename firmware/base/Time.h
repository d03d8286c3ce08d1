// Wall-clock time stamps for records and the live state (control threads).
#pragma once

#include <string>

namespace cuebox {

// ISO 8601 UTC: "2026-11-21T10:15:00Z", or with milliseconds
// "2026-11-21T10:15:00.123Z".
std::string isoNow(bool millis = false);

}  // namespace cuebox
