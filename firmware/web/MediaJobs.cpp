#include "web/MediaJobs.h"

#include "base/Time.h"

#include <boost/json.hpp>

#include <chrono>

namespace cuebox::web {
namespace json = boost::json;

namespace {
std::int64_t nowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
constexpr std::int64_t kMinGapNs = 100'000'000;  // ten updates a second per job at most
constexpr std::size_t kKeepFinished = 50;
}  // namespace

bool MediaJobs::Reporter::item(std::size_t i, double fraction, const std::string& state) {
    std::lock_guard lock(jobs_->m_);
    auto it = jobs_->jobs_.find(id_);
    if (it == jobs_->jobs_.end()) return false;
    Job& j = it->second;
    if (i < j.items.size()) {
        j.items[i].progress = std::max(j.items[i].progress, std::min(1.0, std::max(0.0, fraction)));
        if (!state.empty()) j.items[i].state = state;
        else if (j.items[i].state == "queued") j.items[i].state = "working";
    }
    jobs_->changed(j, false);
    return !j.cancel;
}

void MediaJobs::Reporter::itemDone(std::size_t i, bool ok, const std::string& error, json::object details) {
    std::lock_guard lock(jobs_->m_);
    auto it = jobs_->jobs_.find(id_);
    if (it == jobs_->jobs_.end()) return;
    Job& j = it->second;
    if (i < j.items.size()) {
        Item& item = j.items[i];
        item.state = ok ? "done" : (j.cancel ? "cancelled" : "failed");
        if (ok) item.progress = 1.0;
        item.error = error;
        item.details = std::move(details);
    }
    jobs_->changed(j, true);
}

bool MediaJobs::Reporter::cancelled() const {
    std::lock_guard lock(jobs_->m_);
    auto it = jobs_->jobs_.find(id_);
    return it == jobs_->jobs_.end() || it->second.cancel;
}

MediaJobs::~MediaJobs() { stop(); }

void MediaJobs::stop() {
    {
        std::lock_guard lock(m_);
        stopping_ = true;
        for (auto& [id, j] : jobs_) j.cancel = true;
    }
    cv_.notify_all();
    for (Worker* w : {&imports_, &background_})
        if (w->thread.joinable()) w->thread.join();
    *alive_ = false;
}

json::object MediaJobs::toJson(const Job& j) const {
    json::array items;
    double sum = 0;
    for (const auto& i : j.items) {
        json::object o{{"name", i.name}, {"state", i.state}, {"progress", std::round(i.progress * 1000) / 1000}};
        if (!i.error.empty()) o["error"] = i.error;
        if (!i.details.empty()) o["details"] = i.details;
        items.push_back(std::move(o));
        sum += (i.state == "failed" || i.state == "cancelled") ? 1.0 : i.progress;
    }
    const double overall = j.items.empty() ? (j.state == "done" ? 1.0 : 0.0) : sum / static_cast<double>(j.items.size());
    json::object o{{"id", j.id},         {"kind", j.kind},           {"label", j.label},
                   {"state", j.state},   {"progress", std::round(overall * 1000) / 1000},
                   {"items", std::move(items)}, {"queued_at", j.queuedAt}};
    if (!j.startedAt.empty()) o["started_at"] = j.startedAt;
    if (!j.finishedAt.empty()) o["finished_at"] = j.finishedAt;
    if (!j.result.empty()) o["result"] = j.result;
    return o;
}

void MediaJobs::changed(Job& j, bool force) {
    const std::int64_t now = nowNs();
    if (!force && now - j.lastSentNs < kMinGapNs) {
        j.dirty = true;
        return;
    }
    j.dirty = false;
    j.lastSentNs = now;
    if (!broadcast_) return;
    json::object msg{{"type", "media_job"}, {"job", toJson(j)}};
    if (!post_) return broadcast_(std::move(msg));
    post_([this, alive = std::weak_ptr<bool>(alive_), msg = std::move(msg)]() mutable {
        if (auto a = alive.lock(); a && *a && broadcast_) broadcast_(std::move(msg));
    });
}

std::uint64_t MediaJobs::submit(Spec s) {
    std::unique_lock lock(m_);
    const std::uint64_t id = ++nextId_;
    Job& j = jobs_[id];
    j.id = id;
    j.kind = s.kind;
    j.label = s.label;
    j.queuedAt = isoNow();
    for (const auto& n : s.items) {
        Item it;
        it.name = n;
        j.items.push_back(std::move(it));
    }
    // Finished jobs beyond the newest 50 are forgotten.
    std::size_t finished = 0;
    for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it)
        if (it->second.state != "queued" && it->second.state != "running") ++finished;
    for (auto it = jobs_.begin(); finished > kKeepFinished && it != jobs_.end();) {
        if (it->second.state != "queued" && it->second.state != "running") {
            it = jobs_.erase(it);
            --finished;
        } else {
            ++it;
        }
    }
    changed(j, true);
    if (!post_) {  // no worker threads (unit tests): at once
        lock.unlock();
        Reporter r;
        r.jobs_ = this;
        r.id_ = id;
        runOne(id, s, r);
        return id;
    }
    Worker& w = worker(s.lane);
    const Lane lane = s.lane;
    w.queue.emplace_back(id, std::move(s));
    if (!w.thread.joinable()) w.thread = std::thread([this, lane] { runLoop(lane); });
    lock.unlock();
    cv_.notify_all();
    return id;
}

void MediaJobs::runLoop(Lane lane) {
    Worker& w = worker(lane);
    for (;;) {
        std::pair<std::uint64_t, Spec> next;
        {
            std::unique_lock lock(m_);
            cv_.wait(lock, [&] { return stopping_ || !w.queue.empty(); });
            if (stopping_) return;
            next = std::move(w.queue.front());
            w.queue.pop_front();
            w.running = next.first;
        }
        Reporter r;
        r.jobs_ = this;
        r.id_ = next.first;
        runOne(next.first, next.second, r);
        std::lock_guard lock(m_);
        w.running = 0;
    }
}

void MediaJobs::runOne(std::uint64_t id, Spec& s, Reporter& r) {
    {
        std::lock_guard lock(m_);
        Job& j = jobs_[id];
        if (j.cancel) {
            j.state = "cancelled";
            j.finishedAt = isoNow();
            for (auto& i : j.items)
                if (i.state == "queued") i.state = "cancelled";
            changed(j, true);
        }
    }
    if (cancelledBeforeStart(id)) {
        // Its done callback still runs: it lets go of what the job held
        // (an upload's file, a render's place in the queue).
        if (!s.done) return;
        json::object result{{"cancelled", true}};
        if (!post_) return s.done(std::move(result));
        post_([alive = std::weak_ptr<bool>(alive_), done = std::move(s.done), result = std::move(result)]() mutable {
            if (auto a = alive.lock(); a && *a) done(std::move(result));
        });
        return;
    }
    {
        std::lock_guard lock(m_);
        Job& j = jobs_[id];
        j.state = "running";
        j.startedAt = isoNow();
        changed(j, true);
    }
    json::object result;
    std::string failure;
    try {
        result = s.work(r);
    } catch (const std::exception& e) {  // a job never takes the process down
        failure = std::string("the job failed: ") + e.what();
    }
    {
        std::lock_guard lock(m_);
        Job& j = jobs_[id];
        for (auto& i : j.items)
            if (i.state != "done" && i.state != "failed") i.state = j.cancel ? "cancelled" : "failed";
        j.state = j.cancel ? "cancelled" : failure.empty() ? "done" : "failed";
        if (!failure.empty()) result["error"] = failure;
        j.result = result;
        j.finishedAt = isoNow();
        changed(j, true);
    }
    if (!s.done) return;
    if (!post_) return s.done(std::move(result));
    post_([alive = std::weak_ptr<bool>(alive_), done = std::move(s.done), result = std::move(result)]() mutable {
        if (auto a = alive.lock(); a && *a) done(std::move(result));
    });
}

bool MediaJobs::cancelledBeforeStart(std::uint64_t id) const {
    std::lock_guard lock(m_);
    auto it = jobs_.find(id);
    return it == jobs_.end() || (it->second.state == "cancelled" && it->second.startedAt.empty());
}

void MediaJobs::Reporter::setItems(const std::vector<std::string>& names) {
    std::lock_guard lock(jobs_->m_);
    auto it = jobs_->jobs_.find(id_);
    if (it == jobs_->jobs_.end()) return;
    it->second.items.clear();
    for (const auto& n : names) {
        Item item;
        item.name = n;
        it->second.items.push_back(std::move(item));
    }
    jobs_->changed(it->second, true);
}

json::array MediaJobs::jobs() const {
    std::lock_guard lock(m_);
    json::array out;
    for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) out.push_back(toJson(it->second));
    return out;
}

json::object MediaJobs::job(std::uint64_t id) const {
    std::lock_guard lock(m_);
    auto it = jobs_.find(id);
    return it == jobs_.end() ? json::object{} : toJson(it->second);
}

bool MediaJobs::cancel(std::uint64_t id) {
    std::lock_guard lock(m_);
    auto it = jobs_.find(id);
    if (it == jobs_.end() || (it->second.state != "queued" && it->second.state != "running")) return false;
    it->second.cancel = true;
    changed(it->second, true);
    return true;
}

bool MediaJobs::busy(Lane lane) const {
    std::lock_guard lock(m_);
    const Worker& w = lane == Lane::imports ? imports_ : background_;
    return !w.queue.empty() || w.running != 0;
}

}  // namespace cuebox::web
