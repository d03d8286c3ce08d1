// The event log as CSV, JSON or XML (GET /api/log and the scheduled
// auto-export). Control threads only.
#pragma once

#include "store/Store.h"

#include <string>
#include <vector>

namespace cuebox::web {

enum class LogFormat { csv, json, xml };
bool parseLogFormat(const std::string& s, LogFormat& f);
const char* contentType(LogFormat f);
const char* extension(LogFormat f);
// ISO 8601 UTC with milliseconds of a ns time stamp.
std::string isoFromNs(std::uint64_t ns);
std::string exportLog(const std::vector<store::LogEntry>& entries, LogFormat f);

}  // namespace cuebox::web
