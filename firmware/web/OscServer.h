// OSC over UDP and TCP (docs/OSC.md) on the io thread, beside HTTP: each
// message is checked against the allow-list and the passcode, parsed
// (web/Osc.h) and carried out through the same Api calls as a tablet's, so
// validation, the show lock and the event log are the same for every
// controller. Queries answer with whole lists in one message; a subscribed
// client gets clip starts and stops, progress and fader levels pushed.
// TCP frames: a 4-byte big-endian length before each packet (OSC 1.0, liblo)
// or SLIP (OSC 1.1), told apart by the first byte of the connection.
#pragma once

#include "base/Error.h"
#include "store/Store.h"
#include "web/Osc.h"

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <memory>

namespace cuebox::web {

class ShowService;
class ControlAccess;
class ControlExec;

class OscServer {
public:
    using Log = std::function<void(store::LogEntry)>;
    OscServer(boost::asio::io_context& io, ShowService& show, ControlAccess& access, ControlExec& exec, Log log);
    ~OscServer();
    OscServer(const OscServer&) = delete;
    OscServer& operator=(const OscServer&) = delete;

    // Opens UDP and TCP on the configured port, or on `portOverride` when it
    // is not 0 (tests, scripts/run --osc-port). Nothing is opened while OSC
    // is switched off. A port in use is an error naming it.
    Status start(std::string bind, int portOverride = 0);
    // After the OSC settings changed: reopens on the new port, drops
    // clients the allow-list no longer lets in.
    Status reconfigure();
    // Every message the tablets get (a tap on the hub): subscribers get
    // what they asked for from it.
    void publish(const boost::json::object& msg);
    // Counters for /api/control and /metrics: received, refused, errors,
    // subscribers, tcp_clients, port.
    boost::json::object stats() const;
    unsigned short port() const;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace cuebox::web
