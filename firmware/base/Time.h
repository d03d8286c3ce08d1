// Wall-clock time stamps for records and the live state (control threads).
#pragma once

#include <cstdint>
#include <string>

namespace cuebox {

// ISO 8601 UTC: "2026-11-21T10:15:00Z", or with milliseconds
// "2026-11-21T10:15:00.123Z".
std::string isoNow(bool millis = false);

// CLOCK_MONOTONIC in ns: the same clock in both processes, so the engine's
// stamps and the web side's can be subtracted (emergency phase times).
std::int64_t monotonicNs();

}  // namespace cuebox
