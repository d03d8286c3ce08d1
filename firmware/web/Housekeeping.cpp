#include "web/Housekeeping.h"

#include "base/Log.h"
#include "base/Time.h"
#include "store/Backup.h"
#include "web/LogExport.h"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace cuebox::web {
namespace json = boost::json;
using namespace std::chrono_literals;

Housekeeping::~Housekeeping() {
    if (checker_.joinable()) checker_.join();
}

void Housekeeping::start() {
    // Backups are checked on every start: a damaged one is reported now,
    // not discovered when it is needed.
    if (show_.loaded()) {
        const auto& rec = show_.show().settings.at("recovery");
        checker_ = std::thread([this, root = resolve(std::string(rec.at("backup_path").as_string()))] {
            auto backups = store::listBackups(root);  // reads and hashes every backup
            boost::asio::post(io_, [this, backups = std::move(backups)] {
                for (const auto& b : backups) {
                    if (b.valid) backupRevision_ = std::max(backupRevision_, b.revision);
                    if (!b.valid) {
                        log::warn("web", "backup " + b.name + " is damaged: " + b.problem);
                        log(store::LogEntry{0, 0, "fault", "web", "", "backup " + b.name + " is damaged: " + b.problem, ""});
                    }
                }
            });
        });
        pointRevision_ = show_.revision();
    }
    log(store::LogEntry{0, 0, "system", "web", "", "cuebox-web started", ""});
    everyMinute();
}

std::string Housekeeping::resolve(const std::string& path) const {
    return !path.empty() && path[0] == '/' ? path : show_.dataDir() + "/" + path;
}

void Housekeeping::log(store::LogEntry e) {
    if (e.timeNs == 0)
        e.timeNs = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count());
    pending_.push_back(std::move(e));
    flushSoon();
}

void Housekeeping::flushSoon() {
    if (flushArmed_) return;
    flushArmed_ = true;
    flush_.expires_after(250ms);
    flush_.async_wait([this](boost::system::error_code ec) {
        flushArmed_ = false;
        if (!ec) flush();
    });
}

void Housekeeping::flush() {
    if (pending_.empty()) return;
    auto batch = std::move(pending_);
    pending_.clear();
    if (auto st = show_.store().appendLog(std::move(batch)); !st) log::warn("web", "event log: " + st.error().reason);
}

void Housekeeping::engineEvent(const json::object& ev) {
    const json::value* name = ev.if_contains("event");
    if (!name || !name->is_string()) return;
    const std::string n(name->as_string());
    std::string kind, detail;
    std::string clip;
    if (const json::value* c = ev.if_contains("clip"); c && c->is_number()) {
        const auto id = c->to_number<model::ClipId>();
        const model::Clip* cl = show_.show().findClip(id);
        clip = "clip " + std::to_string(id) + (cl ? " '" + cl->label + "'" : "");
    }
    std::string timeSource;
    if (const json::value* ts = ev.if_contains("time_source"); ts && ts->is_string()) {
        timeSource = std::string(ts->as_string());
        if (const json::value* st = ev.if_contains("source_time"); st && st->is_string()) timeSource += " " + std::string(st->as_string());
        if (const json::value* ss = ev.if_contains("source_state"); ss && ss->is_string() && ss->as_string() != "locked")
            timeSource += " (" + std::string(ss->as_string()) + ")";
        if (const json::value* d = ev.if_contains("source_drift_ppm"); d && d->is_number()) {
            char buf[48];
            std::snprintf(buf, sizeof buf, ", drift %+.3f ppm", d->to_number<double>());
            timeSource += buf;
        }
    }
    if (n == "clip_started") kind = "trigger", detail = clip + " started";
    else if (n == "timecode_trigger") kind = "trigger", detail = clip + " set to start at timecode " + std::string(ev.at("timecode").as_string());
    else if (n == "timecode_trigger_failed") kind = "fault", detail = clip + ": timecode start refused: " + std::string(ev.at("reason").as_string());
    else if (n == "clip_stopped") kind = "stop", detail = clip + " stopped";
    else if (n == "underrun") kind = "fault", detail = clip + ": disk underrun";
    else if (n == "xrun") kind = "fault", detail = "JACK xrun";
    else if (n == "voice_stolen") kind = "engine", detail = clip + ": voice stolen";
    else if (n == "voice_choked") kind = "engine", detail = clip + ": choked";
    else if (n == "engine") kind = "system", detail = ev.contains("connected") && ev.at("connected").as_bool() ? "engine connected" : "engine lost";
    else return;
    log(store::LogEntry{0, 0, kind, "engine", "", detail, timeSource});
}

json::object Housekeeping::clockSwitch(const json::object& ev, std::int64_t notifiedNs) {
    auto str = [&](const char* k) {
        const json::value* v = ev.if_contains(k);
        return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    auto num = [&](const char* k) {
        const json::value* v = ev.if_contains(k);
        return v && v->is_number() ? v->to_number<double>() : 0.0;
    };
    const auto detected = static_cast<std::int64_t>(num("detected_ns"));
    const bool emergency = ev.contains("emergency") && ev.at("emergency").is_bool() && ev.at("emergency").as_bool();
    const std::string what = "time source " + str("from") + " -> " + str("to") + " (" + str("reason") + ")";
    const std::string tc = str("timecode");
    flush();  // what came before goes first
    store::Store& st = show_.store();
    bool pointOk = false;
    if (show_.loaded() && st.readOnlyReason().empty()) {
        // One transaction: the recovery point and its log entry.
        auto p = st.createRecoveryPoint(show_.show().id, what, "time_source", 20);
        pointOk = p.ok();
        if (!p) log::warn("web", "time source recovery point: " + p.error().reason);
    }
    if (!pointOk)
        if (auto s = st.appendLog({store::LogEntry{0, 0, "clock", "engine", "", what, tc}}); !s) log::warn("web", "event log: " + s.error().reason);
    const std::int64_t persisted = monotonicNs();
    json::object out{{"phase1_us", num("phase1_us")},
                     {"phase2_us", num("phase2_us")},
                     {"phase3_us", static_cast<double>(notifiedNs - detected) / 1000.0},
                     {"phase4_us", static_cast<double>(persisted - detected) / 1000.0}};
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s phases: 1 %.0f us, 2 %.0f us, 3 %.0f us, 4 %.0f us", emergency ? "emergency" : "switch",
                  out.at("phase1_us").as_double(), out.at("phase2_us").as_double(), out.at("phase3_us").as_double(), out.at("phase4_us").as_double());
    log(store::LogEntry{0, 0, "clock", "engine", "", what + ": " + buf, tc});
    return out;
}

void Housekeeping::engineLive(const json::object& live) {
    const json::value* v = live.if_contains("voices");
    const json::value* st = v && v->is_object() ? v->as_object().if_contains("load_state") : nullptr;
    if (!st || !st->is_string() || st->as_string() == loadState_) return;
    const std::string now(st->as_string());
    log(store::LogEntry{0, 0, now == "normal" ? "engine" : "fault", "engine", "",
                        "DSP load " + loadState_ + " -> " + now, ""});
    loadState_ = now;
}

void Housekeeping::everyMinute() {
    tick(std::chrono::steady_clock::now());
    minute_.expires_after(60s);
    minute_.async_wait([this](boost::system::error_code ec) {
        if (!ec) everyMinute();
    });
}

void Housekeeping::tick(std::chrono::steady_clock::time_point now) {
    if (!show_.loaded() || !show_.store().readOnlyReason().empty()) return;
    store::Store& st = show_.store();
    const auto& settings = show_.show().settings;
    // Automatic recovery point: every N minutes while the show is edited.
    const auto& rec = settings.at("recovery");
    const auto autoMin = rec.at("auto_minutes").to_number<std::int64_t>();
    if (autoMin > 0 && show_.revision() != pointRevision_ && now - lastPoint_ >= std::chrono::minutes(autoMin)) {
        auto p = st.createRecoveryPoint(show_.show().id, "automatic", "auto", rec.at("keep_auto").to_number<std::size_t>());
        if (!p) log::warn("web", "automatic recovery point: " + p.error().reason);
        pointRevision_ = show_.revision();
        lastPoint_ = now;
    }
    // Scheduled backup: every N hours, when the store changed since the
    // newest backup.
    const auto everyH = rec.at("backup_every_hours").to_number<std::int64_t>();
    auto rev = st.revision();
    if (everyH > 0 && rev && *rev != backupRevision_ && now - lastBackup_ >= std::chrono::hours(everyH)) {
        lastBackup_ = now;
        auto b = store::createBackup(st, resolve(std::string(rec.at("backup_path").as_string())), "scheduled",
                                     rec.at("backup_keep").to_number<std::size_t>());
        if (b) backupRevision_ = b->revision;
        else log(store::LogEntry{0, 0, "fault", "web", "", "scheduled backup failed: " + b.error().reason, ""});
    }
    // Retention by age and size.
    const auto& lg = settings.at("logging");
    auto dropped = st.pruneLog(static_cast<std::uint64_t>(lg.at("retention_days").to_number<std::int64_t>()) * 86400,
                               static_cast<std::uint64_t>(lg.at("retention_mb").to_number<std::int64_t>()) << 20);
    if (!dropped) log::warn("web", "event log retention: " + dropped.error().reason);
    // Scheduled export: the entries since the last export, as one file. The
    // last exported time and sequence number are kept beside the exports
    // (".exported-up-to"), so a restart does not export everything again.
    const auto every = lg.at("auto_export_minutes").to_number<std::int64_t>();
    if (every > 0 && now - lastExport_ >= std::chrono::minutes(every)) {
        lastExport_ = now;
        LogFormat f = LogFormat::csv;
        parseLogFormat(std::string(lg.at("auto_export_format").as_string()), f);
        const std::string dir = resolve(std::string(lg.at("auto_export_path").as_string()));
        const std::string mark = dir + "/.exported-up-to";
        if (exportedSeq_ == 0) {
            std::ifstream in(mark);
            in >> exportedUpToNs_ >> exportedSeq_;
        }
        // The log's sequence number, not its clock, says what is new: after
        // the clock stepped back, new entries sort before the time mark, so
        // the whole log is read then and filtered by sequence.
        const auto nowNs = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
        const std::uint64_t from = exportedUpToNs_ > nowNs ? 0 : exportedUpToNs_;
        auto entries = st.readLog(from, UINT64_MAX, 1000000);
        if (entries)
            entries->erase(std::remove_if(entries->begin(), entries->end(), [&](const store::LogEntry& e) { return e.seq <= exportedSeq_; }),
                           entries->end());
        if (entries && !entries->empty()) {
            std::error_code ec;
            std::filesystem::create_directories(dir, ec);
            std::string stamp = isoFromNs(entries->back().timeNs);
            for (char& c : stamp)
                if (c == ':') c = '-';
            // The newest entry names the file: its time, and its sequence
            // number to keep two exports in one millisecond apart.
            char seq[24];
            std::snprintf(seq, sizeof seq, "%012llu", static_cast<unsigned long long>(entries->back().seq));
            const std::string file = dir + "/cuebox-log-" + stamp + "-" + seq + "." + extension(f);
            std::ofstream out(file, std::ios::binary);
            out << exportLog(*entries, f);
            out.close();
            if (out) {
                for (const auto& e : *entries) {
                    exportedSeq_ = std::max(exportedSeq_, e.seq);
                    exportedUpToNs_ = std::max(exportedUpToNs_ > nowNs ? 0 : exportedUpToNs_, e.timeNs);
                }
                std::ofstream(mark, std::ios::trunc) << exportedUpToNs_ << " " << exportedSeq_ << "\n";
            } else {
                log(store::LogEntry{0, 0, "fault", "web", "", "log auto-export: cannot write " + file, ""});
            }
        }
    }
}

}  // namespace cuebox::web
