// cuebox-web's side of the engine IPC: a thread that (re)connects to the
// engine's socket and reads its frames; everything it learns is posted to the
// io thread. Commands are sent from the io thread; their replies are matched
// by request number, and a command the engine does not answer within 2 s
// fails as `unavailable`.
#pragma once

#include "web/Api.h"
#include "ipc/Socket.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace cuebox::web {

class EngineLink : public CommandSink {
public:
    EngineLink(boost::asio::io_context& io, std::string socketPath);
    ~EngineLink() override;

    void start();
    void stop();
    bool connected() const { return connected_.load(); }

    // io thread callbacks
    std::function<void(boost::json::object live)> onLive;  // hello and state
    std::function<void(boost::json::object event)> onEvent;
    std::function<void(bool connected)> onConnection;

    void send(boost::json::object cmd, std::function<void(Result<boost::json::object>)> done) override;
    void reload(std::uint64_t revision) override;

private:
    struct Pending {
        std::function<void(Result<boost::json::object>)> done;
        std::chrono::steady_clock::time_point deadline;
    };
    void loop();
    void dispatch(ipc::Frame f);   // io thread
    void failAll(const Error& e);  // io thread
    void sweep();                  // io thread

    boost::asio::io_context& io_;
    std::string path_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> connected_{false};
    std::mutex mutex_;  // guards conn_ between the link thread and the io thread
    ipc::Connection conn_;
    std::map<std::uint64_t, Pending> pending_;  // io thread
    std::uint64_t nextReq_ = 1;
    boost::asio::steady_timer sweeper_;
};

}  // namespace cuebox::web
