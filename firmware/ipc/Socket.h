// UNIX stream socket helpers for the engine IPC. Plain blocking/polled file
// descriptors: the engine side runs them in its control thread's poll loop,
// the web side in its engine-link thread. Never used on the RT thread.
#pragma once

#include "base/Error.h"
#include "ipc/Frame.h"

#include <string>

namespace cuebox::ipc {

// Creates a listening socket at `path` (replacing a stale socket file).
Result<int> listenUnix(const std::string& path);
// Connects to the listening socket at `path`.
Result<int> connectUnix(const std::string& path);

// One framed connection. Owns the fd.
class Connection {
public:
    explicit Connection(int fd = -1) : fd_(fd) {}
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    Connection(Connection&& o) noexcept;
    Connection& operator=(Connection&& o) noexcept;

    int fd() const { return fd_; }
    bool open() const { return fd_ >= 0; }
    void close();

    // Writes a whole frame (blocking, bounded by a send timeout so a stuck
    // peer cannot stall the caller forever). Fails and closes on error.
    Status send(MsgType type, const boost::json::object& body);
    // Bytes written but not yet read by the peer (SIOCOUTQ).
    int queuedBytes() const;
    // Reads what is available (call when poll says readable) into the
    // reader. Fails on EOF or error.
    Status receive();
    // Next complete frame from what was received.
    Result<std::optional<Frame>> next() { return reader_.next(); }

private:
    int fd_ = -1;
    FrameReader reader_;
};

}  // namespace cuebox::ipc
