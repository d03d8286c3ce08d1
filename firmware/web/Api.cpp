#include "web/Api.h"

#include "base/Log.h"
#include "web/Command.h"
#include "web/OpenApi.h"

#include "model/ShowJson.h"

#include <boost/json.hpp>

#include <chrono>
#include <algorithm>
#include <array>
#include <cstdio>
#include <sys/statvfs.h>
#include <unistd.h>

namespace cuebox::web {
namespace json = boost::json;

namespace {
const auto g_started = std::chrono::steady_clock::now();

Error bad(std::string field, std::string reason) { return makeError(Errc::bad_request, std::move(field), std::move(reason)); }

Errc codeFromName(std::string_view s) {
    if (s == "not_found") return Errc::not_found;
    if (s == "bad_request") return Errc::bad_request;
    if (s == "conflict") return Errc::conflict;
    if (s == "locked") return Errc::locked;
    if (s == "unavailable") return Errc::unavailable;
    return Errc::internal;
}


std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        std::size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        out.push_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}
}  // namespace

int httpStatus(Errc c) {
    switch (c) {
    case Errc::bad_request: return 400;
    case Errc::not_found: return 404;
    case Errc::method_not_allowed: return 405;
    case Errc::conflict: return 409;
    case Errc::forbidden:
    case Errc::csrf:
    case Errc::password_change_required: return 403;
    case Errc::unauthenticated:
    case Errc::setup_required:
    case Errc::bad_credentials: return 401;
    case Errc::too_many_attempts: return 429;
    case Errc::locked: return 423;
    case Errc::payload_too_large: return 413;
    case Errc::unavailable: return 503;
    case Errc::io:
    case Errc::corrupt:
    case Errc::internal: return 500;
    }
    return 500;
}

json::object errorJson(int status, const Error& e) {
    return json::object{{"error", {{"status", status}, {"code", errcName(e.code)}, {"field", e.field}, {"reason", e.reason}}}};
}

HttpResponse errorResponse(const Error& e) {
    const int status = httpStatus(e.code);
    return jsonResponse(status, errorJson(status, e));
}

HttpResponse jsonResponse(int status, const json::object& body) {
    return HttpResponse{status, "application/json", json::serialize(body)};
}

Result<json::object> parseBody(const HttpRequest& req, bool required) {
    if (req.body.empty()) {
        if (required) return bad("body", "is required");
        return json::object{};
    }
    if (req.contentType.rfind("application/json", 0) != 0)
        return makeError(Errc::bad_request, "content-type", "the body must be application/json");
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec) return bad("body", "malformed JSON: " + ec.message());
    if (!v.is_object()) return bad("body", "must be a JSON object");
    return std::move(v.as_object());
}

Result<model::ClipId> parseClipId(std::string_view s) {
    if (s.empty() || s.size() > 18) return bad("id", "clip id must be a positive whole number");
    model::ClipId v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return bad("id", "clip id must be a positive whole number");
        v = v * 10 + static_cast<model::ClipId>(c - '0');
    }
    if (v == 0) return bad("id", "clip id must be a positive whole number");
    return v;
}

// What a locked show still allows: reading, performing (clips, groups,
// audition, panic, recording), the faders (master, monitor and bus levels
// only), switching view mode, page and tab, and taking a recovery point,
// a backup or an export (they change nothing).
bool Api::allowedWhileLocked(const HttpRequest& req, const std::vector<std::string_view>& seg) const {
    if (req.method == "GET" || req.method == "HEAD") return true;
    if (seg.size() < 2) return false;
    const std::string_view top = seg[1];
    auto onlyMembers = [&](std::initializer_list<std::string_view> allowed) {
        auto body = parseBody(req, false);
        if (!body || body->empty()) return false;
        for (const auto& kv : *body)
            if (std::find(allowed.begin(), allowed.end(), std::string_view(kv.key())) == allowed.end()) return false;
        return true;
    };
    if (req.method == "POST") {
        if (top == "clips" && seg.size() == 4) return isClipOp(seg[3]) || seg[3] == "press" || seg[3] == "release";
        if (top == "panic" || top == "audition" || top == "groups" || top == "record") return true;
        if ((top == "recovery" || top == "backups") && seg.size() == 2) return true;
        if (top == "shows" && seg.size() == 4 && seg[3] == "export") return true;
        return false;
    }
    if (req.method == "PATCH") {
        if (top == "audio" && seg.size() == 2) return onlyMembers({"master_db", "monitor_db"});
        if (top == "audio" && seg.size() == 4 && seg[2] == "busses") return onlyMembers({"level_db"});
        if (top == "show" && seg.size() == 2) return onlyMembers({"view_mode", "active_page"});
        if (top == "pages" && seg.size() == 3) return onlyMembers({"active_tab"});
    }
    return false;
}

Status Api::uploadAllowed() const {
    if (show_.lock().locked())
        return makeError(Errc::locked, "lock", "the show is locked for performing: unlock it with the PIN to import");
    return {};
}

void Api::lockRequest(const HttpRequest& req, std::string_view which, Respond& respond) {
    if (req.method == "GET" && which == "lock") return respond(jsonResponse(200, {{"lock", show_.lock().json()}}));
    if (req.method != "POST")
        return respond(errorResponse(makeError(Errc::method_not_allowed, "method", req.method + " is not allowed here (use POST)")));
    auto body = parseBody(req, true);
    if (!body) return respond(errorResponse(body.error()));
    const auto* pin = body->if_contains("pin");
    if (!pin || !pin->is_string()) return respond(errorResponse(bad("pin", "a PIN of 4 to 8 digits is required")));
    // An import running now would go on adding clips to a locked show.
    if (which == "lock" && jobs_.busy(MediaJobs::Lane::imports))
        return respond(errorResponse(makeError(Errc::conflict, "lock", "media imports are running: wait for them or cancel them, then lock")));
    const store::Origin origin{req.client, ""};
    Status st = which == "lock" ? show_.lock().lock(std::string(pin->as_string()), origin)
                                : show_.lock().unlock(std::string(pin->as_string()), origin);
    if (!st) return respond(errorResponse(st.error()));
    const bool locked = show_.lock().locked();
    broadcast_({{"type", "event"}, {"event", "lock"}, {"locked", locked}});
    respond(jsonResponse(200, {{"lock", show_.lock().json()}}));
}

void Api::controlRequest(const HttpRequest& req, const std::vector<std::string_view>& seg, Respond& respond) {
    auto answer = [this](int status) {
        json::object o = control_.toJson();
        if (controlStats_) o["osc"].as_object()["stats"] = controlStats_();
        if (midiStats_) o["midi"].as_object()["stats"] = midiStats_();
        return jsonResponse(status, {{"control", std::move(o)}});
    };
    if (seg.size() == 2) {
        if (req.method != "GET")
            return respond(errorResponse(makeError(Errc::method_not_allowed, "method", req.method + " is not allowed here (use GET)")));
        return respond(answer(200));
    }
    if (seg.size() != 3 || (seg[2] != "osc" && seg[2] != "midi"))
        return respond(errorResponse(makeError(Errc::not_found, "path", "no API at " + req.target)));
    if (req.method != "PATCH")
        return respond(errorResponse(makeError(Errc::method_not_allowed, "method", req.method + " is not allowed here (use PATCH)")));
    auto body = parseBody(req, true);
    if (!body) return respond(errorResponse(body.error()));
    const ControlAccess before = control_;
    const store::Origin origin{req.client, ""};
    if (auto st = seg[2] == "osc" ? control_.patchOsc(*body, origin) : control_.patchMidi(*body, origin); !st)
        return respond(errorResponse(st.error()));
    if (controlChanged_)
        if (auto st = controlChanged_(); !st) {
            // Nothing changes on error: the old settings go back, and the
            // server reopens on them.
            (void)control_.restore(before, origin);
            (void)controlChanged_();
            return respond(errorResponse(makeError(Errc::conflict, st.error().field, st.error().reason)));
        }
    respond(answer(200));
}

void Api::logSystem(const std::string& client, const std::string& detail) {
    if (auto st = show_.store().appendLog({store::LogEntry{0, 0, "system", "web", client, detail, ""}}); !st)
        log::warn("web", "event log: " + st.error().reason);
}

// Field updates (web/Firmware.h). The bundle itself comes as a streamed
// upload (Server.cpp); a POST with another body type lands here.
void Api::firmwareRequest(const HttpRequest& req, const std::vector<std::string_view>& seg, Respond& respond) {
    auto methodNotAllowed = [&](const char* allowed) {
        respond(errorResponse(makeError(Errc::method_not_allowed, "method", req.method + " is not allowed here (use " + allowed + ")")));
    };
    const std::string client = req.client + (req.identity.user.empty() ? "" : " " + req.identity.user);
    if (seg.size() == 2) {
        if (req.method != "GET") return methodNotAllowed("GET");
        return respond(jsonResponse(200, firmware_.status()));
    }
    if (seg.size() == 3 && seg[2] == "bundle") {
        if (req.method != "POST") return methodNotAllowed("POST");
        return respond(errorResponse(makeError(Errc::bad_request, "content-type",
                                               "send the bundle file itself as application/octet-stream")));
    }
    if (seg.size() == 3 && seg[2] == "keys") {
        if (req.method == "GET") return respond(jsonResponse(200, firmware_.keys()));
        if (req.method != "POST") return methodNotAllowed("GET or POST");
        auto body = parseBody(req, true);
        if (!body) return respond(errorResponse(body.error()));
        return respond(firmware_.addKey(*body, client));
    }
    if (seg.size() == 4 && seg[2] == "keys") {
        if (req.method != "DELETE") return methodNotAllowed("DELETE");
        return respond(firmware_.removeKey(std::string(seg[3]), client));
    }
    if (seg.size() == 3 && seg[2] == "install") {
        if (req.method != "POST") return methodNotAllowed("POST");
        return firmware_.install(client, respond);
    }
    if (seg.size() == 3 && seg[2] == "reboot") {
        if (req.method != "POST") return methodNotAllowed("POST");
        auto body = parseBody(req, false);
        if (!body) return respond(errorResponse(body.error()));
        bool force = false;
        for (const auto& kv : *body) {
            if (kv.key() != "force") return respond(errorResponse(bad(std::string(kv.key()), "is not a member of a reboot request (force)")));
            if (!kv.value().is_bool()) return respond(errorResponse(bad("force", "must be true or false")));
            force = kv.value().as_bool();
        }
        return firmware_.reboot(force, client, respond);
    }
    respond(errorResponse(makeError(Errc::not_found, "path", "no API at " + req.target.substr(0, req.target.find('?')))));
}

void Api::handle(const HttpRequest& req, Respond respond) {
    std::string_view path = req.target;
    if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    auto seg = segments(path);  // seg[0] == "api"
    auto methodNotAllowed = [&](const char* allowed) {
        respond(errorResponse(makeError(Errc::method_not_allowed, "method",
                                        req.method + " is not allowed here (use " + allowed + ")")));
    };
    auto notFound = [&] {
        respond(errorResponse(makeError(Errc::not_found, "path", "no API at " + std::string(path))));
    };

    show_.setOrigin(store::Origin{req.client, ""});
    if (handleAccess(req, seg, respond)) return;
    if (seg.size() == 2 && (seg[1] == "lock" || seg[1] == "unlock")) return lockRequest(req, seg[1], respond);
    // Box settings, not the show's: the show lock does not cover them.
    if (seg.size() >= 2 && seg[1] == "control") return controlRequest(req, seg, respond);
    if (show_.lock().locked() && !allowedWhileLocked(req, seg))
        return respond(errorResponse(makeError(Errc::locked, "lock",
                                               "the show is locked for performing: unlock it with the PIN to edit")));
    if (seg.size() >= 2 && seg[1] == "firmware") return firmwareRequest(req, seg, respond);
    if (handleSession(req, seg, respond)) return;
    if (handleMedia(req, seg, respond)) return;
    if (seg.size() == 2 && seg[1] == "show") {
        if (req.method == "PATCH")
            return layoutEdit(req, respond, [this](const json::value& b) { return show_.editShowInfo(b); });
        if (req.method != "GET") return methodNotAllowed("GET or PATCH");
        return respond(HttpResponse{200, "application/json", show_.snapshotText()});
    }
    if (seg.size() >= 3 && seg[1] == "pages") {
        // /api/pages/{p}, /api/pages/{p}/tabs/{t}, /api/pages/{p}/tabs/{t}/cells/{row}/{col}
        std::vector<int> ix;
        for (std::size_t i = 2; i < seg.size(); i += 2) {
            const auto& sv = seg[i];
            if (sv.empty() || sv.size() > 4 || !std::all_of(sv.begin(), sv.end(), [](char c) { return c >= '0' && c <= '9'; }))
                return respond(errorResponse(bad(i == 2 ? "page" : i == 4 ? "tab" : i == 6 ? "row" : "col",
                                                 "must be a whole number from 0")));
            ix.push_back(std::stoi(std::string(sv)));
        }
        if (seg.size() == 3) {
            if (req.method != "PATCH") return methodNotAllowed("PATCH");
            return layoutEdit(req, respond, [this, &ix](const json::value& b) { return show_.editPage(ix[0], b); });
        }
        if (seg.size() == 5 && seg[3] == "tabs") {
            if (req.method != "PATCH") return methodNotAllowed("PATCH");
            return layoutEdit(req, respond, [this, &ix](const json::value& b) { return show_.editTab(ix[0], ix[1], b); }, ix[0]);
        }
        if (seg.size() == 8 && seg[3] == "tabs" && seg[5] == "cells") {
            // The column is the one odd segment the loop above does not check
            // (a "Z" here once threw out of std::stoi and ended the process).
            const auto& cv = seg[7];
            if (cv.empty() || cv.size() > 4 || !std::all_of(cv.begin(), cv.end(), [](char c) { return c >= '0' && c <= '9'; }))
                return respond(errorResponse(bad("col", "must be a whole number from 0")));
            ix.push_back(std::stoi(std::string(cv)));
            if (req.method != "PUT") return methodNotAllowed("PUT");
            return layoutEdit(req, respond, [this, &ix](const json::value& b) { return show_.setCell(ix[0], ix[1], ix[2], ix[3], b); }, ix[0]);
        }
        return notFound();
    }
    if (seg.size() == 2 && seg[1] == "openapi.yaml") {
        if (req.method != "GET") return methodNotAllowed("GET");
        return respond(HttpResponse{200, "application/yaml", std::string(openApiYaml())});
    }
    if (seg.size() == 3 && seg[1] == "show" && seg[2] == "stats") {
        if (req.method != "GET") return methodNotAllowed("GET");
        return respond(jsonResponse(200, show_.stats()));
    }
    if (seg.size() == 3 && seg[1] == "clock" && seg[2] == "history") {
        if (req.method != "GET") return methodNotAllowed("GET");
        return respond(jsonResponse(200, clockHistory_ ? clockHistory_() : json::object{{"sources", json::object{}}, {"switches", json::array{}}}));
    }
    if (seg.size() == 2 && seg[1] == "health") {
        if (req.method != "GET") return methodNotAllowed("GET");
        return respond(jsonResponse(200, health()));
    }
    auto sendCommand = [&](const std::string& op, json::value target) {
        if (req.method != "POST") return methodNotAllowed("POST");
        auto body = parseBody(req, false);
        if (!body) return respond(errorResponse(body.error()));
        engineCommand(op, target, *body, [respond](int status, json::object o) { respond(jsonResponse(status, o)); });
    };
    if (seg.size() == 2 && seg[1] == "panic") return sendCommand("panic", nullptr);
    if (seg.size() == 3 && seg[1] == "audition" && seg[2] == "stop") return sendCommand("stop_audition", nullptr);
    if (seg.size() == 4 && seg[1] == "groups" && seg[3] == "stop") {
        const int bus = model::parseBus(std::string(seg[2]));
        if (bus < 0 || bus == model::kAuditionBusIndex)
            return respond(errorResponse(makeError(Errc::not_found, "group", "no clip group '" + std::string(seg[2]) + "' (A, B, C, D)")));
        return sendCommand("stop_group", json::value(std::string(seg[2])));
    }
    if (seg.size() == 4 && seg[1] == "record" && (seg[3] == "start" || seg[3] == "stop")) {
        if (seg[2] != "A" && seg[2] != "B")
            return respond(errorResponse(makeError(Errc::not_found, "bus", "no record bus '" + std::string(seg[2]) + "' (A, B)")));
        return sendCommand("record_" + std::string(seg[3]), json::value(std::string(seg[2])));
    }
    if (seg.size() >= 2 && seg[1] == "audio") {
        using model::AudioConfig;
        if (seg.size() == 2) {
            if (req.method != "PATCH") return methodNotAllowed("PATCH");
            return editAudio(req, respond, [](AudioConfig& a, const json::value& b) { return model::patchAudio(a, b); });
        }
        if (seg.size() == 4 && seg[2] == "busses") {
            if (req.method != "PATCH") return methodNotAllowed("PATCH");
            const int bus = model::parseBus(std::string(seg[3]));
            if (bus < 0)
                return respond(errorResponse(makeError(Errc::not_found, "bus", "no bus '" + std::string(seg[3]) + "' (A, B, C, D, audition)")));
            return editAudio(req, respond, [bus](AudioConfig& a, const json::value& b) { return model::patchBus(a, bus, b); });
        }
        if (seg.size() == 4 && seg[2] == "outputs") {
            if (req.method != "PATCH") return methodNotAllowed("PATCH");
            auto n = parseClipId(seg[3]);
            if (!n) return respond(errorResponse(makeError(Errc::bad_request, "output", "output must be a number from 1")));
            const int out = static_cast<int>(*n) - 1;
            return editAudio(req, respond, [out](AudioConfig& a, const json::value& b) { return model::patchOutput(a, out, b); });
        }
        if (seg.size() == 3 && seg[2] == "routing") {
            if (req.method != "PUT") return methodNotAllowed("PUT");
            return editAudio(req, respond, [](AudioConfig& a, const json::value& b) { return model::setCrosspoint(a, b); });
        }
        return notFound();
    }
    if ((seg.size() == 3 || seg.size() == 4) && seg[1] == "clips") {
        auto id = parseClipId(seg[2]);
        if (!id) return respond(errorResponse(id.error()));
        if (seg.size() == 3) {
            if (req.method == "GET") {
                const model::Clip* c = show_.show().findClip(*id);
                if (!c) return respond(errorResponse(makeError(Errc::not_found, "id", "no clip with id " + std::to_string(*id))));
                return respond(jsonResponse(200, {{"revision", show_.revision()}, {"clip", model::toJson(*c)}}));
            }
            if (req.method != "PATCH") return methodNotAllowed("GET, PATCH or DELETE");
            return editClip(*id, req, respond);
        }
        const std::string op(seg[3]);
        if (!isClipOp(op)) return notFound();
        return sendCommand(op, json::value(*id));
    }
    notFound();
}

void Api::engineCommand(const std::string& op, const json::value& target, const json::object& args,
                        std::function<void(int, json::object)> done) {
    auto fail = [&](const Error& e) { done(httpStatus(e.code), errorJson(httpStatus(e.code), e)); };
    json::object cmd{{"op", op}};
    const bool clipOp = target.is_number();
    if (clipOp) {
        const auto id = target.to_number<model::ClipId>();
        if (!show_.show().findClip(id)) return fail(makeError(Errc::not_found, "id", "no clip with id " + std::to_string(id)));
        cmd["clip"] = id;
    } else if (op == "stop_group") {
        cmd["group"] = target;
    } else if (op == "record_start" || op == "record_stop") {
        cmd["bus"] = target;
    }
    auto checked = engineArgs(op, args);
    if (!checked) return fail(checked.error());
    for (auto& [k, v] : *checked) cmd[k] = std::move(v);
    // A panic without its own fade uses the show's emergency setting.
    if (op == "panic" && !cmd.contains("fade_ms"))
        cmd["fade_ms"] = show_.show().settings.at("emergency").at("panic_fade_ms");
    engine_.send(std::move(cmd), [done, target, clipOp, op](Result<json::object> r) {
        if (!r) {
            const int status = httpStatus(r.error().code);
            return done(status, errorJson(status, r.error()));
        }
        const json::object& o = *r;
        if (const json::value* ok = o.if_contains("ok"); !ok || !ok->is_bool() || !ok->as_bool()) {
            Error e{codeFromName(o.contains("code") ? std::string_view(o.at("code").as_string()) : "internal"),
                    o.contains("field") ? std::string(o.at("field").as_string()) : "",
                    o.contains("reason") ? std::string(o.at("reason").as_string()) : "refused by the engine"};
            const int status = httpStatus(e.code);
            return done(status, errorJson(status, e));
        }
        json::object res{{"accepted", true}, {"action", o.contains("action") ? o.at("action") : json::value(op)}};
        if (clipOp) res["clip"] = target;
        else if (op == "stop_group") res["group"] = target;
        else if (op == "record_start" || op == "record_stop") res["bus"] = target;
        done(202, res);
    });
}

void Api::layoutEdit(const HttpRequest& req, Respond respond,
                     const std::function<Result<std::uint64_t>(const json::value&)>& edit, int page) {
    if (req.body.empty()) return respond(errorResponse(bad("body", "names nothing to change")));
    auto body = parseBody(req, false);
    if (!body) return respond(errorResponse(body.error()));
    auto rev = edit(json::value(*body));
    if (!rev) return respond(errorResponse(rev.error()));
    respond(jsonResponse(200, {{"revision", *rev}}));
    // An edit inside one page (a tab, a cell) reaches clients as that page;
    // anything else as a fresh snapshot.
    if (page >= 0 && static_cast<std::size_t>(page) < show_.show().pages.size())
        broadcast_({{"type", "edit"}, {"revision", *rev}, {"page", model::pageToJson(show_.show(), static_cast<std::size_t>(page))}});
    else if (resync_)
        resync_();
    engine_.reload(*rev);
}

void Api::editAudio(const HttpRequest& req, Respond respond,
                    const std::function<Status(model::AudioConfig&, const json::value&)>& edit) {
    if (req.body.empty()) return respond(errorResponse(bad("body", "names nothing to change")));
    auto body = parseBody(req, false);
    if (!body) return respond(errorResponse(body.error()));
    const json::value b(*body);
    auto rev = show_.editAudio([&](model::AudioConfig& a) { return edit(a, b); });
    if (!rev) return respond(errorResponse(rev.error()));
    json::object audio = model::toJson(show_.show().audio);
    respond(jsonResponse(200, {{"revision", *rev}, {"audio", audio}}));
    broadcast_({{"type", "edit"}, {"revision", *rev}, {"audio", audio}});
    engine_.reload(*rev);
}

void Api::editClip(model::ClipId id, const HttpRequest& req, Respond respond) {
    if (!show_.show().findClip(id))
        return respond(errorResponse(makeError(Errc::not_found, "id", "no clip with id " + std::to_string(id))));
    if (req.body.empty()) return respond(errorResponse(bad("body", "names no clip member to change")));
    auto body = parseBody(req, false);
    if (!body) return respond(errorResponse(body.error()));
    auto patch = model::parseClipPatch(*body);
    if (!patch) return respond(errorResponse(patch.error()));
    std::string what = "clip " + std::to_string(id) + ":";
    for (const auto& [k, v] : *body) what += " " + std::string(k);
    show_.setOrigin(store::Origin{show_.origin().client, what});
    auto e = show_.editClip(id, *patch);
    if (!e) return respond(errorResponse(e.error()));
    // Committed and synced: now it may be acknowledged and fanned out.
    json::object clip = model::toJson(e->clip);
    respond(jsonResponse(200, {{"revision", e->revision}, {"clip", clip}}));
    broadcast_({{"type", "edit"}, {"revision", e->revision}, {"clip", clip}});
    engine_.reload(e->revision);
}

void Api::command(const json::value& msg, std::function<void(json::object)> reply) {
    json::value req = nullptr;
    auto fail = [&](const Error& e) {
        json::object o = errorJson(httpStatus(e.code), e);
        reply({{"type", "error"}, {"req", req}, {"error", o.at("error")}});
    };
    if (msg.is_object())
        if (auto* r = msg.as_object().if_contains("req")) req = *r;
    auto parsed = parseWsCommand(msg);
    if (!parsed) return fail(parsed.error());
    const std::string& op = parsed->op;
    const json::value& target = parsed->target;
    const json::object& args = parsed->args;
    engineCommand(op, target, args, [reply, req](int status, json::object o) {
        if (status >= 400) return reply({{"type", "error"}, {"req", req}, {"error", o.at("error")}});
        json::object ack{{"type", "ack"}, {"req", req}, {"action", o.at("action")}};
        if (auto* c = o.if_contains("clip")) ack["clip"] = *c;
        if (auto* g = o.if_contains("group")) ack["group"] = *g;
        reply(ack);
    });
}

namespace {
// Memory of the box and of this process, and the data folder's disk: read
// from /proc and statvfs on each request (a few microseconds).
json::object systemHealth(const std::string& dataDir) {
    json::object o;
    if (std::FILE* f = std::fopen("/proc/meminfo", "r")) {
        char key[64];
        unsigned long long kb = 0;
        while (std::fscanf(f, "%63s %llu kB", key, &kb) == 2) {
            if (std::string_view(key) == "MemTotal:") o["memory_total_bytes"] = kb * 1024;
            if (std::string_view(key) == "MemAvailable:") o["memory_available_bytes"] = kb * 1024;
        }
        std::fclose(f);
    }
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        unsigned long long size = 0, rss = 0;
        if (std::fscanf(f, "%llu %llu", &size, &rss) == 2)
            o["web_rss_bytes"] = rss * static_cast<unsigned long long>(::sysconf(_SC_PAGESIZE));
        std::fclose(f);
    }
    struct statvfs vfs {};
    if (::statvfs(dataDir.c_str(), &vfs) == 0) {
        o["disk_total_bytes"] = static_cast<unsigned long long>(vfs.f_blocks) * vfs.f_frsize;
        o["disk_free_bytes"] = static_cast<unsigned long long>(vfs.f_bavail) * vfs.f_frsize;
    }
    o["data_dir"] = dataDir;
    return o;
}
}  // namespace

json::object Api::health() const {
    json::object live = show_.live();
    const bool engineUp = live.at("engine").as_object().at("connected").as_bool();
    const auto up = std::chrono::duration<double>(std::chrono::steady_clock::now() - g_started).count();
    return json::object{
        {"status", engineUp && show_.loaded() ? "ok" : "degraded"},
        {"web", {{"pid", ::getpid()}, {"uptime_s", std::round(up * 10) / 10}, {"ws_clients", wsClients_ ? wsClients_() : 0}}},
        {"engine", live.at("engine")},
        {"store", {{"revision", show_.revision()}, {"show_loaded", show_.loaded()}}},
        {"system", systemHealth(show_.dataDir())},
        {"firmware", {{"version", CUEBOX_VERSION}, {"commit", CUEBOX_COMMIT}, {"built", __DATE__ " " __TIME__}}},
    };
}

}  // namespace cuebox::web
