// cuebox-ptp-status: asks a ptp4l for one snapshot through the project's
// own management client (sync/Ptp.h) and prints it as one line of JSON,
// for tests and for looking at a box by hand.
//
//   cuebox-ptp-status --socket PATH --domain N [--wait-ms 2000]
// Exit 0 with the JSON on stdout; 1 with a reason on stderr when ptp4l is
// not there or does not answer all four GETs in time (a wrong domain gets
// no answer at all); 2 on bad arguments.
#include "sync/Ptp.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <poll.h>

using cuebox::sync::PtpClient;
using cuebox::sync::PtpSnapshot;

namespace {
int usage() {
    std::fprintf(stderr, "usage: cuebox-ptp-status --socket PATH --domain N [--wait-ms 2000]\n");
    return 2;
}

bool number(const char* s, long lo, long hi, long& out) {
    char* end = nullptr;
    errno = 0;
    out = std::strtol(s, &end, 10);
    return errno == 0 && end != s && *end == 0 && out >= lo && out <= hi;
}

void print(const PtpSnapshot& s) {
    // Every string field is hex digits, dots, dashes or a state name: no
    // escaping needed.
    std::printf("{\"port_state\":%d,\"port_state_name\":\"%s\",\"tracking\":%s,\"port_identity\":\"%s\","
                "\"grandmaster\":\"%s\",\"parent_port\":\"%s\",\"gm_present\":%s,\"domain\":%d,"
                "\"master_offset_ns\":%.0f,\"ingress_time_ns\":%lld,\"offset_from_master_ns\":%.3f,"
                "\"mean_path_delay_ns\":%.3f,\"steps_removed\":%d,\"gm_clock_class\":%d,\"gm_clock_accuracy\":%d,"
                "\"gm_priority1\":%d,\"gm_priority2\":%d}\n",
                s.portState, s.portStateName.c_str(), s.tracking ? "true" : "false", s.portIdentity.c_str(),
                s.grandmaster.c_str(), s.parentPort.c_str(), s.gmPresent ? "true" : "false", s.domain,
                s.masterOffsetNs, static_cast<long long>(s.ingressTimeNs), s.offsetFromMasterNs, s.meanPathDelayNs,
                s.stepsRemoved, s.gmClockClass, s.gmClockAccuracy, s.gmPriority1, s.gmPriority2);
}
}  // namespace

int main(int argc, char** argv) {
    std::string socket;
    long domain = -1, waitMs = 2000;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) return usage();
        const char* v = argv[++i];
        if (a == "--socket") socket = v;
        else if (a == "--domain") {
            if (!number(v, 0, 255, domain)) return usage();
        } else if (a == "--wait-ms") {
            if (!number(v, 0, 600000, waitMs)) return usage();
        } else return usage();
    }
    if (socket.empty() || domain < 0) return usage();

    PtpClient c(socket, static_cast<int>(domain));
    if (auto st = c.open(); !st) {
        std::fprintf(stderr, "cuebox-ptp-status: %s\n", st.error().reason.c_str());
        return 1;
    }
    if (auto st = c.request(); !st) {
        std::fprintf(stderr, "cuebox-ptp-status: %s\n", st.error().reason.c_str());
        return 1;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(waitMs);
    while (c.pending()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{c.fd(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count()) + 1) > 0) c.receive();
    }
    if (!c.snapshot().complete) {
        std::fprintf(stderr, "cuebox-ptp-status: no complete answer from ptp4l at '%s' (domain %ld) within %ld ms%s%s\n",
                     socket.c_str(), domain, waitMs, c.lastError().empty() ? "" : ": ", c.lastError().c_str());
        return 1;
    }
    print(c.snapshot());
    return 0;
}
