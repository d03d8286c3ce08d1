#include "base/SdNotify.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace cuebox::sd {

bool notify(std::string_view state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::size_t len = std::strlen(path);
    if (len >= sizeof(addr.sun_path)) return false;
    std::memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // an abstract socket
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    const bool ok = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), size) ==
                    static_cast<ssize_t>(state.size());
    ::close(fd);
    return ok;
}

std::chrono::microseconds watchdogInterval() {
    const char* usec = std::getenv("WATCHDOG_USEC");
    if (!usec) return std::chrono::microseconds{0};
    if (const char* pid = std::getenv("WATCHDOG_PID"); pid && std::atol(pid) != ::getpid())
        return std::chrono::microseconds{0};
    return std::chrono::microseconds{std::strtoll(usec, nullptr, 10)};
}

}  // namespace cuebox::sd
