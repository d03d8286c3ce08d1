// At most one event-log entry per key (a source and a kind of trouble) every
// `every`, so a flood of bad packets or MIDI cannot flood the log; the entry
// after a quiet spell says how many were left out. io thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace cuebox::web {

class LogLimiter {
public:
    explicit LogLimiter(std::chrono::seconds every = std::chrono::seconds(10), std::size_t maxKeys = 1024)
        : every_(every), maxKeys_(maxKeys) {}

    // The text to log now (with the count left out since the last entry of
    // this key), or nothing.
    std::optional<std::string> admit(const std::string& key, const std::string& detail,
                                     std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
        if (seen_.size() >= maxKeys_ && !seen_.count(key)) seen_.clear();
        auto [it, fresh] = seen_.try_emplace(key);
        auto& [left, last] = it->second;  // left out since the last entry of this key
        if (!fresh && now - last < every_) {
            ++left;
            return std::nullopt;
        }
        std::string out = detail;
        if (left > 0) out += " (and " + std::to_string(left) + " more not logged)";
        left = 0;
        last = now;
        return out;
    }

private:
    std::chrono::seconds every_;
    std::size_t maxKeys_;
    std::map<std::string, std::pair<std::uint64_t, std::chrono::steady_clock::time_point>> seen_;
};

}  // namespace cuebox::web
