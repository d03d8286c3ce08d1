// The linuxptp management client (sync/Ptp.h): the GET bytes ptp4l expects,
// answers built by hand the way ptp4l 3.1.1 lays them out (every field
// big-endian, TimeInterval = ns * 2^16), what is not an answer, and the
// client against a fake ptp4l socket. The real ptp4l is in
// test/integration/test_ptp_client.py.
#include "sync/Ptp.h"

#include <CppUTest/TestHarness.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace cuebox::sync;

namespace {
using Bytes = std::vector<std::uint8_t>;

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
void put16(Bytes& b, std::size_t at, std::uint16_t v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v);
}
void put32(Bytes& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
void put64(Bytes& b, std::size_t at, std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) b[at + i] = static_cast<std::uint8_t>(u >> (56 - 8 * i));
}
const std::uint8_t kGm[8] = {0x00, 0x1b, 0x21, 0xff, 0xfe, 0x0a, 0x0b, 0x0c};
const std::uint8_t kBox[8] = {0xde, 0xad, 0xbe, 0xff, 0xfe, 0xef, 0x00, 0x01};
void putId(Bytes& b, std::size_t at, const std::uint8_t* id, std::uint16_t port) {
    std::memcpy(&b[at], id, 8);
    put16(b, at + 8, port);
}

// A MANAGEMENT RESPONSE as ptp4l sends it: header, management body, one TLV
// of `tlvType` carrying `id` and `data`.
Bytes answer(std::uint16_t id, const Bytes& data, std::uint8_t domain = 0, std::uint16_t seq = 1,
             std::uint16_t tlvType = 0x0001, std::uint8_t action = 2) {
    Bytes m(54 + data.size(), 0);
    m[0] = 0x0D;
    m[1] = 0x02;
    put16(m, 2, static_cast<std::uint16_t>(m.size()));
    m[4] = domain;
    putId(m, 20, kBox, 1);  // the answering port
    put16(m, 30, seq);
    m[32] = 0x04;
    m[33] = 0x7F;
    putId(m, 34, kGm, 0);  // target: the requester (anything)
    m[46] = action;
    put16(m, 48, tlvType);
    put16(m, 50, static_cast<std::uint16_t>(2 + data.size()));
    put16(m, 52, id);
    std::memcpy(m.data() + 54, data.data(), data.size());
    return m;
}

Bytes timeStatus(std::int64_t offset, std::int64_t ingress, bool gmPresent) {
    Bytes d(50, 0);
    put64(d, 0, offset);
    put64(d, 8, ingress);
    put32(d, 38, gmPresent ? 1 : 0);
    std::memcpy(&d[42], kGm, 8);
    return d;
}
Bytes portDs(std::uint8_t state) {
    Bytes d(26, 0);
    putId(d, 0, kBox, 1);
    d[10] = state;
    d[21] = 3;  // announceReceiptTimeout
    d[25] = 2;  // versionNumber
    return d;
}
Bytes currentDs(std::uint16_t steps, std::int64_t offsetScaled, std::int64_t delayScaled) {
    Bytes d(18, 0);
    put16(d, 0, steps);
    put64(d, 2, offsetScaled);
    put64(d, 10, delayScaled);
    return d;
}
Bytes parentDs() {
    Bytes d(32, 0);
    putId(d, 0, kGm, 1);
    put16(d, 12, 0xffff);
    put32(d, 14, 0x7fffffff);
    d[18] = 100;   // grandmasterPriority1
    d[19] = 248;   // clockClass
    d[20] = 0xFE;  // clockAccuracy
    put16(d, 21, 0xffff);
    d[23] = 127;   // grandmasterPriority2
    std::memcpy(&d[24], kGm, 8);
    return d;
}

std::uint16_t apply(const Bytes& m, std::uint8_t domain, PtpSnapshot& s, std::uint16_t* seq = nullptr) {
    return ptpApplyAnswer(m.data(), m.size(), domain, s, seq);
}
}  // namespace

TEST_GROUP(PtpWire){};

TEST(PtpWire, getRequestIsTheManagementGetPtp4lExpects) {
    const Bytes m = ptpManagementGet(0x2004, 7, 0xBEEF);
    LONGS_EQUAL(54, m.size());
    LONGS_EQUAL(0x0D, m[0]);  // transportSpecific 0, messageType MANAGEMENT
    LONGS_EQUAL(0x02, m[1]);  // versionPTP 2
    LONGS_EQUAL(54, be16(&m[2]));
    LONGS_EQUAL(7, m[4]);
    LONGS_EQUAL(0xBEEF, be16(&m[30]));
    LONGS_EQUAL(0x04, m[32]);
    for (int i = 34; i < 44; ++i) LONGS_EQUAL(0xFF, m[i]);
    LONGS_EQUAL(0, m[44]);  // boundary hops: not forwarded past the local ptp4l
    LONGS_EQUAL(0, m[45]);
    LONGS_EQUAL(0, m[46] & 0x0F);  // GET
    LONGS_EQUAL(0x0001, be16(&m[48]));
    LONGS_EQUAL(2, be16(&m[50]));
    LONGS_EQUAL(0x2004, be16(&m[52]));
    LONGS_EQUAL(0xC000, be16(&ptpManagementGet(0xC000, 0, 1)[52]));
}

TEST(PtpWire, ourOwnGetIsNotAnAnswer) {
    PtpSnapshot s;
    const Bytes m = ptpManagementGet(0x2004, 0, 1);
    LONGS_EQUAL(0, ptpApplyAnswer(m.data(), m.size(), 0, s, nullptr));
}

TEST(PtpWire, timeStatusNp) {
    PtpSnapshot s;
    std::uint16_t seq = 0;
    LONGS_EQUAL(0xC000, apply(answer(0xC000, timeStatus(-1234, 1700000000123456789LL, true), 24, 77), 24, s, &seq));
    LONGS_EQUAL(77, seq);
    DOUBLES_EQUAL(-1234, s.masterOffsetNs, 0);
    CHECK(s.ingressTimeNs == 1700000000123456789LL);
    CHECK(s.gmPresent);
    LONGS_EQUAL(24, s.domain);
    LONGS_EQUAL(0xC000, apply(answer(0xC000, timeStatus(0, 0, false), 24), 24, s));
    CHECK(!s.gmPresent);
}

TEST(PtpWire, portDataSetStates) {
    PtpSnapshot s;
    LONGS_EQUAL(0x2004, apply(answer(0x2004, portDs(9)), 0, s));
    LONGS_EQUAL(9, s.portState);
    STRCMP_EQUAL("SLAVE", s.portStateName.c_str());
    CHECK(s.tracking);
    STRCMP_EQUAL("deadbe.fffe.ef0001-1", s.portIdentity.c_str());
    apply(answer(0x2004, portDs(8)), 0, s);
    STRCMP_EQUAL("UNCALIBRATED", s.portStateName.c_str());
    CHECK(s.tracking);
    apply(answer(0x2004, portDs(4)), 0, s);
    STRCMP_EQUAL("LISTENING", s.portStateName.c_str());
    CHECK(!s.tracking);
    apply(answer(0x2004, portDs(6)), 0, s);
    STRCMP_EQUAL("MASTER", s.portStateName.c_str());
    CHECK(!s.tracking);
    STRCMP_EQUAL("UNKNOWN", ptpPortStateName(0));
    STRCMP_EQUAL("INITIALIZING", ptpPortStateName(1));
    STRCMP_EQUAL("PRE_MASTER", ptpPortStateName(5));
    STRCMP_EQUAL("UNKNOWN", ptpPortStateName(10));
}

TEST(PtpWire, currentDataSetIsScaledBy2To16IncludingNegatives) {
    PtpSnapshot s;
    // -1.5 ns and 12345.25 ns, as TimeInterval.
    LONGS_EQUAL(0x2001, apply(answer(0x2001, currentDs(1, -98304, 12345 * 65536LL + 16384)), 0, s));
    LONGS_EQUAL(1, s.stepsRemoved);
    DOUBLES_EQUAL(-1.5, s.offsetFromMasterNs, 1e-9);
    DOUBLES_EQUAL(12345.25, s.meanPathDelayNs, 1e-9);
    // Big values keep their sign: -2 s.
    apply(answer(0x2001, currentDs(2, -2'000'000'000LL * 65536, 0)), 0, s);
    DOUBLES_EQUAL(-2e9, s.offsetFromMasterNs, 1e-3);
    LONGS_EQUAL(2, s.stepsRemoved);
}

TEST(PtpWire, parentDataSet) {
    PtpSnapshot s;
    LONGS_EQUAL(0x2002, apply(answer(0x2002, parentDs()), 0, s));
    STRCMP_EQUAL("001b21.fffe.0a0b0c", s.grandmaster.c_str());
    STRCMP_EQUAL("001b21.fffe.0a0b0c-1", s.parentPort.c_str());
    LONGS_EQUAL(100, s.gmPriority1);
    LONGS_EQUAL(248, s.gmClockClass);
    LONGS_EQUAL(0xFE, s.gmClockAccuracy);
    LONGS_EQUAL(127, s.gmPriority2);
}

TEST(PtpWire, wrongDomainIsIgnored) {
    PtpSnapshot s;
    std::uint16_t seq = 5;
    LONGS_EQUAL(0, apply(answer(0x2004, portDs(9), 1, 9), 0, s, &seq));
    LONGS_EQUAL(0, s.portState);
    LONGS_EQUAL(5, seq);
    LONGS_EQUAL(0, apply(answer(0x2002, parentDs(), 0), 3, s));
    CHECK(s.grandmaster.empty());
}

TEST(PtpWire, truncatedMessagesAreIgnored) {
    PtpSnapshot s;
    Bytes m = answer(0x2004, portDs(9));
    // The datagram is shorter than messageLength says.
    LONGS_EQUAL(0, ptpApplyAnswer(m.data(), m.size() - 1, 0, s, nullptr));
    // Only the header.
    LONGS_EQUAL(0, ptpApplyAnswer(m.data(), 34, 0, s, nullptr));
    LONGS_EQUAL(0, ptpApplyAnswer(nullptr, 0, 0, s, nullptr));
    // A well-formed message whose data set is one octet short.
    Bytes shortDs = portDs(9);
    shortDs.resize(25);
    LONGS_EQUAL(0, apply(answer(0x2004, shortDs), 0, s));
    // The TLV claims more than the message holds.
    put16(m, 50, 2 + 26 + 2);
    LONGS_EQUAL(0, apply(m, 0, s));
    LONGS_EQUAL(0, s.portState);
    CHECK(s.portIdentity.empty());
    // messageLength is what counts: trailing octets (padding) are fine.
    Bytes padded = answer(0x2004, portDs(9));
    padded.resize(padded.size() + 4, 0xAA);
    LONGS_EQUAL(0x2004, apply(padded, 0, s));
}

TEST(PtpWire, errorStatusTlvIsNotAnAnswer) {
    PtpSnapshot s;
    // MANAGEMENT_ERROR_STATUS: managementErrorId NO_SUCH_ID, managementId
    // PORT_DATA_SET, 4 reserved octets, an empty displayData.
    Bytes body = answer(0x0002, Bytes{0x20, 0x04, 0, 0, 0, 0, 0, 0}, 0, 42, 0x0002);
    LONGS_EQUAL(0, apply(body, 0, s));
    LONGS_EQUAL(0, s.portState);
    std::uint16_t id = 0, seq = 0;
    LONGS_EQUAL(0x0002, ptpAnswerError(body.data(), body.size(), 0, &id, &seq));
    LONGS_EQUAL(0x2004, id);
    LONGS_EQUAL(42, seq);
    // A real answer is not an error.
    const Bytes ok = answer(0x2004, portDs(9));
    LONGS_EQUAL(0, ptpAnswerError(ok.data(), ok.size(), 0, &id, &seq));
}

TEST(PtpWire, otherMessagesAndIdsAreIgnored) {
    PtpSnapshot s;
    Bytes announce = answer(0x2004, portDs(9));
    announce[0] = 0x0B;
    LONGS_EQUAL(0, apply(announce, 0, s));
    Bytes v1 = answer(0x2004, portDs(9));
    v1[1] = 0x01;
    LONGS_EQUAL(0, apply(v1, 0, s));
    // A GET or an ACKNOWLEDGE is not a response.
    LONGS_EQUAL(0, apply(answer(0x2004, portDs(9), 0, 1, 0x0001, 0), 0, s));
    LONGS_EQUAL(0, apply(answer(0x2004, portDs(9), 0, 1, 0x0001, 4), 0, s));
    // DEFAULT_DATA_SET is not one we read.
    LONGS_EQUAL(0, apply(answer(0x2000, Bytes(20, 0)), 0, s));
    LONGS_EQUAL(0, s.portState);
}

// The client against a fake ptp4l: a bound datagram socket that reads the
// four GETs and answers them.
namespace {
struct FakePtp4l {
    std::string path;
    int fd = -1;
    explicit FakePtp4l(const std::string& p) : path(p) {
        ::unlink(path.c_str());
        fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
        CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    }
    ~FakePtp4l() {
        ::close(fd);
        ::unlink(path.c_str());
    }
    // The next request: its bytes and who sent it.
    Bytes read(sockaddr_un& from) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 1000) != 1) return {};
        Bytes b(1500);
        socklen_t len = sizeof from;
        const ssize_t r = ::recvfrom(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        b.resize(r > 0 ? static_cast<std::size_t>(r) : 0);
        return b;
    }
    void send(const sockaddr_un& to, const Bytes& m) {
        CHECK(::sendto(fd, m.data(), m.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
              static_cast<ssize_t>(m.size()));
    }
};

void waitReadable(int fd) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 1000);
}
}  // namespace

TEST_GROUP(PtpClient){};

TEST(PtpClient, noPtp4lIsAnErrorNotAHang) {
    const std::string server = "/tmp/cuebox-ptptest-none." + std::to_string(::getpid());
    PtpClient c(server, 0);
    CHECK(c.open().ok());
    CHECK(c.fd() >= 0);
    const std::string own = c.ownSocket();
    CHECK(::access(own.c_str(), F_OK) == 0);
    const auto st = c.request();
    CHECK(!st.ok());
    CHECK(st.error().code == cuebox::Errc::unavailable);
    CHECK(c.lastError().find(server) != std::string::npos);
    c.receive();  // nothing pending: returns at once
    CHECK(!c.snapshot().complete);
    c.close();
    LONGS_EQUAL(-1, c.fd());
    CHECK(::access(own.c_str(), F_OK) != 0);  // its socket file is gone
    PtpClient bad(server, 256);
    CHECK(!bad.open().ok());
}

TEST(PtpClient, fourAnswersOfTheCurrentSequenceMakeASnapshot) {
    FakePtp4l fake("/tmp/cuebox-ptptest-fake." + std::to_string(::getpid()));
    PtpClient c(fake.path, 24, "/tmp/cuebox-ptptest-own." + std::to_string(::getpid()));
    CHECK(c.open().ok());
    CHECK(!c.pending());

    // A first request that is only partly answered.
    CHECK(c.request().ok());
    CHECK(c.pending());
    sockaddr_un from{};
    std::uint16_t ids[4] = {}, seqs[4] = {};
    for (int i = 0; i < 4; ++i) {
        const Bytes q = fake.read(from);
        LONGS_EQUAL(54, q.size());
        LONGS_EQUAL(24, q[4]);
        ids[i] = be16(&q[52]);
        seqs[i] = be16(&q[30]);
    }
    STRCMP_EQUAL(c.ownSocket().c_str(), from.sun_path);
    LONGS_EQUAL(0xC000, ids[0]);
    LONGS_EQUAL(0x2004, ids[1]);
    LONGS_EQUAL(0x2001, ids[2]);
    LONGS_EQUAL(0x2002, ids[3]);
    for (int i = 1; i < 4; ++i) LONGS_EQUAL(seqs[0], seqs[i]);
    const std::uint16_t first = seqs[0];
    fake.send(from, answer(0x2004, portDs(8), 24, first));
    waitReadable(c.fd());
    c.receive();
    CHECK(!c.snapshot().complete);

    // The second request: answers of the first one no longer count.
    CHECK(c.request().ok());
    for (int i = 0; i < 4; ++i) seqs[i] = be16(&fake.read(from)[30]);
    const std::uint16_t second = seqs[0];
    CHECK(second != first);
    fake.send(from, answer(0xC000, timeStatus(-321, 5, true), 24, first));
    fake.send(from, answer(0x2001, currentDs(1, -98304, 65536 * 7), 24, first));
    fake.send(from, answer(0x2002, parentDs(), 24, first));
    fake.send(from, answer(0x2004, portDs(9), 25, second));  // wrong domain
    waitReadable(c.fd());
    c.receive();
    CHECK(!c.snapshot().complete);
    CHECK(c.pending());

    fake.send(from, answer(0xC000, timeStatus(-321, 5, true), 24, second));
    fake.send(from, answer(0x2004, portDs(9), 24, second));
    fake.send(from, answer(0x2001, currentDs(1, -98304, 65536 * 7), 24, second));
    waitReadable(c.fd());
    c.receive();
    CHECK(!c.snapshot().complete);
    fake.send(from, answer(0x2002, parentDs(), 24, second));
    waitReadable(c.fd());
    c.receive();
    const PtpSnapshot& s = c.snapshot();
    CHECK(s.complete);
    CHECK(!c.pending());
    CHECK(s.answeredNs > 0);
    STRCMP_EQUAL("SLAVE", s.portStateName.c_str());
    CHECK(s.tracking && s.gmPresent);
    STRCMP_EQUAL("001b21.fffe.0a0b0c", s.grandmaster.c_str());
    DOUBLES_EQUAL(-321, s.masterOffsetNs, 0);
    DOUBLES_EQUAL(-1.5, s.offsetFromMasterNs, 1e-9);
    DOUBLES_EQUAL(7, s.meanPathDelayNs, 1e-9);
    LONGS_EQUAL(24, s.domain);

    // An error status of the current sequence is reported, the snapshot kept.
    CHECK(c.request().ok());
    for (int i = 0; i < 4; ++i) seqs[i] = be16(&fake.read(from)[30]);
    fake.send(from, answer(0x0002, Bytes{0x20, 0x04, 0, 0, 0, 0, 0, 0}, 24, seqs[0], 0x0002));
    waitReadable(c.fd());
    c.receive();
    CHECK(c.lastError().find("NO_SUCH_ID") != std::string::npos);
    CHECK(c.snapshot().complete);
    STRCMP_EQUAL("SLAVE", c.snapshot().portStateName.c_str());
}

TEST(PtpClient, answersFromAnotherSocketAreIgnored) {
    FakePtp4l fake("/tmp/cuebox-ptptest-fake2." + std::to_string(::getpid()));
    FakePtp4l other("/tmp/cuebox-ptptest-other." + std::to_string(::getpid()));
    PtpClient c(fake.path, 0);
    CHECK(c.open().ok());
    CHECK(c.request().ok());
    sockaddr_un from{};
    std::uint16_t seq = 0;
    for (int i = 0; i < 4; ++i) seq = be16(&fake.read(from)[30]);
    other.send(from, answer(0xC000, timeStatus(1, 2, true), 0, seq));
    other.send(from, answer(0x2004, portDs(9), 0, seq));
    other.send(from, answer(0x2001, currentDs(1, 0, 0), 0, seq));
    other.send(from, answer(0x2002, parentDs(), 0, seq));
    waitReadable(c.fd());
    c.receive();
    CHECK(!c.snapshot().complete);
    CHECK(c.pending());
}
