#include "ipc/Socket.h"

#include <cerrno>
#include <cstring>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace cuebox::ipc {
namespace {

Error sysError(const std::string& what) { return makeError(Errc::io, "socket", what + ": " + std::strerror(errno)); }

Result<sockaddr_un> address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path))
        return makeError(Errc::bad_request, "socket", "socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

}  // namespace

Result<int> listenUnix(const std::string& path) {
    auto addr = address(path);
    if (!addr) return addr.error();
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return sysError("socket");
    ::unlink(path.c_str());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof(sockaddr_un)) < 0 || ::listen(fd, 8) < 0) {
        Error e = sysError("listen on " + path);
        ::close(fd);
        return e;
    }
    ::chmod(path.c_str(), 0660);
    return fd;
}

Result<int> connectUnix(const std::string& path) {
    auto addr = address(path);
    if (!addr) return addr.error();
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return sysError("socket");
    if (::connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof(sockaddr_un)) < 0) {
        Error e = sysError("connect to " + path);
        ::close(fd);
        return e;
    }
    return fd;
}

Connection::~Connection() { close(); }

Connection::Connection(Connection&& o) noexcept : fd_(o.fd_), reader_(std::move(o.reader_)) { o.fd_ = -1; }

Connection& Connection::operator=(Connection&& o) noexcept {
    if (this != &o) {
        close();
        fd_ = o.fd_;
        reader_ = std::move(o.reader_);
        o.fd_ = -1;
    }
    return *this;
}

void Connection::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    reader_ = FrameReader{};
}

Status Connection::send(MsgType type, const boost::json::object& body) {
    if (fd_ < 0) return makeError(Errc::unavailable, "socket", "not connected");
    auto bytes = encode(type, body);
    if (!bytes) return bytes.error();
    const std::string& s = *bytes;
    std::size_t off = 0;
    int waits = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && waits < 200) {
            // Peer is slow: wait up to ~1 s in total, then give up on it.
            ++waits;
            ::usleep(5000);
            continue;
        }
        Error e = n < 0 ? sysError("send") : makeError(Errc::io, "socket", "send: peer stalled");
        close();
        return e;
    }
    return {};
}

int Connection::queuedBytes() const {
    int n = 0;
    if (fd_ < 0 || ::ioctl(fd_, SIOCOUTQ, &n) != 0) return 0;
    return n;
}

Status Connection::receive() {
    if (fd_ < 0) return makeError(Errc::unavailable, "socket", "not connected");
    char buf[16384];
    for (;;) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
            if (static_cast<std::size_t>(n) < sizeof buf) return {};
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return {};
        Error e = n == 0 ? makeError(Errc::io, "socket", "peer closed the connection") : sysError("recv");
        return e;
    }
}

}  // namespace cuebox::ipc
