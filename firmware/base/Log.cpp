#include "base/Log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace cuebox::log {
namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mutex;
const char* name(Level l) {
    switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    }
    return "?";
}
}  // namespace

void setLevel(Level l) { g_level = l; }

void write(Level l, std::string_view module, std::string_view msg) {
    if (l < g_level.load()) return;
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[32];
    std::strftime(ts, sizeof ts, "%H:%M:%S", &tm);
    std::lock_guard lock(g_mutex);
    std::fprintf(stderr, "%s.%03lld %-5s %.*s: %.*s\n", ts, static_cast<long long>(ms), name(l),
                 static_cast<int>(module.size()), module.data(), static_cast<int>(msg.size()), msg.data());
}

}  // namespace cuebox::log
