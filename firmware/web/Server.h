// Boost.Beast HTTP + WebSocket server, single io thread. Modelled on Beast's
// chat-multi example (listener, http session, websocket session, shared hub),
// with a bounded per-client queue: `state` frames are coalesced (only the
// newest waits), other messages queue up to a limit and a client that stays
// behind it is disconnected (it reconnects and resyncs from a snapshot).
#pragma once

#include "web/Api.h"
#include "web/Metrics.h"

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>

namespace cuebox::web {

class WsSession;

class Hub {
public:
    // What a client gets on connect: a snapshot message as JSON text without
    // its opening '{' (the session puts its sequence number there).
    std::function<std::string()> snapshotRest;
    Api* api = nullptr;
    // A client connected (its address), for the event log.
    std::function<void(const std::string& peer)> onJoin;
    // Sees every broadcast message too (the OSC subscribers).
    std::function<void(const boost::json::object&)> tap;
    // GET /metrics (Prometheus text) and the HTTP counters it reports.
    std::function<std::string()> metrics;
    HttpCounters counters;

    // Sends to every client; `coalesce` for state frames that a newer one
    // replaces.
    void broadcast(const boost::json::object& msg, bool coalesce);
    // Sends every client a fresh snapshot (after a layout change).
    void resyncAll();
    std::size_t size() const { return sessions_.size(); }

    // Closes every client whose identity `keep` no longer accepts (after a
    // logout, a deleted user or token, a changed role: the client
    // reconnects and finds out what it may do now).
    void revalidate(const std::function<bool(const Identity&)>& keep);

    void join(WsSession* s) { sessions_.insert(s); }
    void leave(WsSession* s) { sessions_.erase(s); }

private:
    std::set<WsSession*> sessions_;
};

struct ServerOptions {
    std::string bind = "0.0.0.0";
    unsigned short port = 8080;
    std::string webuiDir;
};

class Server {
public:
    Server(boost::asio::io_context& io, ServerOptions o, Api& api, Hub& hub);
    ~Server();
    Status start();
    unsigned short port() const;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace cuebox::web
