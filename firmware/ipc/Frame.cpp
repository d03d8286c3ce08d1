#include "ipc/Frame.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace cuebox::ipc {
namespace {

void putU16(std::string& s, std::uint16_t v) {
    s.push_back(static_cast<char>(v >> 8));
    s.push_back(static_cast<char>(v & 0xff));
}
void putU32(std::string& s, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}
std::uint32_t getBE(const char* p, int n) {
    std::uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}
bool knownType(std::uint16_t t) { return t >= 1 && t <= 6; }

}  // namespace

const char* msgTypeName(MsgType t) {
    switch (t) {
    case MsgType::hello: return "hello";
    case MsgType::command: return "command";
    case MsgType::reply: return "reply";
    case MsgType::event: return "event";
    case MsgType::state: return "state";
    case MsgType::reload: return "reload";
    }
    return "unknown";
}

Result<std::string> encode(MsgType type, const boost::json::object& body) {
    std::string payload = boost::json::serialize(body);
    if (payload.size() > kMaxPayload)
        return makeError(Errc::payload_too_large, "payload",
                         "ipc frame payload of " + std::to_string(payload.size()) + " bytes exceeds 1 MiB");
    std::string out;
    out.reserve(kHeaderSize + payload.size());
    out.append("CBOX");
    putU16(out, kProtocolVersion);
    putU16(out, static_cast<std::uint16_t>(type));
    putU32(out, static_cast<std::uint32_t>(payload.size()));
    out.append(payload);
    return out;
}

void FrameReader::feed(std::string_view bytes) {
    if (pos_ > 0 && pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    }
    buf_.append(bytes);
}

Result<std::optional<Frame>> FrameReader::next() {
    auto fail = [this](std::string field, std::string reason) -> Result<std::optional<Frame>> {
        failed_ = true;
        return makeError(Errc::corrupt, std::move(field), "malformed ipc frame: " + std::move(reason));
    };
    if (failed_) return makeError(Errc::corrupt, "stream", "ipc stream already failed");
    const std::size_t avail = buf_.size() - pos_;
    const char* p = buf_.data() + pos_;
    // Validate what we can as soon as the bytes are there, so garbage is
    // refused without waiting for a length's worth of it.
    if (avail >= 4 && std::string_view(p, 4) != "CBOX") return fail("magic", "bad magic");
    if (avail < kHeaderSize) return std::optional<Frame>{};
    const auto version = static_cast<std::uint16_t>(getBE(p + 4, 2));
    const auto type = static_cast<std::uint16_t>(getBE(p + 6, 2));
    const std::uint32_t len = getBE(p + 8, 4);
    if (version != kProtocolVersion)
        return fail("version", "protocol version " + std::to_string(version) + " is not supported (expected " +
                                   std::to_string(kProtocolVersion) + ")");
    if (!knownType(type)) return fail("type", "unknown message type " + std::to_string(type));
    if (len > kMaxPayload) return fail("length", "payload length " + std::to_string(len) + " exceeds 1 MiB");
    if (avail < kHeaderSize + len) return std::optional<Frame>{};

    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(std::string_view(p + kHeaderSize, len), ec);
    if (ec) return fail("payload", "payload is not valid JSON: " + ec.message());
    if (!v.is_object()) return fail("payload", "payload is not a JSON object");
    pos_ += kHeaderSize + len;
    if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    } else if (pos_ > 64 * 1024) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    return std::optional<Frame>{Frame{static_cast<MsgType>(type), std::move(v.as_object())}};
}

}  // namespace cuebox::ipc
