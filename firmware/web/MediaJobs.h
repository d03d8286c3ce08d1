// Background media work of the web process: imports on one worker thread,
// media checks and tempo/pitch renders on another, so a long import never
// holds up a check or a render and neither ever holds up the io thread.
// Every job is listed with its progress (per file and overall) and changes
// are broadcast to the WebSocket clients, at most ten times a second per job.
//   [io]     submit(), jobs(), cancel()
//   [worker] the job's work function (progress through its Reporter)
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/array.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cuebox::web {

class MediaJobs {
public:
    using Post = std::function<void(std::function<void()>)>;
    using Broadcast = std::function<void(boost::json::object)>;
    enum class Lane { imports, background };

    // What a job's work function sees (worker thread).
    class Reporter {
    public:
        // Progress of item `i` (0..1), with an optional state ("decoding",
        // "analysing"...). Returns false once the job is cancelled.
        bool item(std::size_t i, double fraction, const std::string& state = "");
        // Item `i` finished: "done" with details, or "failed" with the reason.
        void itemDone(std::size_t i, bool ok, const std::string& error = "", boost::json::object details = {});
        bool cancelled() const;
        // Replaces the job's items (a folder import lists its files first).
        void setItems(const std::vector<std::string>& names);

    private:
        friend class MediaJobs;
        MediaJobs* jobs_ = nullptr;
        std::uint64_t id_ = 0;
    };

    struct Spec {
        std::string kind;                // import | check | render
        std::string label;               // what the operator sees
        std::vector<std::string> items;  // the files (or clips) it covers
        Lane lane = Lane::imports;
        // Runs on the worker; its result goes to `done` on the io thread.
        // `done` also runs (with {"cancelled": true}) for a job cancelled
        // before it started; not for jobs dropped when the process stops.
        std::function<boost::json::object(Reporter&)> work;
        std::function<void(boost::json::object)> done;
    };

    MediaJobs() = default;
    ~MediaJobs();
    MediaJobs(const MediaJobs&) = delete;
    MediaJobs& operator=(const MediaJobs&) = delete;

    // Without a poster (unit tests) a job runs at once on the caller's thread.
    void setPoster(Post p) { post_ = std::move(p); }
    void setBroadcast(Broadcast b) { broadcast_ = std::move(b); }

    std::uint64_t submit(Spec s);                       // [io] the job's id
    boost::json::array jobs() const;                    // [io] newest first (the last 50 finished ones kept)
    boost::json::object job(std::uint64_t id) const;    // [io] empty when unknown
    bool cancel(std::uint64_t id);                      // [io] false when unknown or finished
    bool busy(Lane lane) const;                         // [io] queued or running work
    void stop();                                        // joins the workers (queued jobs are dropped)

private:
    struct Item {
        std::string name;
        std::string state = "queued";  // queued | <working state> | done | failed | cancelled
        double progress = 0.0;
        std::string error;
        boost::json::object details;
    };
    struct Job {
        std::uint64_t id = 0;
        std::string kind, label, state = "queued";  // queued | running | done | failed | cancelled
        std::vector<Item> items;
        std::string queuedAt, startedAt, finishedAt;
        bool cancel = false;
        bool dirty = false;
        std::int64_t lastSentNs = 0;
        boost::json::object result;
    };
    struct Worker {
        std::thread thread;
        std::deque<std::pair<std::uint64_t, Spec>> queue;
        std::uint64_t running = 0;
    };
    void runLoop(Lane lane);
    void runOne(std::uint64_t id, Spec& s, Reporter& r);
    bool cancelledBeforeStart(std::uint64_t id) const;
    boost::json::object toJson(const Job& j) const;  // mutex held
    void changed(Job& j, bool force);                 // mutex held: schedules a broadcast
    Worker& worker(Lane l) { return l == Lane::imports ? imports_ : background_; }

    Post post_;
    Broadcast broadcast_;
    mutable std::mutex m_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::uint64_t nextId_ = 0;
    std::map<std::uint64_t, Job> jobs_;
    Worker imports_, background_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace cuebox::web
