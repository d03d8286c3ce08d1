// Engine IPC framing (docs/PROTOCOL.md, "Engine IPC"). A frame is a 12-byte
// header (magic "CBOX", version, type, length; big-endian) and one JSON object.
// Control threads only.
#pragma once

#include "base/Error.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cuebox::ipc {

inline constexpr std::uint16_t kProtocolVersion = 1;
inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::uint32_t kMaxPayload = 1u << 20;  // 1 MiB

enum class MsgType : std::uint16_t {
    hello = 1,
    command = 2,
    reply = 3,
    event = 4,
    state = 5,
    reload = 6,
};

const char* msgTypeName(MsgType t);

struct Frame {
    MsgType type{};
    boost::json::object body;
};

// Serialises a frame. Fails only if the payload exceeds kMaxPayload.
Result<std::string> encode(MsgType type, const boost::json::object& body);

// Incremental decoder for a byte stream. Feed whatever arrived; call next()
// until it returns no frame. After an error the stream is unusable: the
// caller closes the connection (a malformed peer is never guessed at).
class FrameReader {
public:
    void feed(std::string_view bytes);
    // A frame, nothing yet (std::nullopt inside an ok result), or an error.
    Result<std::optional<Frame>> next();
    std::size_t buffered() const { return buf_.size() - pos_; }

private:
    std::string buf_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

}  // namespace cuebox::ipc
