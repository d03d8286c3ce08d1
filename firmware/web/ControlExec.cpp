#include "web/ControlExec.h"

#include "web/Api.h"
#include "web/ShowService.h"

#include <boost/json.hpp>

namespace cuebox::web {
namespace json = boost::json;

namespace {
std::string errorBody(const Error& e) { return json::serialize(errorJson(httpStatus(e.code), e)); }
}  // namespace

std::string describeError(const std::string& body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return body.substr(0, 200);
    const json::value* err = v.as_object().if_contains("error");
    if (!err || !err->is_object()) return body.substr(0, 200);
    auto text = [&err](const char* k) {
        const json::value* x = err->as_object().if_contains(k);
        return x && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    const std::string field = text("field");
    return (field.empty() ? "" : field + ": ") + text("reason");
}

void ControlExec::call(const std::string& client, std::string method, std::string target, json::object body, Done done) {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.contentType = "application/json";
    if (!body.empty()) req.body = json::serialize(body);
    req.client = client;
    api_.handle(req, [done = std::move(done)](HttpResponse res) { done(res.status, std::move(res.body)); });
}

bool ControlExec::run(const ControlRequest& r, const std::string& client, Done done) {
    using K = ControlRequest::Kind;
    const model::Show& sh = show_.show();
    // A newly loaded show starts with its playhead at its first clip.
    if (sh.id != playheadShow_) {
        playheadShow_ = sh.id;
        playhead_ = 0;
    }
    auto fail = [&](const Error& e) {
        done(httpStatus(e.code), errorBody(e));
        return true;
    };
    auto clipCall = [&](model::ClipId id) {
        if (r.op == "level") {
            call(client, "PATCH", "/api/clips/" + std::to_string(id), {{"level_db", r.levelDb}}, std::move(done));
            return true;
        }
        json::object body;
        if (r.fadeMs >= 0) body["fade_ms"] = r.fadeMs;
        if (r.gainDb && r.op == "start") body["gain_db"] = *r.gainDb;
        call(client, "POST", "/api/clips/" + std::to_string(id) + "/" + r.op, std::move(body), std::move(done));
        return true;
    };
    switch (r.kind) {
    case K::clip: return clipCall(r.clip);
    case K::cell: {
        const model::Cell* cell = nullptr;
        for (const auto& c : sh.cells)
            if (c.page == r.page && c.tab == r.tab && c.row == r.row && c.col == r.col) cell = &c;
        if (!cell)
            return fail(makeError(Errc::not_found, "cell",
                                  "no clip in page " + std::to_string(r.page + 1) + ", tab " + std::to_string(r.tab + 1) + ", row " +
                                      std::to_string(r.row + 1) + ", column " + std::to_string(r.col + 1)));
        const auto& grid = sh.pages[static_cast<std::size_t>(r.page)].tabs[static_cast<std::size_t>(r.tab)].grid;
        if (r.row >= grid.rows || r.col >= grid.cols)
            return fail(makeError(Errc::not_found, "cell", "the cell is outside the tab's grid (hidden)"));
        return clipCall(cell->clip);
    }
    case K::group: {
        const std::string g(1, r.group);
        if (r.op == "level") {
            call(client, "PATCH", "/api/audio/busses/" + g, {{"level_db", r.levelDb}}, std::move(done));
            return true;
        }
        json::object body;
        if (r.fadeMs >= 0) body["fade_ms"] = r.fadeMs;
        call(client, "POST", "/api/groups/" + g + "/stop", std::move(body), std::move(done));
        return true;
    }
    case K::master: call(client, "PATCH", "/api/audio", {{"master_db", r.levelDb}}, std::move(done)); return true;
    case K::panic: {
        json::object body;
        if (r.fadeMs >= 0) body["fade_ms"] = r.fadeMs;
        call(client, "POST", "/api/panic", std::move(body), std::move(done));
        return true;
    }
    case K::stopAudition: call(client, "POST", "/api/audition/stop", {}, std::move(done)); return true;
    case K::page: call(client, "PATCH", "/api/show", {{"active_page", r.value}}, std::move(done)); return true;
    case K::tab: {
        const int page = r.page >= 0 ? r.page : sh.activePage;
        call(client, "PATCH", "/api/pages/" + std::to_string(page), {{"active_tab", r.value}}, std::move(done));
        return true;
    }
    case K::go: {
        const model::Clip* next = nullptr;
        for (const auto& c : sh.clips)
            if (c.id >= playhead_) {
                next = &c;
                break;
            }
        if (!next) return fail(makeError(Errc::conflict, "playhead", "the playhead is past the last clip"));
        // The playhead moves on only when the start was accepted: a refused
        // GO (overload, locked media) is tried again by the next /go.
        const model::ClipId id = next->id;
        call(client, "POST", "/api/clips/" + std::to_string(id) + "/start", {},
             [this, id, done = std::move(done)](int status, std::string body) {
                 if (status < 400 && playhead_ <= id) playhead_ = id + 1;
                 done(status, std::move(body));
             });
        return true;
    }
    case K::select:
        if (!sh.findClip(r.clip)) return fail(makeError(Errc::not_found, "clip", "no clip " + std::to_string(r.clip)));
        playhead_ = r.clip;
        done(200, json::serialize(json::object{{"playhead", playhead_}}));
        return true;
    case K::query:
    case K::subscribe:
    case K::replies:
    case K::connect: return false;
    }
    return false;
}

}  // namespace cuebox::web
