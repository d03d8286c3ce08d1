#include "web/EngineLink.h"

#include "base/Log.h"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <poll.h>
#include <unistd.h>

namespace cuebox::web {
namespace json = boost::json;
namespace net = boost::asio;

EngineLink::EngineLink(net::io_context& io, std::string socketPath)
    : io_(io), path_(std::move(socketPath)), sweeper_(io) {}

EngineLink::~EngineLink() { stop(); }

void EngineLink::start() {
    thread_ = std::thread([this] { loop(); });
    sweep();
}

void EngineLink::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    sweeper_.cancel();
}

void EngineLink::loop() {
    bool announcedWait = false;
    while (!stop_) {
        if (!connected_) {
            auto fd = ipc::connectUnix(path_);
            if (!fd) {
                if (!announcedWait) log::info("web", "waiting for the engine: " + fd.error().reason);
                announcedWait = true;
                ::usleep(200000);
                continue;
            }
            std::lock_guard lock(mutex_);
            conn_ = ipc::Connection(*fd);
            if (!conn_.send(ipc::MsgType::hello, {{"role", "web"}, {"pid", ::getpid()}, {"protocol", ipc::kProtocolVersion}})) {
                conn_.close();
                continue;
            }
            connected_ = true;
            announcedWait = false;
            log::info("web", "connected to the engine at " + path_);
        }
        int fd;
        {
            std::lock_guard lock(mutex_);
            fd = conn_.fd();
        }
        std::vector<ipc::Frame> frames;
        Status st;
        if (fd >= 0) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 100) < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        }
        {
            // A failed send (from send() or reload() on the io thread)
            // closes the connection: conn_.receive() then reports it and
            // the link is rebuilt below, never left half-open.
            std::lock_guard lock(mutex_);
            st = conn_.fd() < 0 ? Status(makeError(Errc::io, "socket", "a send to the engine failed")) : conn_.receive();
            while (st) {
                auto f = conn_.next();
                if (!f) {
                    st = f.error();
                    break;
                }
                if (!f->has_value()) break;
                frames.push_back(std::move(**f));
            }
            if (!st) conn_.close();
        }
        for (auto& f : frames) net::post(io_, [this, f = std::move(f)]() mutable { dispatch(std::move(f)); });
        if (!st) {
            log::warn("web", "engine link lost: " + st.error().reason);
            connected_ = false;
            net::post(io_, [this] {
                failAll(makeError(Errc::unavailable, "engine", "the engine connection was lost"));
                if (onConnection) onConnection(false);
            });
        }
    }
    std::lock_guard lock(mutex_);
    conn_.close();
}

void EngineLink::dispatch(ipc::Frame f) {
    switch (f.type) {
    case ipc::MsgType::hello:
        if (onConnection) onConnection(true);
        if (auto* live = f.body.if_contains("live"); live && live->is_object() && onLive) onLive(live->as_object());
        break;
    case ipc::MsgType::state:
        if (onLive) onLive(std::move(f.body));
        break;
    case ipc::MsgType::event:
        if (onEvent) onEvent(std::move(f.body));
        break;
    case ipc::MsgType::reply: {
        const json::value* req = f.body.if_contains("req");
        if (!req || !req->is_number()) break;
        auto it = pending_.find(req->to_number<std::uint64_t>());
        if (it == pending_.end()) break;  // answered too late: already failed
        auto done = std::move(it->second.done);
        pending_.erase(it);
        done(std::move(f.body));
        break;
    }
    default: log::warn("web", std::string("engine sent an unexpected ") + ipc::msgTypeName(f.type)); break;
    }
}

void EngineLink::send(json::object cmd, std::function<void(Result<json::object>)> done) {
    if (!connected_) return done(makeError(Errc::unavailable, "engine", "the audio engine is not running"));
    const std::uint64_t req = nextReq_++;
    cmd["req"] = req;
    Status st;
    {
        std::lock_guard lock(mutex_);
        st = conn_.send(ipc::MsgType::command, cmd);
    }
    if (!st) return done(makeError(Errc::unavailable, "engine", "cannot reach the audio engine: " + st.error().reason));
    pending_[req] = Pending{std::move(done), std::chrono::steady_clock::now() + std::chrono::seconds(2)};
}

void EngineLink::reload(std::uint64_t revision) {
    if (!connected_) return;  // the engine re-reads the store when it (re)connects
    std::lock_guard lock(mutex_);
    conn_.send(ipc::MsgType::reload, {{"revision", revision}});
}

void EngineLink::failAll(const Error& e) {
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [req, p] : pending) p.done(e);
}

void EngineLink::sweep() {
    const auto now = std::chrono::steady_clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.deadline > now) {
            ++it;
            continue;
        }
        auto done = std::move(it->second.done);
        it = pending_.erase(it);
        done(makeError(Errc::unavailable, "engine", "the audio engine did not answer in time"));
    }
    sweeper_.expires_after(std::chrono::milliseconds(250));
    sweeper_.async_wait([this](boost::system::error_code ec) {
        if (!ec && !stop_) sweep();
    });
}

}  // namespace cuebox::web
