// The session-management part of the HTTP API: shows, history/undo/redo,
// recovery points, backups, the event log, settings, control mappings,
// page add/delete, cell moves and search (docs/PROTOCOL.md).
#include "web/Api.h"

#include "media/AudioFile.h"
#include "model/Field.h"
#include "model/ShowJson.h"
#include "store/Backup.h"
#include "store/Bundle.h"
#include "web/LogExport.h"

#include <boost/json.hpp>

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <charconv>

#include "base/Time.h"

namespace cuebox::web {
namespace json = boost::json;

namespace {
Error bad(std::string field, std::string reason) { return makeError(Errc::bad_request, std::move(field), std::move(reason)); }


Result<std::uint64_t> number(std::string_view s, const char* field) {
    std::uint64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return bad(field, "must be a whole number");
    return v;
}

// A body that holds exactly a name.
Result<std::string> nameOf(const json::object& b);
Result<std::string> nameBody(const HttpRequest& req) {
    auto b = parseBody(req, true);
    if (!b) return b.error();
    return nameOf(*b);
}
Result<std::string> nameOf(const json::object& b) {
    for (const auto& [k, v] : b)
        if (k != "name") return bad(std::string(k), "is not accepted here (only name)");
    const json::value* n = b.if_contains("name");
    if (!n) return bad("name", "is required");
    return model::field::text(*n, "name", 1);
}

json::object historyJson(const store::HistoryEntry& e) {
    return {{"seq", e.seq}, {"time", e.time}, {"client", e.client}, {"what", e.what},
            {"revision", e.revision}, {"changes", e.changes}, {"undone", e.undone}};
}
json::object pointJson(const store::RecoveryPoint& p) {
    return {{"id", p.id}, {"name", p.name}, {"kind", p.kind}, {"time", p.time}, {"revision", p.revision}, {"records", p.records}};
}
json::object backupJson(const store::BackupInfo& b) {
    json::object o{{"name", b.name},       {"time", b.time},   {"reason", b.reason},   {"revision", b.revision},
                   {"format_version", b.formatVersion}, {"bytes", b.bytes}, {"sha256", b.sha256}, {"valid", b.valid}};
    if (!b.valid) o["problem"] = b.problem;
    return o;
}
}  // namespace

// The value of `key` in the query string ("" if absent); %xx and + decoded.
std::string queryParam(std::string_view target, std::string_view key) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return {};
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) != key) continue;
        std::string_view raw = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        std::string out;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] == '+') out += ' ';
            else if (raw[i] == '%' && i + 2 < raw.size()) {
                int v = 0;
                auto r = std::from_chars(raw.data() + i + 1, raw.data() + i + 3, v, 16);
                if (r.ec == std::errc()) {
                    out += static_cast<char>(v);
                    i += 2;
                } else {
                    out += raw[i];
                }
            } else out += raw[i];
        }
        return out;
    }
    return {};
}

// A clip's default label: the file name without its extension, at most 64
// bytes cut at a character boundary, "clip" when that is not a valid label.
std::string labelFromFile(const std::string& file) {
    const auto slash = file.find_last_of('/');
    std::string l = file.substr(slash == std::string::npos ? 0 : slash + 1);
    if (auto dot = l.rfind('.'); dot != std::string::npos && dot > 0) l.resize(dot);
    if (l.size() > 64) {
        std::size_t cut = 64;
        while (cut > 0 && (static_cast<unsigned char>(l[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
        l.resize(cut);
    }
    auto ok = model::field::text(json::value(l), "label", 1);
    return ok ? l : std::string("clip");
}

Result<model::Cell> cellOf(const json::object& b, const char* key) {
    const json::value* v = b.if_contains(key);
    if (!v || !v->is_object()) return bad(key, "must be {page, tab, row, col}");
    model::Cell c;
    const std::string k(key);
    for (auto [name, dst, hi] : {std::tuple{"page", &c.page, 254}, std::tuple{"tab", &c.tab, 7},
                                 std::tuple{"row", &c.row, model::kMaxGridSide - 1}, std::tuple{"col", &c.col, model::kMaxGridSide - 1}}) {
        const json::value* x = v->as_object().if_contains(name);
        if (!x) return bad(k + "." + name, "is required");
        auto n = model::field::wholeNumber(*x, k + "." + name, 0, hi);
        if (!n) return n.error();
        *dst = *n;
    }
    return c;
}

void Api::importFile(const std::string& file, const std::string& label, const std::string& name, const std::string& client,
                     Respond& respond) {
    store::Store& st = show_.store();
    if (busy_)
        return respond(errorResponse(makeError(Errc::conflict, "busy", "another import, export or backup is running; try again when it is done")));
    // The loaded show is kept as it was before anything is imported.
    if (auto rp = st.createRecoveryPoint(show_.show().id, "before importing " + label, "before_import"); !rp)
        return respond(errorResponse(rp.error()));
    background(
        [&st, file, dataDir = show_.dataDir(), name, origin = store::Origin{client, "imported bundle " + label}] {
            auto r = store::importBundle(st, file, dataDir, name, origin);
            if (!r) return errorResponse(r.error());
            return jsonResponse(201, {{"id", r->show}, {"revision", r->revision}, {"media_files", r->mediaFiles}});
        },
        respond);
}

void Api::background(std::function<HttpResponse()> job, Respond respond) {
    if (!post_) return respond(job());  // no io thread to come back to (unit tests): at once
    if (busy_)
        return respond(errorResponse(makeError(Errc::conflict, "busy", "another import, export or backup is running; try again when it is done")));
    busy_ = true;
    if (worker_.joinable()) worker_.join();  // the previous job, already finished
    worker_ = std::thread([this, job = std::move(job), respond = std::move(respond)]() mutable {
        HttpResponse r;
        try {
            r = job();
        } catch (const std::exception& e) {  // a job must never take the process down
            r = errorResponse(makeError(Errc::internal, "job", std::string("the job failed: ") + e.what()));
        }
        post_([this, r = std::move(r), respond = std::move(respond)]() mutable {
            busy_ = false;
            respond(std::move(r));
        });
    });
}

Api::~Api() {
    show_.setOnLoad(nullptr);  // the show service outlives us
    jobs_.stop();
    if (worker_.joinable()) worker_.join();
}

void Api::sweepUploads() const {
    // Uploads a stopped process left half-written or never imported.
    auto dir = uploadDir();
    if (!dir) return;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(*dir, ec)) {
        const std::string n = e.path().filename().string();
        if (n.rfind(".upload-", 0) == 0) std::filesystem::remove(e.path(), ec);
    }
}

void Api::importUploaded(const std::string& file, const std::string& target, const std::string& client, Respond respond) {
    std::string name = queryParam(target, "name");
    if (show_.lock().locked()) {
        std::error_code ec;
        std::filesystem::remove(file, ec);
        return respond(errorResponse(
            makeError(Errc::locked, "lock", "the show is locked for performing: unlock it with the PIN to import")));
    }
    if (!name.empty()) {
        auto n = model::field::text(json::value(name), "name", 1);
        if (!n) return respond(errorResponse(n.error()));
    }
    importFile(file, "uploaded by " + client, name, client, respond);
}

Result<std::string> Api::uploadDir() const {
    const std::string dir = mediaPath("import_path");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return makeError(Errc::io, "import_path", "cannot use the import folder '" + dir + "': " + ec.message());
    return dir;
}

Result<std::string> Api::exportFile(std::string_view name) const {
    const bool plain = !name.empty() && name[0] != '.' && name.find('/') == std::string_view::npos &&
                       name.find('\\') == std::string_view::npos && name.size() <= 255 &&
                       name.size() > 7 && name.substr(name.size() - 7) == ".cuebox";
    if (!plain) return bad("name", "must be the name of a .cuebox file in the export folder");
    const std::string file = mediaPath("export_path") + "/" + std::string(name);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) return makeError(Errc::not_found, "name", "no export named '" + std::string(name) + "'");
    return file;
}

std::string Api::mediaPath(const char* member) const {
    std::string p(show_.show().settings.at("media").at(member).as_string());
    return p[0] == '/' ? p : show_.dataDir() + "/" + p;
}

std::string Api::backupRoot() const {
    const auto& rec = show_.show().settings.at("recovery");
    std::string p(rec.at("backup_path").as_string());
    return p[0] == '/' ? p : show_.dataDir() + "/" + p;
}

void Api::storeChanged(Result<std::uint64_t> rev, Respond& respond, json::object extra) {
    if (!rev) return respond(errorResponse(rev.error()));
    if (auto st = show_.load(); !st) return respond(errorResponse(st.error()));
    extra["revision"] = *rev;
    respond(jsonResponse(200, extra));
    if (resync_) resync_();  // every client gets the show as it now is
    engine_.reload(*rev);
}

bool Api::handleSession(const HttpRequest& req, const std::vector<std::string_view>& seg, Respond& respond) {
    store::Store& st = show_.store();
    const model::ShowId current = show_.show().id;
    show_.setOrigin(store::Origin{req.client, ""});
    auto method = [&](const char* allowed) {
        respond(errorResponse(makeError(Errc::method_not_allowed, "method", req.method + " is not allowed here (use " + allowed + ")")));
        return true;
    };
    auto fail = [&](const Error& e) {
        respond(errorResponse(e));
        return true;
    };
    auto origin = [&](std::string what) { return store::Origin{req.client, std::move(what)}; };
    const std::string_view top = seg.size() > 1 ? seg[1] : std::string_view{};

    if (top == "shows") {
        if (seg.size() == 2) {
            if (req.method == "GET") {
                auto shows = st.listShows();
                if (!shows) return fail(shows.error());
                json::array a;
                for (const auto& s : *shows) a.push_back({{"id", s.id}, {"name", s.name}, {"clips", s.clips}, {"loaded", s.loaded}});
                respond(jsonResponse(200, {{"shows", std::move(a)}}));
                return true;
            }
            if (req.method != "POST") return method("GET or POST");
            auto name = nameBody(req);
            if (!name) return fail(name.error());
            model::Show s;
            s.name = *name;
            s.pages.push_back(model::makePage("Page 1"));
            auto id = st.createShow(std::move(s), false, origin("created show '" + *name + "'"));
            if (!id) return fail(id.error());
            respond(jsonResponse(201, {{"id", *id}, {"name", *name}}));
            return true;
        }
        if (seg.size() == 3 && seg[2] == "import") {
            if (req.method != "POST") return method("POST");
            auto b = parseBody(req, true);
            if (!b) return fail(b.error());
            std::string name;
            const json::value* p = b->if_contains("path");
            if (!p || !p->is_string() || p->as_string().empty())
                return fail(bad("path", "must name the bundle file (in the import folder, or an absolute path)"));
            for (const auto& [k, v] : *b) {
                if (k == "name") {
                    auto n = model::field::text(v, "name", 1);
                    if (!n) return fail(n.error());
                    name = *n;
                } else if (k != "path") {
                    return fail(bad(std::string(k), "is not accepted here (path, name)"));
                }
            }
            const std::string path(p->as_string());
            if (path.find("..") != std::string::npos) return fail(bad("path", "must not contain '..'"));
            importFile(path[0] == '/' ? path : mediaPath("import_path") + "/" + path, path, name, req.client, respond);
            return true;
        }
        auto id = number(seg[2], "id");
        if (!id) return fail(id.error());
        if (seg.size() == 4 && seg[3] == "export") {
            if (req.method != "POST") return method("POST");
            auto s = st.loadShow(*id);
            if (!s) return fail(s.error());
            std::string base;
            for (char c : s->name) base += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
            std::string stamp = isoNow();
            for (char& c : stamp)
                if (c == ':') c = '-';
            const std::string file = mediaPath("export_path") + "/" + base + "-" + stamp + ".cuebox";
            background(
                [&st, show = *id, dataDir = show_.dataDir(), file] {
                    auto e = store::exportBundle(st, show, dataDir, file);
                    if (!e) return errorResponse(e.error());
                    return jsonResponse(201, {{"file", file}, {"name", file.substr(file.find_last_of('/') + 1)}, {"bytes", e->bytes},
                                              {"sha256", e->sha256}, {"media_files", e->mediaFiles}, {"missing_media", e->missingMedia}});
                },
                respond);
            return true;
        }
        if (seg.size() == 3) {
            if (req.method == "DELETE") {
                // A deleted show takes its history and recovery points with
                // it: a backup of the store is taken first.
                if (auto s = st.loadShow(*id); !s) return fail(s.error());
                if (*id == current)
                    return fail(makeError(Errc::conflict, "show", "show " + std::to_string(*id) + " is loaded: load another show first"));
                const auto keep = show_.show().settings.at("recovery").at("backup_keep").to_number<std::size_t>();
                if (auto b = store::createBackup(st, backupRoot(), "before deleting show " + std::to_string(*id), keep); !b)
                    return fail(b.error());
                auto rev = st.deleteShow(*id, origin("deleted show " + std::to_string(*id)));
                if (!rev) return fail(rev.error());
                respond(jsonResponse(200, {{"revision", *rev}, {"deleted", *id}}));
                return true;
            }
            if (req.method != "PATCH") return method("PATCH or DELETE");
            auto name = nameBody(req);
            if (!name) return fail(name.error());
            auto s = st.loadShow(*id);
            if (!s) return fail(s.error());
            s->name = *name;
            auto rev = st.updateShowInfo(*s, origin("renamed show " + std::to_string(*id) + " to '" + *name + "'"));
            if (*id == current) storeChanged(rev, respond);
            else if (!rev) return fail(rev.error());
            else respond(jsonResponse(200, {{"revision", *rev}}));
            return true;
        }
        if (seg.size() == 4 && seg[3] == "duplicate") {
            if (req.method != "POST") return method("POST");
            auto name = nameBody(req);
            if (!name) return fail(name.error());
            auto copy = st.duplicateShow(*id, *name, origin("duplicated show " + std::to_string(*id)));
            if (!copy) return fail(copy.error());
            respond(jsonResponse(201, {{"id", *copy}, {"name", *name}}));
            return true;
        }
        if (seg.size() == 4 && seg[3] == "load") {
            if (req.method != "POST") return method("POST");
            storeChanged(st.setLoadedShow(*id, origin("loaded show " + std::to_string(*id))), respond, {{"loaded", *id}});
            return true;
        }
        return false;
    }
    if ((top == "undo" || top == "redo") && seg.size() == 2) {
        if (req.method != "POST") return method("POST");
        storeChanged(top == "undo" ? st.undo(current, origin("")) : st.redo(current, origin("")), respond);
        return true;
    }
    if (top == "history" && seg.size() == 2) {
        if (req.method != "GET") return method("GET");
        std::uint64_t limit = 100;
        if (auto l = queryParam(req.target, "limit"); !l.empty()) {
            auto n = number(l, "limit");
            if (!n || *n == 0 || *n > 1000) return fail(bad("limit", "must be from 1 to 1000"));
            limit = *n;
        }
        auto h = st.history(current, limit);
        if (!h) return fail(h.error());
        json::array a;
        for (const auto& e : *h) a.push_back(historyJson(e));
        json::object o{{"show", current}, {"entries", std::move(a)}};
        o["store"] = show_.storeInfo();
        respond(jsonResponse(200, o));
        return true;
    }
    if (top == "recovery") {
        if (seg.size() == 2) {
            if (req.method == "GET") {
                auto p = st.recoveryPoints(current);
                if (!p) return fail(p.error());
                json::array a;
                for (const auto& x : *p) a.push_back(pointJson(x));
                respond(jsonResponse(200, {{"show", current}, {"points", std::move(a)}}));
                return true;
            }
            if (req.method != "POST") return method("GET or POST");
            auto name = nameBody(req);
            if (!name) return fail(name.error());
            auto p = st.createRecoveryPoint(current, *name, "named");
            if (!p) return fail(p.error());
            respond(jsonResponse(201, pointJson(*p)));
            return true;
        }
        auto id = number(seg[2], "id");
        if (!id) return fail(id.error());
        if (seg.size() == 3) {
            if (req.method != "DELETE") return method("DELETE");
            auto s = st.deleteRecoveryPoint(current, *id);
            if (!s) return fail(s.error());
            respond(jsonResponse(200, {{"deleted", *id}}));
            return true;
        }
        if (seg.size() == 4 && seg[3] == "restore") {
            if (req.method != "POST") return method("POST");
            if (jobs_.busy(MediaJobs::Lane::imports))
                return fail(makeError(Errc::conflict, "busy", "media is being imported; restore when it is done"));
            storeChanged(st.restoreRecoveryPoint(current, *id, origin("")), respond);
            return true;
        }
        return false;
    }
    if (top == "backups") {
        if (seg.size() == 2) {
            if (req.method == "GET") {
                json::array a;
                for (const auto& b : store::listBackups(backupRoot())) a.push_back(backupJson(b));
                respond(jsonResponse(200, {{"location", backupRoot()}, {"backups", std::move(a)}}));
                return true;
            }
            if (req.method != "POST") return method("GET or POST");
            const auto keep = show_.show().settings.at("recovery").at("backup_keep").to_number<std::size_t>();
            background(
                [&st, root = backupRoot(), reason = "requested by " + req.client, keep] {
                    auto b = store::createBackup(st, root, reason, keep);
                    if (!b) return errorResponse(b.error());
                    return jsonResponse(201, backupJson(*b));
                },
                respond);
            return true;
        }
        if (seg.size() == 4 && seg[3] == "restore") {
            if (req.method != "POST") return method("POST");
            if (busy_ || jobs_.busy(MediaJobs::Lane::imports))
                return fail(makeError(Errc::conflict, "busy", "an import, export or backup is running; restore when it is done"));
            storeChanged(store::restoreBackup(st, backupRoot(), std::string(seg[2]), origin("restored backup " + std::string(seg[2]))),
                         respond);
            return true;
        }
        return false;
    }
    if (top == "log" && seg.size() == 2) {
        if (req.method != "GET") return method("GET");
        LogFormat f = LogFormat::json;
        if (auto fs = queryParam(req.target, "format"); !fs.empty() && !parseLogFormat(fs, f))
            return fail(bad("format", "must be csv, json or xml"));
        std::uint64_t from = 0, to = UINT64_MAX, limit = 10000;
        for (auto [key, dst] : {std::pair{"from_ns", &from}, std::pair{"to_ns", &to}, std::pair{"limit", &limit}}) {
            if (auto v = queryParam(req.target, key); !v.empty()) {
                auto n = number(v, key);
                if (!n) return fail(n.error());
                *dst = *n;
            }
        }
        if (limit == 0 || limit > 100000) return fail(bad("limit", "must be from 1 to 100000"));
        const std::string order = queryParam(req.target, "order");
        if (!order.empty() && order != "oldest" && order != "newest") return fail(bad("order", "must be oldest or newest"));
        // The kind filter applies before the limit: limit=200&kind=fault is
        // the last 200 faults, however many other entries there are.
        auto entries = st.readLog(from, to, limit, order == "newest", queryParam(req.target, "kind"));
        if (!entries) return fail(entries.error());
        respond(HttpResponse{200, contentType(f), exportLog(*entries, f)});
        return true;
    }
    if (top == "settings") {
        if (seg.size() == 2) {
            if (req.method != "GET") return method("GET");
            json::object values;
            for (const auto& [name, v] : show_.show().settings) values[name] = v;
            respond(jsonResponse(200, {{"revision", show_.revision()}, {"settings", values}, {"schema", model::settingsSchema()}}));
            return true;
        }
        if (seg.size() != 3) return false;
        if (req.method != "PATCH") return method("PATCH");
        auto b = parseBody(req, true);
        if (!b) return fail(b.error());
        show_.setOrigin(origin("settings " + std::string(seg[2])));
        auto rev = show_.editSettings(std::string(seg[2]), json::value(*b));
        if (!rev) return fail(rev.error());
        json::object values = show_.show().settings.at(std::string(seg[2]));
        respond(jsonResponse(200, {{"revision", *rev}, {"section", seg[2]}, {"values", values}}));
        broadcast_({{"type", "edit"}, {"revision", *rev}, {"settings", {{std::string(seg[2]), values}}}});
        engine_.reload(*rev);
        return true;
    }
    if (top == "mappings") {
        if (seg.size() == 2 && req.method == "GET") {
            json::array a;
            for (const auto& m : show_.show().mappings) {
                json::object o = m.data;
                o["id"] = m.id;
                a.push_back(std::move(o));
            }
            respond(jsonResponse(200, {{"revision", show_.revision()}, {"mappings", std::move(a)}}));
            return true;
        }
        if (seg.size() == 3 && seg[2] == "learn") {
            // The mapping as for POST, without source and address: those come
            // from the next MIDI or MSC message (within timeout_ms, 10 s).
            if (req.method != "POST") return method("POST");
            auto b = parseBody(req, true);
            if (!b) return fail(b.error());
            int timeoutMs = 10000;
            if (const json::value* t = b->if_contains("timeout_ms")) {
                if (!t->is_int64() || t->as_int64() < 500 || t->as_int64() > 60000) return fail(bad("timeout_ms", "must be 500 to 60000"));
                timeoutMs = static_cast<int>(t->as_int64());
                b->erase("timeout_ms");
            }
            if (b->contains("source") || b->contains("address"))
                return fail(bad("source", "learn takes source and address from the next MIDI message: leave them out"));
            // Check the rest now, with a stand-in address of the kind the action needs.
            json::object probe = *b;
            const json::value* act = b->if_contains("action");
            const bool level = act && act->is_string() && act->as_string().ends_with("_level");
            probe["source"] = "midi";
            probe["address"] = level ? "cc/1/1" : "note/1/1";
            auto m = model::parseMapping(probe);
            if (!m) return fail(m.error());
            if (const json::value* c = m->if_contains("clip"); c && !show_.show().findClip(c->to_number<model::ClipId>()))
                return fail(makeError(Errc::not_found, "clip", "no clip with id " + std::to_string(c->to_number<model::ClipId>())));
            if (!midiLearn_) return fail(makeError(Errc::unavailable, "learn", "MIDI is not available"));
            midiLearn_(std::chrono::milliseconds(timeoutMs), [this, body = *b, respond](Result<std::pair<std::string, std::string>> got) {
                if (!got) return respond(errorResponse(got.error()));
                json::object m = body;
                m["source"] = got->first;
                m["address"] = got->second;
                show_.setOrigin(store::Origin{"", "learned mapping " + got->first + " " + got->second});
                auto r = show_.putMapping(0, json::value(m));
                if (!r) return respond(errorResponse(r.error()));
                m["id"] = r->first;
                respond(jsonResponse(201, {{"revision", r->second}, {"id", r->first}, {"mapping", m}}));
                if (resync_) resync_();
                if (mappingsChanged_) mappingsChanged_();
            });
            return true;
        }
        std::uint64_t id = 0;
        if (seg.size() == 3) {
            auto n = number(seg[2], "id");
            if (!n || *n == 0) return fail(bad("id", "must be a mapping id"));
            id = *n;
            if (req.method == "DELETE") {
                show_.setOrigin(origin("deleted mapping " + std::to_string(id)));
                auto rev = show_.deleteMapping(id);
                if (!rev) return fail(rev.error());
                respond(jsonResponse(200, {{"revision", *rev}, {"deleted", id}}));
                if (resync_) resync_();
                if (mappingsChanged_) mappingsChanged_();
                return true;
            }
            if (req.method != "PUT") return method("PUT or DELETE");
        } else if (seg.size() != 2 || req.method != "POST") {
            return method("GET or POST");
        }
        auto b = parseBody(req, true);
        if (!b) return fail(b.error());
        show_.setOrigin(origin(id ? "mapping " + std::to_string(id) : "new mapping"));
        auto r = show_.putMapping(id, json::value(*b));
        if (!r) return fail(r.error());
        respond(jsonResponse(id ? 200 : 201, {{"revision", r->second}, {"id", r->first}}));
        if (resync_) resync_();
        if (mappingsChanged_) mappingsChanged_();
        return true;
    }
    if (top == "pages" && seg.size() == 2) {
        if (req.method != "POST") return method("POST");
        auto name = nameBody(req);
        if (!name) return fail(name.error());
        storeChanged(st.addPage(current, model::makePage(*name), origin("added page '" + *name + "'")), respond,
                     {{"page", show_.show().pages.size()}});
        return true;
    }
    if (top == "pages" && seg.size() == 3 && req.method == "DELETE") {
        auto p = number(seg[2], "page");
        if (!p) return fail(p.error());
        if (*p >= show_.show().pages.size()) return fail(makeError(Errc::not_found, "page", "no page " + std::string(seg[2])));
        storeChanged(st.deletePage(current, static_cast<int>(*p), origin("deleted page " + std::string(seg[2]))), respond);
        return true;
    }
    if (top == "cells" && seg.size() == 3 && seg[2] == "move") {
        if (req.method != "POST") return method("POST");
        auto b = parseBody(req, true);
        if (!b) return fail(b.error());
        for (const auto& [k, v] : *b)
            if (k != "from" && k != "to") return fail(bad(std::string(k), "is not accepted here (from, to)"));
        auto from = cellOf(*b, "from");
        if (!from) return fail(from.error());
        auto to = cellOf(*b, "to");
        if (!to) return fail(to.error());
        const auto& pages = show_.show().pages;
        for (auto [c, name] : {std::pair{&*from, "from"}, std::pair{&*to, "to"}}) {
            const std::string n(name);
            if (c->page >= static_cast<int>(pages.size())) return fail(makeError(Errc::not_found, n + ".page", "no such page"));
            const auto& g = pages[static_cast<std::size_t>(c->page)].tabs[static_cast<std::size_t>(c->tab)].grid;
            if (c->row >= g.rows || c->col >= g.cols) return fail(bad(n, "is outside the grid"));
        }
        storeChanged(st.moveCell(current, *from, *to, origin("moved a cell")), respond);
        return true;
    }
    if (top == "clips" && seg.size() == 2) {
        if (req.method != "POST") return method("POST");
        auto b = parseBody(req, true);
        if (!b) return fail(b.error());
        // The media: a library record (its converted file plays), or a plain
        // relative path inside the data folder that libsndfile can read.
        model::Clip c;
        if (const json::value* mv = b->if_contains("media")) {
            if (b->contains("file")) return fail(bad("file", "give media or file, not both"));
            if (!mv->is_string() || !model::validMediaId(std::string(mv->as_string())))
                return fail(bad("media", "must be a media id (the content hash GET /api/media lists)"));
            const model::MediaRecord* m = show_.show().findMedia(std::string(mv->as_string()));
            if (!m) return fail(makeError(Errc::not_found, "media", "no media " + std::string(mv->as_string()) + " in this show"));
            c.file = m->file;
            c.media = m->id;
            c.label = labelFromFile(m->name);
            c.channels = m->sourceChannels;
            if (auto* d = m->analysis.if_contains("duration_s"); d && d->is_number()) c.durationS = d->to_number<double>();
        } else {
            const json::value* fv = b->if_contains("file");
            if (!fv || !fv->is_string()) return fail(bad("file", "is required (or media): the media file, relative to the data folder"));
            const std::string file(fv->as_string());
            if (file.size() > 255 || !model::field::plainPath(file, false)) return fail(bad("file", "must be a relative path inside the data folder, without '.' or '..'"));
            auto info = media::probeAudioFile(show_.dataDir() + "/" + file);
            if (!info) return fail(bad("file", info.error().reason));
            if (info->channels < 1 || info->channels > 8 || info->frames <= 0)
                return fail(bad("file", "must hold 1 to 8 channels and at least one frame"));
            c.file = file;
            c.label = labelFromFile(file);
            c.channels = info->channels;
            c.durationS = info->durationS();
        }
        std::optional<model::Cell> cell;
        if (b->contains("cell")) {
            auto c = cellOf(*b, "cell");
            if (!c) return fail(c.error());
            const auto& pages = show_.show().pages;
            if (c->page >= static_cast<int>(pages.size())) return fail(makeError(Errc::not_found, "cell.page", "no such page"));
            const auto& g = pages[static_cast<std::size_t>(c->page)].tabs[static_cast<std::size_t>(c->tab)].grid;
            if (c->row >= g.rows || c->col >= g.cols) return fail(bad("cell", "is outside the grid"));
            cell = *c;
        }
        json::object members = *b;
        members.erase("file");
        members.erase("media");
        members.erase("cell");
        if (!members.empty()) {
            auto patch = model::parseClipPatch(members);
            if (!patch) return fail(patch.error());
            patch->applyTo(c);
        }
        auto added = st.addClip(current, c, cell, origin("added clip '" + c.label + "'"));
        if (!added) return fail(added.error());
        if (auto l = show_.load(); !l) return fail(l.error());
        respond(jsonResponse(201, {{"revision", added->revision}, {"clip", model::toJson(added->clip)}}));
        if (resync_) resync_();
        engine_.reload(added->revision);
        return true;
    }
    if (top == "clips" && seg.size() == 3 && req.method == "DELETE") {
        auto id = parseClipId(seg[2]);
        if (!id) return fail(id.error());
        if (!show_.show().findClip(*id)) return fail(makeError(Errc::not_found, "id", "no clip with id " + std::to_string(*id)));
        // Whatever of it is sounding fades out first (the engine takes
        // commands in order: the stop, then the reload without the clip),
        // but only when the delete can be stored.
        if (!st.readOnlyReason().empty())
            return fail(makeError(Errc::conflict, "store", "the store is read-only: " + st.readOnlyReason()));
        engine_.send(json::object{{"op", "stop"}, {"clip", *id}}, [](Result<json::object>) {});
        storeChanged(st.deleteClip(current, *id, origin("deleted clip " + std::to_string(*id))), respond, {{"deleted", *id}});
        return true;
    }
    if (top == "search" && seg.size() == 2) {
        if (req.method != "GET") return method("GET");
        const std::string q = queryParam(req.target, "q");
        if (q.empty() || q.size() > 64) return fail(bad("q", "must be 1 to 64 bytes"));
        auto ids = st.search(current, q, 500);
        if (!ids) return fail(ids.error());
        json::array a;
        for (auto id : *ids) a.push_back(id);
        respond(jsonResponse(200, {{"q", q}, {"clips", std::move(a)}}));
        return true;
    }
    if (top == "exports" && seg.size() == 2) {
        if (req.method != "GET") return method("GET");
        json::array a;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(mediaPath("export_path"), ec)) {
            const std::string n = e.path().filename().string();
            if (!e.is_regular_file() || n.size() < 8 || n.substr(n.size() - 7) != ".cuebox") continue;
            a.push_back({{"name", n}, {"bytes", e.file_size()}});
        }
        respond(jsonResponse(200, {{"location", mediaPath("export_path")}, {"exports", std::move(a)}}));
        return true;
    }
    if (top == "platform" && seg.size() == 2) {
        if (req.method != "GET") return method("GET");
        // Platform specifics and performance settings as the box sees them
        // now: OS, hardware, the engine's JACK buffer and scheduling, and
        // the resource limits the web process runs under.
        utsname u{};
        ::uname(&u);
        rlimit memlock{}, rtprio{};
        ::getrlimit(RLIMIT_MEMLOCK, &memlock);
        ::getrlimit(RLIMIT_RTPRIO, &rtprio);
        auto lim = [](rlim_t v) { return v == RLIM_INFINITY ? json::value("unlimited") : json::value(static_cast<std::uint64_t>(v)); };
        json::object live = show_.live();
        const json::object& eng = live.at("engine").as_object();
        json::object engine{{"connected", eng.contains("connected") ? eng.at("connected") : json::value(false)}};
        for (const char* k : {"sample_rate", "period", "scheduling", "client"})
            if (eng.contains(k)) engine[k] = eng.at(k);
        respond(jsonResponse(200, {{"os", {{"system", u.sysname}, {"release", u.release}, {"version", u.version}}},
                                   {"hardware", {{"machine", u.machine},
                                                 {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
                                                 {"memory_bytes", static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                                                                      static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE))}}},
                                   {"engine", std::move(engine)},
                                   {"limits", {{"memlock", lim(memlock.rlim_cur)}, {"rtprio", lim(rtprio.rlim_cur)}}},
                                   {"settings", show_.show().settings.at("platform")}}));
        return true;
    }
    if (top == "store" && seg.size() == 2) {
        if (req.method != "GET") return method("GET");
        json::object o = show_.storeInfo();
        json::array m;
        if (auto ms = st.migrations(); ms)
            for (const auto& x : *ms) m.push_back({{"from", x.from}, {"to", x.to}, {"time", x.time}, {"backup", x.backup}});
        o["migrations"] = std::move(m);
        o["revision"] = show_.revision();
        // Compatibility: what this firmware reads and writes.
        o["compatibility"] = {{"writes_format", store::kFormatVersion},
                              {"migrates_from", 1},
                              {"newer_formats", "opened read-only"},
                              {"bundle_version", store::kBundleVersion}};
        respond(jsonResponse(200, o));
        return true;
    }
    return false;
}

}  // namespace cuebox::web
