// The HTTP API and the WebSocket command set of docs/PROTOCOL.md, as plain
// functions of a request: no sockets here, so tests drive it directly.
// io thread only.
#pragma once

#include "web/Http.h"
#include "web/ShowService.h"

#include <boost/json/object.hpp>

#include <functional>
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
        : show_(show), engine_(engine), broadcast_(std::move(broadcast)) {}
    ~Api();
    Api(const Api&) = delete;
    Api& operator=(const Api&) = delete;

    // How a background job's answer gets back to the io thread (net::post
    // in production). Without one, jobs run at once on the caller's thread.
    void setPoster(std::function<void(std::function<void()>)> post) { post_ = std::move(post); }

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
    void importUploaded(const std::string& file, const std::string& target, const std::string& client, Respond respond);
    Result<std::string> exportFile(std::string_view name) const;
    void setClientCounter(std::function<std::size_t()> f) { wsClients_ = std::move(f); }
    // Called after a layout edit: clients get a fresh snapshot.
    void setResync(std::function<void()> f) { resync_ = std::move(f); }

private:
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

    ShowService& show_;
    CommandSink& engine_;
    Broadcast broadcast_;
    std::function<std::size_t()> wsClients_;
    std::function<void()> resync_;
    std::function<void(std::function<void()>)> post_;
    std::thread worker_;
    bool busy_ = false;  // io thread
    void layoutEdit(const HttpRequest& req, Respond respond,
                    const std::function<Result<std::uint64_t>(const boost::json::value&)>& edit);
};

// A request's JSON object body (application/json). An empty body is an
// empty object, or an error when `required`.
Result<boost::json::object> parseBody(const HttpRequest& req, bool required);
// Splits and checks a clip id path segment.
Result<model::ClipId> parseClipId(std::string_view s);

}  // namespace cuebox::web
