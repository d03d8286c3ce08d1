// Watching ptp4l (linuxptp 3.1.1) through its management protocol on its
// UNIX socket (`uds_address`), the way pmc does, instead of parsing pmc's
// text. Four GETs make one snapshot: TIME_STATUS_NP (offset, ingress time,
// is a grandmaster present), PORT_DATA_SET (port state), CURRENT_DATA_SET
// (offset and path delay as the 1588 data set keeps them) and
// PARENT_DATA_SET (who the grandmaster is). A snapshot counts only when all
// four answers of one request arrived, so values of different moments are
// never mixed.
//
// The requests go to the local ptp4l only (boundaryHops 0): with pmc's
// default of 1, ptp4l would also forward them onto the network and other
// clocks' answers would come back through the same socket.
//
// Judge the grandmaster by `tracking` (the port state), not by gmPresent or
// grandmaster: when its grandmaster goes away, a slaveOnly ptp4l 3.1.1
// goes LISTENING but keeps the old PARENT_DATA_SET, so gmPresent stays
// true and grandmaster names the lost clock; only ingress_time drops to 0.
// Before it has ever had one, grandmaster is its own identity and
// gmPresent false. Requests in another domain get no answer at all.
//
// Not thread-safe: one control thread owns a PtpClient and polls its fd.
#pragma once

#include "base/Error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cuebox::sync {

// Management ids (IEEE 1588 table 40; 0xC000 is linuxptp's own).
inline constexpr std::uint16_t kPtpCurrentDataSet = 0x2001;
inline constexpr std::uint16_t kPtpParentDataSet = 0x2002;
inline constexpr std::uint16_t kPtpPortDataSet = 0x2004;
inline constexpr std::uint16_t kPtpTimeStatusNp = 0xC000;

inline constexpr std::size_t kPtpGetSize = 54;  // header 34 + management 14 + TLV head 6

struct PtpSnapshot {
    bool complete = false;          // all four answers of the last request() arrived
    std::int64_t answeredNs = 0;    // CLOCK_MONOTONIC when the last of them arrived
    int portState = 0;              // IEEE 1588 portState (PORT_DATA_SET): 1 INITIALIZING .. 9 SLAVE
    std::string portStateName;      // "INITIALIZING","FAULTY","DISABLED","LISTENING","PRE_MASTER","MASTER","PASSIVE","UNCALIBRATED","SLAVE"
    bool tracking = false;          // SLAVE or UNCALIBRATED (with free_running the port stays UNCALIBRATED)
    std::string portIdentity;       // this port (PORT_DATA_SET), "xxxxxx.xxxx.xxxxxx-N"
    std::string grandmaster;        // grandmaster clockIdentity as pmc prints it: "xxxxxx.xxxx.xxxxxx" (hex, lower case)
    std::string parentPort;         // parentPortIdentity, "xxxxxx.xxxx.xxxxxx-N"
    bool gmPresent = false;         // TIME_STATUS_NP gmPresent
    int domain = 0;                 // the domain of the answers
    double masterOffsetNs = 0;      // TIME_STATUS_NP master_offset
    std::int64_t ingressTimeNs = 0; // TIME_STATUS_NP ingress_time
    double offsetFromMasterNs = 0;  // CURRENT_DATA_SET offsetFromMaster (TimeInterval ns * 2^16 on the wire)
    double meanPathDelayNs = 0;     // CURRENT_DATA_SET meanPathDelay
    int stepsRemoved = 0;
    int gmClockClass = 0, gmClockAccuracy = 0, gmPriority1 = 0, gmPriority2 = 0;  // PARENT_DATA_SET
};

// "SLAVE" for 9 and so on; "UNKNOWN" outside 1..9.
const char* ptpPortStateName(int state);
// An 8-octet clockIdentity as pmc prints it: "001122.fffe.334455".
std::string ptpClockIdentityText(const std::uint8_t* id);

// Encoding/decoding as plain functions, unit-testable without a socket.
// A GET of `tlvId` with an empty data field (ptp4l accepts it, as pmc -z
// sends it), to every port of every clock (target all 0xFF), not forwarded.
std::vector<std::uint8_t> ptpManagementGet(std::uint16_t tlvId, std::uint8_t domain, std::uint16_t sequenceId);
// Applies one answer (a MANAGEMENT message with a RESPONSE action) to `s`;
// returns the management id it carried, or 0 if it is not an answer we
// understand (wrong domain, not management, too short, an error status
// TLV, ...); then `s` is untouched. `*seq` (may be null) gets its
// sequenceId when the id is returned.
std::uint16_t ptpApplyAnswer(const std::uint8_t* data, std::size_t n, std::uint8_t domain, PtpSnapshot& s,
                             std::uint16_t* seq);
// A MANAGEMENT_ERROR_STATUS answer: returns its managementErrorId (e.g.
// 0x0002 NO_SUCH_ID) and sets `*id`/`*seq`; 0 when `data` is not one.
std::uint16_t ptpAnswerError(const std::uint8_t* data, std::size_t n, std::uint8_t domain, std::uint16_t* id,
                             std::uint16_t* seq);

// AF_UNIX SOCK_DGRAM to ptp4l's uds_address; non-blocking; for a poll()
// loop: request() now and then (once a second is plenty), receive() when
// fd() is readable, read snapshot(). A ptp4l that is down, restarted or
// slow only shows as a snapshot that stops getting newer (answeredNs).
class PtpClient {
public:
    // ownSocket "" = a unique path in /run (or /tmp when /run is not
    // writable), removed on close. ptp4l answers to this path.
    PtpClient(std::string ptp4lSocket, int domain, std::string ownSocket = "");
    ~PtpClient();
    PtpClient(const PtpClient&) = delete;
    PtpClient& operator=(const PtpClient&) = delete;

    Status open();
    void close();
    int fd() const { return fd_; }  // -1 when closed

    // Sends GET TIME_STATUS_NP, PORT_DATA_SET, CURRENT_DATA_SET,
    // PARENT_DATA_SET with a new sequenceId; answers to earlier requests
    // are ignored from now on.
    Status request();
    // Reads every pending datagram (never blocks), applies answers of the
    // current sequence; publishes the snapshot when the fourth arrives.
    void receive();

    const PtpSnapshot& snapshot() const { return snapshot_; }  // the last complete one (complete=false until one)
    bool pending() const { return fd_ >= 0 && requested_ && got_ != kAll; }  // the last request is not fully answered
    const std::string& lastError() const { return lastError_; }
    const std::string& ownSocket() const { return ownPath_; }

private:
    static constexpr unsigned kAll = 0xF;
    std::string serverPath_;
    int domain_;
    std::string ownPath_;
    bool autoPath_;
    bool bound_ = false;
    int fd_ = -1;
    std::uint16_t seq_ = 0;
    bool requested_ = false;
    unsigned got_ = 0;   // bit per answer of the current sequence
    PtpSnapshot work_;   // answers of the current sequence so far
    PtpSnapshot snapshot_;
    std::string lastError_;

    Status fail(Errc c, const std::string& reason);
};

}  // namespace cuebox::sync
