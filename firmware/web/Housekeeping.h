// cuebox-web's timed duties on the io thread: engine events and logins into
// the event log (batched, one transaction per 250 ms), log retention,
// scheduled log export, automatic recovery points while the show is being
// edited, and the backup check at start-up.
#pragma once

#include "store/Store.h"
#include "web/ShowService.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <thread>
#include <vector>

namespace cuebox::web {

class Housekeeping {
public:
    Housekeeping(boost::asio::io_context& io, ShowService& show) : io_(io), show_(show), flush_(io), minute_(io) {}
    ~Housekeeping();
    Housekeeping(const Housekeeping&) = delete;
    Housekeeping& operator=(const Housekeeping&) = delete;
    // Starts the timers; the backups are checked on a thread of their own
    // (hashing them must not delay serving) and reported on the io thread.
    void start();
    // Queues an event-log entry (written within 250 ms).
    void log(store::LogEntry e);
    // An engine event (clip_started, clip_stopped, underrun, xrun...).
    void engineEvent(const boost::json::object& ev);
    // A switch of time source (the engine's clock_switch event), after it
    // went to every client at `notifiedNs` (CLOCK_MONOTONIC): phase 4 of the
    // emergency protocol, the event and a recovery point persisted now (not
    // batched). Returns the phase times to tell clients.
    boost::json::object clockSwitch(const boost::json::object& ev, std::int64_t notifiedNs);
    // The engine's live state: overload state changes are logged as faults.
    void engineLive(const boost::json::object& live);
    // One round of the per-minute duties (also run at start-up), as of
    // `now` on the steady clock.
    void tick(std::chrono::steady_clock::time_point now);
    // Writes queued log entries now.
    void flush();

private:
    void flushSoon();
    void everyMinute();
    std::string resolve(const std::string& path) const;

    boost::asio::io_context& io_;
    ShowService& show_;
    boost::asio::steady_timer flush_, minute_;
    std::thread checker_;
    std::vector<store::LogEntry> pending_;
    bool flushArmed_ = false;
    std::uint64_t pointRevision_ = 0;  // revision at the last automatic recovery point
    std::chrono::steady_clock::time_point lastPoint_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point lastExport_ = std::chrono::steady_clock::now();
    std::uint64_t exportedUpToNs_ = 0;  // newest exported entry's time
    std::uint64_t exportedSeq_ = 0;     // and the highest exported sequence number
    std::string loadState_ = "normal";
    std::chrono::steady_clock::time_point lastBackup_ = std::chrono::steady_clock::now();
    std::uint64_t backupRevision_ = 0;  // the store revision the newest backup holds
};

}  // namespace cuebox::web
