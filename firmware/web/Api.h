// The HTTP API and the WebSocket command set of docs/PROTOCOL.md, as plain
// functions of a request: no sockets here, so tests drive it directly.
// io thread only.
#pragma once

#include "media/Reconcile.h"
#include "web/Access.h"
#include "web/ControlAccess.h"
#include "web/Firmware.h"
#include "web/Http.h"
#include "web/MediaJobs.h"
#include "web/ShowService.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <string_view>
#include <vector>

namespace cuebox::web {

// Where commands for the engine go (the engine link in production).
class CommandSink {
public:
    virtual ~CommandSink() = default;
    // Sends one command; `done` gets the engine's reply object, or an
    // `unavailable` error when the engine cannot be reached in time.
    virtual void send(boost::json::object cmd, std::function<void(Result<boost::json::object>)> done) = 0;
    // Tells the engine the store changed.
    virtual void reload(std::uint64_t revision) = 0;
};

class Api {
public:
    using Broadcast = std::function<void(boost::json::object)>;
    Api(ShowService& show, CommandSink& engine, Broadcast broadcast)
        : show_(show), engine_(engine), broadcast_(std::move(broadcast)), control_(show.store()), access_(show.store()),
          firmware_(show.dataDir() + "/firmware") {
        jobs_.setBroadcast(broadcast_);
        firmware_.setBroadcast(broadcast_);
        firmware_.setLog([this](const std::string& client, const std::string& detail) { logSystem(client, detail); });
        show_.setOnLoad([this] { showLoaded(); });
    }
    ~Api();
    Api(const Api&) = delete;
    Api& operator=(const Api&) = delete;

    // How a background job's answer gets back to the io thread (net::post
    // in production). Without one, jobs run at once on the caller's thread.
    void setPoster(std::function<void(std::function<void()>)> post) {
        post_ = post;
        hasher_.setPost(post);
        firmware_.setPoster(post);
        jobs_.setPoster(std::move(post));
    }

    // Handles a request whose path starts with /api/.
    void handle(const HttpRequest& req, Respond respond);
    // A WebSocket client's command ({"cmd":..., "req":...}); `reply` gets the
    // ack or error message to send back.
    void command(const boost::json::value& msg, std::function<void(boost::json::object)> reply);

    boost::json::object health() const;

    // Show bundles over HTTP (the server streams the bytes): the folder an
    // upload is written to, an uploaded bundle to import (`target` carries
    // ?name=), and the file of GET /api/exports/{name}.
    Result<std::string> uploadDir() const;
    // Whether an upload may start now (refused before its body is read while
    // the show is locked).
    Status uploadAllowed() const;
    void importUploaded(const std::string& file, const std::string& target, const std::string& client, Respond respond);
    Result<std::string> exportFile(std::string_view name) const;
    void setClientCounter(std::function<std::size_t()> f) { wsClients_ = std::move(f); }
    // Who may drive the box by OSC (GET /api/control, PATCH
    // /api/control/osc). `changed` applies new settings to the OSC server
    // (an error, e.g. a port in use, puts the old settings back); `stats`
    // gives its counters.
    ControlAccess& control() { return control_; }
    // MIDI learn (POST /api/mappings/learn): `learn` waits for the next MIDI
    // or MSC message and answers with its (source, address).
    using Learned = std::function<void(Result<std::pair<std::string, std::string>>)>;
    void setMidiLearn(std::function<void(std::chrono::milliseconds, Learned)> learn) { midiLearn_ = std::move(learn); }
    // After a mapping changed: the feedback notes follow.
    void setMappingsChanged(std::function<void()> f) { mappingsChanged_ = std::move(f); }
    void setMidiStats(std::function<boost::json::object()> f) { midiStats_ = std::move(f); }
    // GET /api/clock/history (web/ClockHistory.h).
    void setClockHistory(std::function<boost::json::object()> f) { clockHistory_ = std::move(f); }
    void setControlHooks(std::function<Status()> changed, std::function<boost::json::object()> stats) {
        controlChanged_ = std::move(changed);
        controlStats_ = std::move(stats);
    }
    // Field updates (GET/POST /api/firmware...; web/Firmware.h): configured
    // at start; the server streams POST /api/firmware/bundle to
    // firmware().uploadDir() and hands the file to firmware().uploaded().
    Firmware& firmware() { return firmware_; }
    // Users, sessions and tokens (ApiAccess.cpp serves /api/session,
    // /api/login, /api/users...; the server checks every request with it).
    AccessControl& access() { return access_; }
    // After sessions, users or tokens changed (the server closes WebSockets
    // that lost their right to be open).
    void setAccessChanged(std::function<void()> f) { accessChanged_ = std::move(f); }
    // The demo's first administrator: when the box has no users, or its
    // one-time administrator never logged in, a new one-time password for
    // "admin" (returned, to be printed); "" otherwise.
    Result<std::string> oneTimeAdmin();
    // Called after a layout edit: clients get a fresh snapshot.
    void setResync(std::function<void()> f) { resync_ = std::move(f); }

    // The media library (ApiMedia.cpp). An uploaded media file (the server
    // streamed it to `file`; `target` carries ?name=&target=&page=...) is
    // taken over and imported in the background: 202 with the job.
    void mediaUploaded(const std::string& file, const std::string& target, const std::string& client, Respond respond);
    // After the loaded show is (re)read: renders it now needs are queued,
    // and a newly loaded show's media is checked (media.check_on_load).
    void showLoaded();
    // Stops the media workers (before the io context goes away).
    void stopMedia() { jobs_.stop(); }
    // Removes uploads left in the upload folder by an earlier run (at start).
    void sweepUploads() const;

private:
    // The show lock: GET/POST /api/lock, POST /api/unlock, and what a
    // locked show still allows.
    void lockRequest(const HttpRequest& req, std::string_view which, Respond& respond);
    void controlRequest(const HttpRequest& req, const std::vector<std::string_view>& seg, Respond& respond);
    void firmwareRequest(const HttpRequest& req, const std::vector<std::string_view>& seg, Respond& respond);
    void logSystem(const std::string& client, const std::string& detail);  // an event log entry of kind "system"
    bool allowedWhileLocked(const HttpRequest& req, const std::vector<std::string_view>& seg) const;

    // Validates and sends one engine command. `target` is the clip id, or the
    // group letter for stop_group, or empty.
    void engineCommand(const std::string& op, const boost::json::value& target, const boost::json::object& args,
                       std::function<void(int, boost::json::object)> done);
    void editAudio(const HttpRequest& req, Respond respond,
                   const std::function<Status(model::AudioConfig&, const boost::json::value&)>& edit);
    void editClip(model::ClipId id, const HttpRequest& req, Respond respond);

    // Shows, history, recovery, backups, log, settings, mappings, pages,
    // cell moves, search (ApiSession.cpp). False when the path is not one.
    bool handleSession(const HttpRequest& req, const std::vector<std::string_view>& seg, Respond& respond);
    // After an edit that changes more than one item: reload, answer, resync
    // every client and tell the engine.
    void storeChanged(Result<std::uint64_t> rev, Respond& respond, boost::json::object extra = {});
    std::string backupRoot() const;
    // Runs a long job (bundle import/export, a backup) on a worker thread so
    // the io thread keeps serving triggers and WebSockets; one at a time
    // (409 `busy` otherwise). The job touches only the store (LMDB
    // serialises writers), never the show service.
    void background(std::function<HttpResponse()> job, Respond respond);
    std::string mediaPath(const char* member) const;  // a media.* path setting, resolved
    void importFile(const std::string& file, const std::string& label, const std::string& name, const std::string& client,
                    Respond& respond);

    bool handleMedia(const HttpRequest& req, const std::vector<std::string_view>& seg, Respond& respond);
    // The session, setup, login, users and tokens (ApiAccess.cpp). False
    // when the path is not one.
    bool handleAccess(const HttpRequest& req, const std::vector<std::string_view>& seg, Respond& respond);
    // Hashes (or checks then hashes) off the io thread; 503 when too many wait.
    void hashThen(std::function<std::string()> work, std::function<void(std::string)> done, const Respond& busy);
    Respond respondAndEnd(Respond respond, const std::string& address);
    struct ImportItem {
        std::string source, name;
        bool move = false;  // an upload: ours to move
    };
    // Queues an import of `items` into the project folder or the repository,
    // each placed as a clip in the next free cell from `place` when given.
    // `folder` (a file or folder on a stick or share) is listed by the job.
    Result<std::uint64_t> queueImport(std::vector<ImportItem> items, bool repository, std::optional<model::Cell> place,
                                      const std::string& label, const std::string& client, const std::string& folder = "",
                                      bool recursive = true);
    std::uint64_t queueCheck(const std::string& why);
    void queueRenders();
    // Runs on the io thread after a worker wrote the store.
    void afterWorkerWrite(std::uint64_t revision);
    int engineRate() const;
    std::string projectDir() const;  // library_path/show-<id>
    std::string stored(const std::string& absolute) const;  // data-folder relative when inside it
    std::string absolute(const std::string& stored) const;

    ShowService& show_;
    CommandSink& engine_;
    Broadcast broadcast_;
    std::function<std::size_t()> wsClients_;
    ControlAccess control_;
    std::function<Status()> controlChanged_;
    std::function<void(std::chrono::milliseconds, Learned)> midiLearn_;
    std::function<void()> mappingsChanged_;
    std::function<boost::json::object()> midiStats_;
    std::function<boost::json::object()> clockHistory_;
    std::function<boost::json::object()> controlStats_;
    std::function<void()> resync_;
    std::function<void()> accessChanged_;
    std::function<void(std::function<void()>)> post_;
    std::thread worker_;
    bool busy_ = false;  // io thread
    MediaJobs jobs_;
    AccessControl access_;
    std::shared_ptr<media::FileIndex> index_ = std::make_shared<media::FileIndex>();  // background lane only
    std::set<std::string> rendering_;  // io: render files queued or being made
    std::set<std::string> renderFailed_;  // io: renders that failed (not retried until a restart)
    model::ShowId checkedShow_ = 0;    // io: the show whose media was checked on load
    int lastRate_ = 0;                 // io: the engine's rate when last reported
    // A layout edit; `page` >= 0: it changed only that page (clients get it
    // as an `edit` with the page instead of a fresh snapshot).
    void layoutEdit(const HttpRequest& req, Respond respond,
                    const std::function<Result<std::uint64_t>(const boost::json::value&)>& edit, int page = -1);
    Firmware firmware_;  // its threads stop before the io context goes
    Hasher hasher_;  // last: its thread stops first
};

// A request's JSON object body (application/json). An empty body is an
// empty object, or an error when `required`.
Result<boost::json::object> parseBody(const HttpRequest& req, bool required);
// The value of `key` in the query string ("" if absent); %xx and + decoded.
std::string queryParam(std::string_view target, std::string_view key);
// A clip's default label from a file name (no folder or extension, at most
// 64 bytes, "clip" when that is not a valid label).
std::string labelFromFile(const std::string& file);
// {page, tab, row, col} under `key` (checked; errors name key.member).
Result<model::Cell> cellOf(const boost::json::object& b, const char* key);
// Splits and checks a clip id path segment.
Result<model::ClipId> parseClipId(std::string_view s);

}  // namespace cuebox::web
