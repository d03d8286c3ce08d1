#include "sync/Ptp.h"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace cuebox::sync {

namespace {

// Wire layout (IEEE 1588-2008 13.3 header, 15.4 management message, 15.5
// management TLV). Every multi-octet field is big-endian.
constexpr std::size_t kHeader = 34;
constexpr std::size_t kMgmtBody = kHeader + 14;  // targetPortIdentity, hops, action, reserved
constexpr std::size_t kTlvData = kMgmtBody + 6;  // tlvType, lengthField, managementId
constexpr std::uint8_t kManagement = 0x0D;       // messageType
constexpr std::uint8_t kVersion = 2;
constexpr std::uint8_t kControlManagement = 0x04;  // controlField of management messages
constexpr std::uint8_t kActionGet = 0;
constexpr std::uint8_t kActionResponse = 2;
constexpr std::uint16_t kTlvManagement = 0x0001;
constexpr std::uint16_t kTlvManagementErrorStatus = 0x0002;

// Data field sizes of the answers we read (linuxptp's packed structs).
constexpr std::size_t kTimeStatusSize = 50;  // master_offset .. gmIdentity
constexpr std::size_t kPortDsSize = 26;
constexpr std::size_t kCurrentDsSize = 18;
constexpr std::size_t kParentDsSize = 32;

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
std::int64_t be64s(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
    return static_cast<std::int64_t>(v);  // two's complement on every target we build for
}
void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}

std::string portIdentityText(const std::uint8_t* p) {
    return ptpClockIdentityText(p) + "-" + std::to_string(be16(p + 8));
}

// The management TLV of a RESPONSE in our domain: where it starts and how
// long the message really is (messageLength, not the datagram size).
struct Answer {
    std::uint16_t tlvType = 0;
    std::uint16_t tlvLength = 0;
    const std::uint8_t* value = nullptr;  // after tlvType and lengthField
    std::uint16_t seq = 0;
};

bool parseResponse(const std::uint8_t* data, std::size_t n, std::uint8_t domain, Answer& a) {
    if (!data || n < kTlvData) return false;
    if ((data[0] & 0x0F) != kManagement || (data[1] & 0x0F) != kVersion) return false;
    const std::size_t length = be16(data + 2);
    if (length < kTlvData || length > n) return false;  // a truncated datagram
    if (data[4] != domain) return false;
    if ((data[46] & 0x0F) != kActionResponse) return false;
    a.tlvType = be16(data + kMgmtBody);
    a.tlvLength = be16(data + kMgmtBody + 2);
    if (kMgmtBody + 4 + std::size_t{a.tlvLength} > length) return false;
    a.value = data + kMgmtBody + 4;
    a.seq = be16(data + 30);
    return true;
}

std::int64_t nowMonotonicNs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

constexpr std::uint16_t kIds[4] = {kPtpTimeStatusNp, kPtpPortDataSet, kPtpCurrentDataSet, kPtpParentDataSet};

unsigned bitOf(std::uint16_t id) {
    for (unsigned i = 0; i < 4; ++i)
        if (kIds[i] == id) return 1u << i;
    return 0;
}

const char* errorName(std::uint16_t e) {
    switch (e) {
    case 0x0001: return "RESPONSE_TOO_BIG";
    case 0x0002: return "NO_SUCH_ID";
    case 0x0003: return "WRONG_LENGTH";
    case 0x0004: return "WRONG_VALUE";
    case 0x0005: return "NOT_SETABLE";
    case 0x0006: return "NOT_SUPPORTED";
    case 0xFFFE: return "GENERAL_ERROR";
    default: return "error";
    }
}

std::atomic<unsigned> clientCount{0};

}  // namespace

const char* ptpPortStateName(int state) {
    static constexpr const char* kNames[] = {"INITIALIZING", "FAULTY", "DISABLED",     "LISTENING", "PRE_MASTER",
                                             "MASTER",       "PASSIVE", "UNCALIBRATED", "SLAVE"};
    return state >= 1 && state <= 9 ? kNames[state - 1] : "UNKNOWN";
}

std::string ptpClockIdentityText(const std::uint8_t* id) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%02x%02x%02x.%02x%02x.%02x%02x%02x", id[0], id[1], id[2], id[3], id[4], id[5],
                  id[6], id[7]);
    return buf;
}

std::vector<std::uint8_t> ptpManagementGet(std::uint16_t tlvId, std::uint8_t domain, std::uint16_t sequenceId) {
    std::vector<std::uint8_t> m(kPtpGetSize, 0);
    m[0] = kManagement;  // transportSpecific 0: ptp4l's UDS port matches it
    m[1] = kVersion;
    put16(&m[2], static_cast<std::uint16_t>(kPtpGetSize));
    m[4] = domain;  // ptp4l ignores messages of other domains, management ones too
    // flagField, correctionField, sourcePortIdentity: zero. ptp4l answers to
    // the socket address, not to the identity.
    put16(&m[30], sequenceId);
    m[32] = kControlManagement;
    m[33] = 0x7F;  // logMessageInterval of management messages
    std::memset(&m[34], 0xFF, 10);  // targetPortIdentity: every clock, every port
    m[44] = 0;  // startingBoundaryHops
    m[45] = 0;  // boundaryHops: the local ptp4l only
    m[46] = kActionGet;
    put16(&m[48], kTlvManagement);
    put16(&m[50], 2);  // lengthField: the managementId, no data
    put16(&m[52], tlvId);
    return m;
}

std::uint16_t ptpApplyAnswer(const std::uint8_t* data, std::size_t n, std::uint8_t domain, PtpSnapshot& s,
                             std::uint16_t* seq) {
    Answer a;
    if (!parseResponse(data, n, domain, a)) return 0;
    if (a.tlvType != kTlvManagement || a.tlvLength < 2) return 0;
    const std::uint16_t id = be16(a.value);
    const std::uint8_t* d = a.value + 2;
    const std::size_t len = a.tlvLength - 2u;
    switch (id) {
    case kPtpTimeStatusNp:
        if (len < kTimeStatusSize) return 0;
        s.masterOffsetNs = static_cast<double>(be64s(d));
        s.ingressTimeNs = be64s(d + 8);
        s.gmPresent = be32(d + 38) != 0;
        break;
    case kPtpPortDataSet:
        if (len < kPortDsSize) return 0;
        s.portIdentity = portIdentityText(d);
        s.portState = d[10];
        s.portStateName = ptpPortStateName(s.portState);
        s.tracking = s.portState == 8 || s.portState == 9;  // UNCALIBRATED or SLAVE
        break;
    case kPtpCurrentDataSet:
        if (len < kCurrentDsSize) return 0;
        s.stepsRemoved = be16(d);
        // TimeInterval: ns scaled by 2^16, signed.
        s.offsetFromMasterNs = static_cast<double>(be64s(d + 2)) / 65536.0;
        s.meanPathDelayNs = static_cast<double>(be64s(d + 10)) / 65536.0;
        break;
    case kPtpParentDataSet:
        if (len < kParentDsSize) return 0;
        s.parentPort = portIdentityText(d);
        s.gmPriority1 = d[18];
        s.gmClockClass = d[19];
        s.gmClockAccuracy = d[20];
        s.gmPriority2 = d[23];
        s.grandmaster = ptpClockIdentityText(d + 24);
        break;
    default:
        return 0;
    }
    s.domain = data[4];
    if (seq) *seq = a.seq;
    return id;
}

std::uint16_t ptpAnswerError(const std::uint8_t* data, std::size_t n, std::uint8_t domain, std::uint16_t* id,
                             std::uint16_t* seq) {
    Answer a;
    if (!parseResponse(data, n, domain, a)) return 0;
    // managementErrorId, managementId, 4 reserved octets, displayData.
    if (a.tlvType != kTlvManagementErrorStatus || a.tlvLength < 8) return 0;
    if (id) *id = be16(a.value + 2);
    if (seq) *seq = a.seq;
    return be16(a.value);
}

PtpClient::PtpClient(std::string ptp4lSocket, int domain, std::string ownSocket)
    : serverPath_(std::move(ptp4lSocket)), domain_(domain), ownPath_(std::move(ownSocket)),
      autoPath_(ownPath_.empty()) {}

PtpClient::~PtpClient() { close(); }

Status PtpClient::fail(Errc c, const std::string& reason) {
    lastError_ = reason;
    return makeError(c, "ptp", reason);
}

Status PtpClient::open() {
    close();
    if (domain_ < 0 || domain_ > 255) return fail(Errc::bad_request, "domain " + std::to_string(domain_) + " not in 0..255");
    sockaddr_un sa{};
    if (serverPath_.empty() || serverPath_.size() >= sizeof sa.sun_path)
        return fail(Errc::bad_request, "ptp4l socket path '" + serverPath_ + "' is empty or too long");
    if (autoPath_) {
        // pid + a counter: several clients in one process, and a stale path
        // of a crashed process with the same pid can only be ours.
        const char* dir = ::access("/run", W_OK) == 0 ? "/run" : "/tmp";
        ownPath_ = std::string(dir) + "/cuebox-ptp." + std::to_string(::getpid()) + "." +
                   std::to_string(clientCount.fetch_add(1));
    }
    if (ownPath_.size() >= sizeof sa.sun_path)
        return fail(Errc::bad_request, "own socket path '" + ownPath_ + "' is too long");

    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return fail(Errc::io, std::string("socket: ") + std::strerror(errno));
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, ownPath_.c_str(), ownPath_.size() + 1);
    ::unlink(ownPath_.c_str());  // left by a crashed run; the path is ours
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        const int e = errno;
        ::close(fd_);
        fd_ = -1;
        return fail(Errc::io, "bind '" + ownPath_ + "': " + std::strerror(e));
    }
    bound_ = true;
    requested_ = false;
    got_ = 0;
    lastError_.clear();
    return Status::success();
}

void PtpClient::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (bound_) ::unlink(ownPath_.c_str());
    bound_ = false;
    requested_ = false;
}

Status PtpClient::request() {
    if (fd_ < 0) return fail(Errc::unavailable, "not open");
    ++seq_;
    requested_ = true;
    got_ = 0;
    work_ = PtpSnapshot{};
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, serverPath_.c_str(), serverPath_.size() + 1);
    for (std::uint16_t id : kIds) {
        const auto m = ptpManagementGet(id, static_cast<std::uint8_t>(domain_), seq_);
        ssize_t r;
        do r = ::sendto(fd_, m.data(), m.size(), 0, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            const int e = errno;
            if (e == ENOENT || e == ECONNREFUSED)
                return fail(Errc::unavailable, "ptp4l is not listening at '" + serverPath_ + "'");
            if (e == EAGAIN || e == EWOULDBLOCK)
                return fail(Errc::unavailable, "ptp4l's socket queue at '" + serverPath_ + "' is full");
            return fail(Errc::io, "send to '" + serverPath_ + "': " + std::strerror(e));
        }
    }
    return Status::success();
}

void PtpClient::receive() {
    if (fd_ < 0) return;
    std::uint8_t buf[1500];  // ptp4l's own message buffer is no bigger
    for (;;) {
        sockaddr_un from{};
        socklen_t fromLen = sizeof from;
        const ssize_t r = ::recvfrom(fd_, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromLen);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) lastError_ = std::string("receive: ") + std::strerror(errno);
            return;
        }
        // Only ptp4l's socket may answer (anyone may write to ours).
        const std::size_t pathLen = fromLen > offsetof(sockaddr_un, sun_path) ? fromLen - offsetof(sockaddr_un, sun_path) : 0;
        if (strnlen(from.sun_path, pathLen) != serverPath_.size() ||
            std::memcmp(from.sun_path, serverPath_.data(), serverPath_.size()) != 0)
            continue;
        if (!requested_) continue;
        const auto n = static_cast<std::size_t>(r);
        std::uint16_t seq = 0, errId = 0;
        if (const std::uint16_t err = ptpAnswerError(buf, n, static_cast<std::uint8_t>(domain_), &errId, &seq)) {
            if (seq == seq_) {
                char text[96];
                std::snprintf(text, sizeof text, "ptp4l answered 0x%04X with %s (0x%04X)", errId, errorName(err), err);
                lastError_ = text;
            }
            continue;
        }
        // Answers go into a copy first: an answer of an old sequence must
        // not touch the snapshot being assembled.
        PtpSnapshot next = work_;
        const std::uint16_t id = ptpApplyAnswer(buf, n, static_cast<std::uint8_t>(domain_), next, &seq);
        if (!id || seq != seq_) continue;
        const unsigned bit = bitOf(id);
        // A clock with several ports answers PORT_DATA_SET once per port:
        // a tracking port's answer is kept over the others.
        if (bit == 2 && (got_ & bit) && work_.tracking && !next.tracking) continue;
        work_ = std::move(next);
        got_ |= bit;
        if (got_ == kAll) {
            work_.complete = true;
            work_.answeredNs = nowMonotonicNs();
            snapshot_ = work_;
            requested_ = false;  // later duplicates of this sequence change nothing
        }
    }
}

}  // namespace cuebox::sync
