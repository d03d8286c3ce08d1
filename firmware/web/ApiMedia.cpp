// The media library part of the HTTP API (docs/PROTOCOL.md, "Media"):
// imports (browser uploads, folders on a stick or share, record A/B takes),
// the library's records, media checks with missing-file reconciliation, and
// tempo/pitch renders. The slow work runs on MediaJobs' workers; they write
// the store themselves (LMDB serialises writers) and the io thread then
// re-reads the show.
#include "web/Api.h"

#include "base/Time.h"
#include "media/Import.h"
#include "media/Render.h"
#include "model/Field.h"
#include "model/ShowJson.h"

#include <boost/json.hpp>

#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace cuebox::web {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

Error bad(std::string field, std::string reason) { return makeError(Errc::bad_request, std::move(field), std::move(reason)); }

// File name extensions a folder import picks up (a named file is tried
// whatever its name).
bool audioExtension(const fs::path& p) {
    std::string e = p.extension().string();
    for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* x : {".wav", ".wave", ".bwf", ".rf64", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga", ".opus",
                          ".mp3", ".caf", ".w64"})
        if (e == x) return true;
    return false;
}

// The audio files (by extension; hidden entries skipped) of a folder, in
// name order; a problem in words, or "" when fine.
std::string listAudio(const std::string& path, bool recursive, std::vector<std::string>& found) {
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
        found.push_back(path);
        return "";
    }
    if (!fs::is_directory(path, ec)) return "no file or folder at '" + path + "'";
    auto take = [&](const fs::directory_entry& e) {
        const std::string n = e.path().filename().string();
        std::error_code fec;
        if (!n.empty() && n[0] != '.' && e.is_regular_file(fec) && audioExtension(e.path())) found.push_back(e.path().string());
    };
    if (recursive) {
        for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
            std::error_code dec;
            if (it->is_directory(dec) && it->path().filename().string()[0] == '.') it.disable_recursion_pending();
            else take(*it);
            if (found.size() > 10000) break;
        }
    } else {
        for (const auto& e : fs::directory_iterator(path, ec)) take(e);
    }
    if (found.size() > 10000) return "'" + path + "' holds more than 10000 audio files: import a smaller folder";
    if (found.empty()) return "no audio files in '" + path + "'";
    std::sort(found.begin(), found.end());
    return "";
}

json::object mediaSummary(const model::MediaRecord& m) {
    json::object o = model::toJson(m, false);
    // The beat list can be long: GET /api/media/{id} has it.
    if (auto* t = o["analysis"].as_object().if_contains("tempo"); t && t->is_object()) {
        json::object& tempo = t->as_object();
        if (auto* b = tempo.if_contains("beats"); b && b->is_array()) {
            tempo["beat_count"] = b->as_array().size();
            tempo.erase("beats");
        }
    }
    return o;
}

json::array usedBy(const model::Show& s, const std::string& id) {
    json::array a;
    for (const auto& c : s.clips)
        if (c.media == id) a.push_back(c.id);
    return a;
}

// `path` first, then the earlier known good paths (at most 5 kept).
json::array goodPaths(const std::string& path, const json::array& earlier) {
    json::array good{json::value(path)};
    for (const auto& p : earlier)
        if (good.size() < 5 && p != good[0]) good.push_back(p);
    return good;
}

// A check record after a relink from `from` to `to` (by the check, "auto",
// or the operator, "user"): recorded in its history, `to` now known good.
void markRelinked(model::MediaCheck& c, const std::string& from, const std::string& to, const char* how,
              const std::string& by, double score, const char* reason) {
    c.history.push_back(json::object{{"at", isoNow()}, {"from", from}, {"to", to}, {"how", how},
                                     {"by", by}, {"score", score}, {"reason", reason}});
    c.status = "ok";
    c.path = to;
    c.lastKnownGood = goodPaths(to, c.lastKnownGood);
    c.candidates.clear();
}

// A clip for imported media: label from the file name, its shape from the
// analysis.
model::Clip clipFor(const model::MediaRecord& m) {
    model::Clip c;
    c.file = m.file;
    c.media = m.id;
    c.label = labelFromFile(m.name);
    c.channels = m.sourceChannels;
    if (auto* d = m.analysis.if_contains("duration_s"); d && d->is_number()) c.durationS = d->to_number<double>();
    return c;
}

// The first free cell of `from`'s tab at or after it in reading order.
Result<model::Cell> freeCell(store::Store& st, model::ShowId showId, const model::Cell& from) {
    auto show = st.loadShow(showId);
    if (!show) return show.error();
    if (from.page >= static_cast<int>(show->pages.size())) return makeError(Errc::not_found, "place.page", "no such page");
    const auto& g = show->pages[static_cast<std::size_t>(from.page)].tabs[static_cast<std::size_t>(from.tab)].grid;
    for (int i = from.row * g.cols + from.col; i < g.rows * g.cols; ++i) {
        const model::Cell c{from.page, from.tab, i / g.cols, i % g.cols, 0};
        const bool taken = std::any_of(show->cells.begin(), show->cells.end(), [&](const model::Cell& x) {
            return x.page == c.page && x.tab == c.tab && x.row == c.row && x.col == c.col;
        });
        if (!taken) return c;
    }
    return makeError(Errc::conflict, "place", "the tab has no free cell left: the media is in the library, place it by hand");
}

}  // namespace

int Api::engineRate() const {
    json::object live = show_.live();
    if (auto* e = live.if_contains("engine"); e && e->is_object())
        if (auto* r = e->as_object().if_contains("sample_rate"); r && r->is_int64() && r->as_int64() >= 8000)
            return static_cast<int>(r->as_int64());
    return 0;
}

std::string Api::projectDir() const { return mediaPath("library_path") + "/show-" + std::to_string(show_.show().id); }

std::string Api::stored(const std::string& absolute) const {
    const std::string root = show_.dataDir() + "/";
    return absolute.rfind(root, 0) == 0 ? absolute.substr(root.size()) : absolute;
}

std::string Api::absolute(const std::string& stored) const {
    return !stored.empty() && stored[0] == '/' ? stored : show_.dataDir() + "/" + stored;
}

void Api::afterWorkerWrite(std::uint64_t revision) {
    if (auto st = show_.load(); !st) return;
    if (resync_) resync_();
    engine_.reload(revision);
}

Result<std::uint64_t> Api::queueImport(std::vector<ImportItem> items, bool repository, std::optional<model::Cell> place,
                                       const std::string& label, const std::string& client, const std::string& folder,
                                       bool recursive) {
    if (items.empty() && folder.empty()) return bad("path", "names no audio file to import");
    if (!show_.store().readOnlyReason().empty())
        return makeError(Errc::conflict, "store", "the store is read-only: " + show_.store().readOnlyReason());
    int rate = engineRate();
    if (rate == 0) rate = lastRate_;
    if (rate == 0)
        return makeError(Errc::unavailable, "engine", "the engine has not reported its sample rate yet: import when it runs");
    lastRate_ = rate;
    const model::Show& show = show_.show();
    if (place) {
        if (place->page >= static_cast<int>(show.pages.size())) return makeError(Errc::not_found, "place.page", "no such page");
        const auto& g = show.pages[static_cast<std::size_t>(place->page)].tabs[static_cast<std::size_t>(place->tab)].grid;
        if (place->row >= g.rows || place->col >= g.cols) return bad("place", "is outside the grid");
    }
    MediaJobs::Spec spec;
    spec.kind = "import";
    spec.label = label;
    for (const auto& i : items) spec.items.push_back(i.name);
    if (!folder.empty()) spec.items.push_back("listing " + folder);
    spec.lane = MediaJobs::Lane::imports;
    // Whatever happens to the job (cancelled before it ran, failed half
    // way), an upload it was given does not stay behind.
    std::vector<std::string> uploads;
    for (const auto& i : items)
        if (i.move) uploads.push_back(i.source);
    spec.done = [uploads](json::object) {
        std::error_code ec;
        for (const auto& u : uploads) fs::remove(u, ec);
    };
    const std::string target = repository ? mediaPath("repository_path") : projectDir();
    spec.work = [this, items = std::move(items), place, target, rate, repository, label, client, folder, recursive,
                 showId = show.id, &st = show_.store(), dataRoot = show_.dataDir() + "/"](MediaJobs::Reporter& r) mutable {
        auto rel = [&](const std::string& p) { return p.rfind(dataRoot, 0) == 0 ? p.substr(dataRoot.size()) : p; };
        if (!folder.empty()) {
            // A folder on a stick or share is listed here, not on the io
            // thread (a slow or hung mount must not stop the show).
            std::vector<std::string> found;
            const std::string problem = listAudio(folder, recursive, found);
            if (!problem.empty()) {
                r.itemDone(0, false, problem);
                return json::object{{"imported", 0}, {"failed", 0}, {"placed", 0}, {"error", problem}};
            }
            std::vector<std::string> names;
            for (const auto& f : found) {
                items.push_back(ImportItem{f, fs::path(f).filename().string(), false});
                names.push_back(fs::path(f).filename().string());
            }
            r.setItems(names);
        }
        std::size_t placed = 0, imported = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            const ImportItem& item = items[i];
            if (r.cancelled()) {
                std::error_code ec;
                if (item.move) fs::remove(item.source, ec);
                r.itemDone(i, false, "cancelled");
                continue;
            }
            media::ImportRequest req{item.source, item.name, target, rate, item.move};
            auto imp = media::importFile(req, [&](double f) {
                return r.item(i, f, f < 0.3 ? "decoding" : f < 0.45 ? "resampling" : f < 0.9 ? "analysing" : "writing");
            });
            if (!imp) {
                std::error_code ec;
                if (item.move) fs::remove(item.source, ec);
                r.itemDone(i, false, imp.error().reason);
                continue;
            }
            model::MediaRecord m;
            m.id = imp->id;
            m.name = imp->name;
            m.file = rel(imp->file);
            m.fileSha256 = imp->fileSha256;
            m.fileBytes = imp->fileBytes;
            m.original = rel(imp->original);
            m.originalBytes = imp->originalBytes;
            m.source = item.move ? "upload from " + client : item.source;
            m.format = imp->format;
            m.sourceRate = imp->sourceRate;
            m.sourceChannels = imp->sourceChannels;
            m.rate = imp->rate;
            m.location = repository ? "repository" : "project";
            m.importedAt = isoNow();
            m.analysis = media::toJson(imp->analysis, false);
            json::object full = media::toJson(imp->analysis, true);
            if (auto* w = full.if_contains("waveform"); w && w->is_object()) m.waveform = w->as_object();
            // The same media imported again keeps the renders made of it.
            if (auto old = st.media(showId, m.id); old && old->has_value()) m.renders = (*old)->renders;
            auto put = st.putMedia(showId, m, store::Origin{client, "imported " + m.name});
            if (!put) {
                // No record, no files: what this import put down goes.
                std::error_code ec;
                if (imp->createdFile) fs::remove(imp->file, ec);
                if (imp->createdOriginal) fs::remove(imp->original, ec);
                r.itemDone(i, false, put.error().reason);
                continue;
            }
            std::uint64_t rev = *put;
            json::object details{{"media", m.id}, {"file", m.file}, {"format", m.format},
                                 {"duration_s", imp->analysis.durationS}, {"seconds", imp->secondsReady}};
            if (place) {
                // The first free cell from `place` in reading order, as the
                // show is now (other imports and edits fill cells too; an
                // edit that takes the cell first sends us to the next).
                for (int attempt = 0; attempt < 3; ++attempt) {
                    auto cell = freeCell(st, showId, *place);
                    if (!cell) {
                        details["placement"] = cell.error().reason;
                        break;
                    }
                    auto added = st.addClip(showId, clipFor(m), *cell, store::Origin{client, "added clip for " + m.name});
                    if (added) {
                        rev = added->revision;
                        details["clip"] = added->clip.id;
                        details["cell"] = json::object{{"page", cell->page}, {"tab", cell->tab}, {"row", cell->row}, {"col", cell->col}};
                        details.erase("placement");
                        ++placed;
                        break;
                    }
                    details["placement"] = added.error().reason;
                    if (added.error().code != Errc::conflict) break;
                }
            }
            ++imported;
            if (post_) post_([this, rev] { afterWorkerWrite(rev); });
            else afterWorkerWrite(rev);
            r.itemDone(i, true, "", std::move(details));
        }
        return json::object{{"imported", imported}, {"failed", items.size() - imported}, {"placed", placed}};
    };
    return jobs_.submit(std::move(spec));
}

void Api::mediaUploaded(const std::string& file, const std::string& target, const std::string& client, Respond respond) {
    std::string name = queryParam(target, "name");
    auto fail = [&](Error e) {
        std::error_code ec;
        fs::remove(file, ec);
        respond(errorResponse(std::move(e)));
    };
    if (show_.lock().locked())
        return fail(makeError(Errc::locked, "lock", "the show is locked for performing: unlock it with the PIN to import"));
    if (name.empty()) return fail(bad("name", "is required: the file's name (?name=thunder.wav)"));
    if (name.size() > 255 || name.find('/') != std::string::npos || name == "." || name == "..")
        return fail(bad("name", "must be a file name (no folders), at most 255 bytes"));
    for (unsigned char c : name)
        if (c < 0x20 || c == 0x7f) return fail(bad("name", "must not contain control characters"));
    const std::string where = queryParam(target, "target");
    if (!where.empty() && where != "project" && where != "repository")
        return fail(bad("target", "must be project or repository"));
    std::optional<model::Cell> place;
    if (auto p = queryParam(target, "page"); !p.empty()) {
        json::object c;
        for (const char* k : {"page", "tab", "row", "col"}) {
            const std::string v = queryParam(target, k);
            if (v.empty() || v.size() > 3 || !std::all_of(v.begin(), v.end(), ::isdigit)) return fail(bad(k, "must be a whole number"));
            c[k] = std::stoi(v);
        }
        auto cell = cellOf(json::object{{"place", c}}, "place");
        if (!cell) return fail(cell.error());
        place = *cell;
    }
    // The server removes its upload file once answered: the job gets it
    // under a name of its own first.
    const std::string mine = file + ".media";
    std::error_code ec;
    fs::rename(file, mine, ec);
    if (ec) return fail(makeError(Errc::io, "upload", "cannot keep the upload: " + ec.message()));
    auto job = queueImport({ImportItem{mine, name, true}}, where == "repository", place, "upload of " + name, client);
    if (!job) {
        fs::remove(mine, ec);
        return respond(errorResponse(job.error()));
    }
    respond(jsonResponse(202, {{"job", jobs_.job(*job)}}));
}

std::uint64_t Api::queueCheck(const std::string& why) {
    const model::Show& show = show_.show();
    struct Input {
        model::ClipId clip;
        std::string file;  // as stored: a write is skipped if the clip plays another file by then
        std::string media;
        media::MissingMedia missing;
        model::MediaCheck previous;
    };
    std::vector<Input> inputs;
    for (const auto& c : show.clips) {
        Input in;
        in.clip = c.id;
        in.file = c.file;
        in.media = c.media;
        in.missing.path = absolute(c.file);
        if (const auto* m = c.media.empty() ? nullptr : show.findMedia(c.media)) {
            // The clip plays the converted file (or a relinked original).
            if (c.file == m->file) {
                in.missing.sha256 = m->fileSha256;
                in.missing.size = m->fileBytes;
            }
            in.missing.sourceSha256 = m->id;
            in.missing.durationS = c.durationS;
        }
        if (const auto* prev = show.findCheck(c.id)) {
            in.previous = *prev;
            for (const auto& p : prev->lastKnownGood)
                if (p.is_string() && p.as_string() != in.missing.path) in.missing.lastKnownGood.emplace_back(p.as_string());
        } else {
            in.previous.clip = c.id;
            in.previous.status = "";
        }
        // A plain file (not imported) is known by its size when it was last seen.
        inputs.push_back(std::move(in));
    }
    media::SearchPlan plan;
    plan.primary = projectDir();
    plan.repository = mediaPath("repository_path");
    const json::object& ms = show.settings.at("media");
    for (const auto& p : ms.at("search_paths").as_array()) plan.alternates.push_back(absolute(std::string(p.as_string())));
    for (const auto& m : ms.at("share_mappings").as_array())
        plan.shareMappings.emplace_back(std::string(m.at("from").as_string()), std::string(m.at("to").as_string()));
    // Everything the library itself keeps is searched too.
    plan.alternates.push_back(mediaPath("library_path"));
    const bool autoRelink = ms.at("auto_relink").as_bool();

    MediaJobs::Spec spec;
    spec.kind = "check";
    spec.label = "media check (" + why + ")";
    spec.lane = MediaJobs::Lane::background;
    spec.items.push_back(std::to_string(inputs.size()) + " clips");
    spec.work = [this, inputs = std::move(inputs), plan, autoRelink, showId = show.id, &st = show_.store(), index = index_,
                 dataRoot = show_.dataDir() + "/"](MediaJobs::Reporter& r) {
        auto rel = [&](const std::string& p) { return p.rfind(dataRoot, 0) == 0 ? p.substr(dataRoot.size()) : p; };
        std::vector<store::Store::CheckWrite> changed;
        std::size_t missing = 0, relinked = 0, withCandidates = 0;
        std::uint64_t rev = 0;
        // The folders are walked once per check (the index stays warm
        // between checks but files come and go): every folder any missing
        // clip's search covers, then each search uses the fresh index.
        std::vector<std::string> roots;
        for (const auto& in : inputs) {
            if (::access(in.missing.path.c_str(), R_OK) == 0) continue;
            for (const auto& [folder, where] : media::searchRoots(in.missing, plan))
                if (std::find(roots.begin(), roots.end(), folder) == roots.end()) roots.push_back(folder);
        }
        if (!roots.empty()) (void)index->scan(roots);
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            if (!r.item(0, static_cast<double>(i) / static_cast<double>(inputs.size()), "checking")) break;
            const Input& in = inputs[i];
            model::MediaCheck c = in.previous;
            c.clip = in.clip;
            c.path = in.missing.path;
            c.checkedAt = isoNow();
            SF_INFO info{};
            SNDFILE* f = sf_open(in.missing.path.c_str(), SFM_READ, &info);
            if (f) {
                sf_close(f);
                c.status = "ok";
                c.candidates.clear();
                c.patterns.clear();
                // The newest known good path first, at most 5 kept.
                c.lastKnownGood = goodPaths(in.missing.path, in.previous.lastKnownGood);
            } else {
                std::error_code ec;
                c.status = fs::exists(in.missing.path, ec) ? "unreadable" : "missing";
                ++missing;
                auto found = media::findCandidates(*index, in.missing, plan);
                c.candidates.clear();
                c.patterns.clear();
                std::size_t hashMatches = 0;
                if (found) {
                    for (const auto& k : found->candidates) {
                        json::array reasons;
                        for (const auto& why : k.reasons) reasons.push_back(json::value(why));
                        c.candidates.push_back(json::object{{"path", k.path}, {"score", std::round(k.score * 1000) / 1000},
                                                            {"hash_match", k.hashMatch}, {"where", k.where},
                                                            {"reasons", std::move(reasons)}});
                        hashMatches += k.hashMatch ? 1 : 0;
                    }
                    for (const auto& p : found->patterns) c.patterns.push_back(json::value(p));
                } else {
                    c.patterns.push_back(json::value("search failed: " + found.error().reason));
                }
                if (!c.candidates.empty()) ++withCandidates;
                // One exact content match is the file: relinked and recorded.
                if (autoRelink && hashMatches == 1 && c.candidates[0].as_object().at("hash_match").as_bool()) {
                    const std::string to(c.candidates[0].as_object().at("path").as_string());
                    c.lastKnownGood = in.previous.lastKnownGood;
                    markRelinked(c, in.missing.path, to, "auto", "media check", 1.0, "same content hash");
                    auto rl = st.relinkClip(showId, in.clip, rel(to), in.media, c,
                                            store::Origin{"box", "relinked clip " + std::to_string(in.clip) + " to " + to}, in.file);
                    if (rl) {
                        rev = *rl;
                        ++relinked;
                        --missing;
                        continue;
                    }
                    c.patterns.push_back(json::value("automatic relink failed: " + rl.error().reason));
                    c.status = "missing";
                }
            }
            // Only what changed is written (not the time of the check).
            model::MediaCheck a = c, b = in.previous;
            a.checkedAt = b.checkedAt = "";
            if (!(a == b)) changed.push_back(store::Store::CheckWrite{std::move(c), in.file});
        }
        std::size_t written = 0;
        std::string writeError;
        if (!changed.empty()) {
            auto put = st.putMediaChecks(showId, changed, store::Origin{"box", "media check"});
            if (put) {
                rev = put->first;
                written = put->second;
            } else {
                writeError = put.error().reason;
            }
        }
        if (writeError.empty()) r.itemDone(0, true);
        else r.itemDone(0, false, "the results could not be stored: " + writeError);
        if (rev) {
            if (post_) post_([this, rev] { afterWorkerWrite(rev); });
            else afterWorkerWrite(rev);
        }
        return json::object{{"clips", inputs.size()}, {"missing", missing}, {"relinked", relinked},
                            {"with_candidates", withCandidates}, {"records_written", written}};
    };
    return jobs_.submit(std::move(spec));
}

void Api::queueRenders() {
    const model::Show& show = show_.show();
    const std::string dir = show_.dataDir() + "/cache/renders";
    // Collected first, submitted after: without an io thread (unit tests) a
    // job runs at once and its store write re-reads the show under us.
    std::vector<MediaJobs::Spec> specs;
    for (const auto& c : show.clips) {
        auto need = model::renderNeed(c, show);
        if (!need) continue;
        const model::MediaRecord* m = show.findMedia(c.media);
        const media::RenderRequest req{need->timeRatio, need->pitchSemitones};
        if (!media::checkRender(req)) continue;  // out of range: the clip plays as it is
        const std::string name = media::renderFileName(m->id, req);
        std::error_code ec;
        if (rendering_.count(name) || renderFailed_.count(name) || fs::exists(dir + "/" + name, ec)) continue;
        rendering_.insert(name);
        MediaJobs::Spec spec;
        spec.kind = "render";
        spec.label = "render of " + m->name;
        spec.lane = MediaJobs::Lane::background;
        spec.items.push_back(name);
        spec.work = [req, name, dir, source = absolute(m->file)](MediaJobs::Reporter& r) {
            auto in = media::readAudioFile(source);
            if (!in) {
                r.itemDone(0, false, in.error().reason);
                return json::object{};
            }
            auto out = media::render(*in, req, [&](double f) { return r.item(0, f, "rendering"); });
            std::error_code ec;
            fs::create_directories(dir, ec);
            Status written = out ? media::writeFloatWav(dir + "/" + name, *out) : Status(out.error());
            r.itemDone(0, written.ok(), written.ok() ? "" : written.error().reason);
            return written.ok() ? json::object{{"file", "cache/renders/" + name}} : json::object{};
        };
        spec.done = [this, name, id = m->id, req, showId = show.id](json::object result) {
            rendering_.erase(name);
            if (!result.contains("file")) {
                // Not tried again on every edit; a new import or a restart does.
                if (!result.contains("cancelled")) renderFailed_.insert(name);
                return;
            }
            // The render is kept in the media record (stretch/pitch states);
            // the new revision makes the engine load it in place of the
            // original.
            auto rec = show_.store().media(showId, id);
            if (!rec || !rec->has_value()) return;
            model::MediaRecord m = std::move(**rec);
            m.renders.push_back(json::object{{"file", result.at("file")}, {"time_ratio", req.timeRatio},
                                             {"pitch_semitones", req.pitchSemitones}, {"made_at", isoNow()}});
            auto put = show_.store().putMedia(showId, m, store::Origin{"box", "rendered " + m.name});
            if (put) afterWorkerWrite(*put);
        };
        specs.push_back(std::move(spec));
    }
    for (auto& spec : specs) jobs_.submit(std::move(spec));
}

void Api::showLoaded() {
    if (!show_.loaded()) return;
    if (int r = engineRate(); r) lastRate_ = r;
    queueRenders();
    const model::Show& show = show_.show();
    // Without an io thread to come back to (unit tests) nothing runs by
    // itself: checks are asked for (POST /api/media/check).
    if (checkedShow_ != show.id && post_) {
        checkedShow_ = show.id;
        if (show.settings.at("media").at("check_on_load").as_bool() && !show.clips.empty()) queueCheck("show loaded");
    }
}

bool Api::handleMedia(const HttpRequest& req, const std::vector<std::string_view>& seg, Respond& respond) {
    if (seg.size() < 2 || seg[1] != "media") return false;
    auto fail = [&](Error e) { respond(errorResponse(std::move(e))); };
    auto method = [&](const char* allowed) {
        fail(makeError(Errc::method_not_allowed, "method", req.method + " is not allowed here (use " + allowed + ")"));
    };
    const model::Show& show = show_.show();
    store::Store& st = show_.store();

    if (seg.size() == 2) {
        if (req.method != "GET") { method("GET"); return true; }
        json::array list;
        for (const auto& m : show.media) {
            json::object o = mediaSummary(m);
            o["used_by"] = usedBy(show, m.id);
            list.push_back(std::move(o));
        }
        respond(jsonResponse(200, {{"project_folder", projectDir()},
                                   {"repository_folder", mediaPath("repository_path")},
                                   {"media", std::move(list)},
                                   {"jobs", jobs_.jobs()}}));
        return true;
    }
    const std::string_view what = seg[2];
    if (what == "upload" && seg.size() == 3) {
        // Streamed uploads never get here (the server takes them first).
        fail(makeError(Errc::bad_request, "content-type", "send the file itself as application/octet-stream (POST, ?name=)"));
        return true;
    }
    if (what == "import" && seg.size() == 3) {
        if (req.method != "POST") { method("POST"); return true; }
        auto b = parseBody(req, true);
        if (!b) { fail(b.error()); return true; }
        bool repository = false;
        if (auto* t = b->if_contains("target")) {
            if (!t->is_string() || (t->as_string() != "project" && t->as_string() != "repository")) {
                fail(bad("target", "must be project or repository"));
                return true;
            }
            repository = t->as_string() == "repository";
        }
        std::optional<model::Cell> place;
        if (b->contains("place")) {
            auto c = cellOf(*b, "place");
            if (!c) { fail(c.error()); return true; }
            place = *c;
        }
        std::vector<ImportItem> items;
        std::string label, folder;
        bool recursive = true;
        if (auto* rec = b->if_contains("recording")) {
            // The newest take of record A or B, or a take named by its file.
            if (!rec->is_string() || rec->as_string().empty()) { fail(bad("recording", "must be A, B or a take's file name")); return true; }
            const std::string want(rec->as_string());
            const std::string dir = mediaPath("recordings_path");
            std::string pick;
            std::error_code ec;
            if (want == "A" || want == "B") {
                const std::string prefix = std::string("rec_") + (want == "A" ? "a_" : "b_");
                for (const auto& e : fs::directory_iterator(dir, ec)) {
                    const std::string n = e.path().filename().string();
                    if (n.rfind(prefix, 0) == 0 && e.path().extension() == ".wav" && n > fs::path(pick).filename().string())
                        pick = e.path().string();
                }
                if (pick.empty()) { fail(makeError(Errc::not_found, "recording", "record " + want + " has no take in " + dir)); return true; }
            } else {
                if (want.find('/') != std::string::npos || want == "..") { fail(bad("recording", "must be A, B or a take's file name")); return true; }
                pick = dir + "/" + want;
                if (!fs::is_regular_file(pick, ec)) { fail(makeError(Errc::not_found, "recording", "no take named '" + want + "' in " + dir)); return true; }
            }
            items.push_back(ImportItem{pick, fs::path(pick).filename().string(), false});
            label = "take " + fs::path(pick).filename().string();
        } else if (auto* p = b->if_contains("path")) {
            if (!p->is_string() || p->as_string().empty() || p->as_string()[0] != '/') {
                fail(bad("path", "must be an absolute path: a file or folder on a mounted stick or share"));
                return true;
            }
            const std::string path(p->as_string());
            if (path.size() > 4096 || path.find("/../") != std::string::npos) { fail(bad("path", "must be a plain absolute path")); return true; }
            if (auto* r = b->if_contains("recursive")) {
                if (!r->is_bool()) { fail(bad("recursive", "must be true or false")); return true; }
                recursive = r->as_bool();
            }
            // One stat here (a clear 404); the listing runs in the job.
            struct stat sb{};
            if (::stat(path.c_str(), &sb) != 0 || !(S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode))) {
                fail(makeError(Errc::not_found, "path", "no file or folder at '" + path + "'"));
                return true;
            }
            folder = path;
            label = "import of " + path;
        } else {
            fail(bad("path", "is required (or recording): what to import"));
            return true;
        }
        auto job = queueImport(std::move(items), repository, place, label, req.client, folder, recursive);
        if (!job) { fail(job.error()); return true; }
        respond(jsonResponse(202, {{"job", jobs_.job(*job)}}));
        return true;
    }
    if (what == "jobs") {
        if (seg.size() == 3) {
            if (req.method != "GET") { method("GET"); return true; }
            respond(jsonResponse(200, {{"jobs", jobs_.jobs()}}));
            return true;
        }
        if (seg.size() == 4) {
            std::uint64_t id = 0;
            for (char c : seg[3]) id = (c >= '0' && c <= '9') ? id * 10 + static_cast<std::uint64_t>(c - '0') : ~0ULL / 100;
            json::object j = jobs_.job(id);
            if (j.empty()) { fail(makeError(Errc::not_found, "id", "no media job " + std::string(seg[3]))); return true; }
            if (req.method == "GET") { respond(jsonResponse(200, {{"job", std::move(j)}})); return true; }
            if (req.method == "DELETE") {
                if (!jobs_.cancel(id)) { fail(makeError(Errc::conflict, "id", "the job has finished already")); return true; }
                respond(jsonResponse(200, {{"job", jobs_.job(id)}}));
                return true;
            }
            method("GET or DELETE");
            return true;
        }
    }
    if (what == "check" && seg.size() == 3) {
        if (req.method != "POST") { method("POST"); return true; }
        if (show.clips.empty()) { fail(makeError(Errc::conflict, "show", "the show has no clips to check")); return true; }
        const auto id = queueCheck("asked by " + (req.client.empty() ? std::string("a client") : req.client));
        respond(jsonResponse(202, {{"job", jobs_.job(id)}}));
        return true;
    }
    if (what == "missing") {
        if (seg.size() == 3) {
            if (req.method != "GET") { method("GET"); return true; }
            json::array a;
            for (const auto& c : show.checks)
                if (c.status != "ok") {
                    json::object o = model::toJson(c);
                    if (const auto* clip = show.findClip(c.clip)) o["label"] = clip->label;
                    a.push_back(std::move(o));
                }
            respond(jsonResponse(200, {{"missing", std::move(a)}}));
            return true;
        }
        // POST /api/media/missing/{clip}/relink {"path": ...}: the operator
        // confirms a candidate (or names a file).
        if (seg.size() == 5 && seg[4] == "relink") {
            if (req.method != "POST") { method("POST"); return true; }
            auto clipId = parseClipId(seg[3]);
            if (!clipId) { fail(clipId.error()); return true; }
            const model::Clip* clip = show.findClip(*clipId);
            if (!clip) { fail(makeError(Errc::not_found, "clip", "no clip with id " + std::to_string(*clipId))); return true; }
            auto b = parseBody(req, true);
            if (!b) { fail(b.error()); return true; }
            const json::value* p = b->if_contains("path");
            if (!p || !p->is_string() || p->as_string().empty() || p->as_string()[0] != '/' || p->as_string().size() > 4096) {
                fail(bad("path", "must be the absolute path of the file to play (a candidate's path)"));
                return true;
            }
            const std::string to(p->as_string());
            struct stat sb{};
            if (::stat(to.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) { fail(bad("path", "no file at '" + to + "'")); return true; }
            auto info = media::probeAudioFile(to);
            if (!info) { fail(bad("path", info.error().reason)); return true; }
            model::MediaCheck c;
            if (const auto* prev = show.findCheck(*clipId)) c = *prev;
            c.clip = *clipId;
            double score = 0;
            bool sameContent = false;
            for (const auto& k : c.candidates)
                if (k.as_object().at("path").as_string() == to) {
                    score = k.as_object().at("score").to_number<double>();
                    sameContent = k.as_object().at("hash_match").as_bool();
                }
            markRelinked(c, absolute(clip->file), to, "user", req.client.empty() ? "api" : req.client, score,
                     score > 0 ? "confirmed candidate" : "chosen file");
            c.checkedAt = isoNow();
            // Another file than the media's own content is no longer that
            // media (its analysis, loudness and renders do not apply).
            storeChanged(st.relinkClip(show.id, *clipId, stored(to), sameContent ? clip->media : std::string(), c,
                                       store::Origin{req.client, "relinked clip " + std::to_string(*clipId) + " to " + to},
                                       clip->file),
                         respond, {{"clip", *clipId}, {"file", stored(to)}});
            return true;
        }
    }
    if (what == "renders" && seg.size() == 3) {
        if (req.method != "GET") { method("GET"); return true; }
        json::array a;
        for (const auto& c : show.clips) {
            auto need = model::renderNeed(c, show);
            if (!need) continue;
            const auto* m = show.findMedia(c.media);
            const media::RenderRequest r{need->timeRatio, need->pitchSemitones};
            const std::string name = media::renderFileName(m->id, r);
            std::error_code ec;
            const char* state = rendering_.count(name) ? "rendering"
                                : renderFailed_.count(name) ? "failed"
                                : fs::exists(show_.dataDir() + "/cache/renders/" + name, ec) ? "ready"
                                : media::checkRender(r) ? "queued" : "out_of_range";
            a.push_back(json::object{{"clip", c.id}, {"media", c.media}, {"time_ratio", r.timeRatio},
                                     {"pitch_semitones", r.pitchSemitones}, {"file", "cache/renders/" + name}, {"state", state}});
        }
        respond(jsonResponse(200, {{"renders", std::move(a)}}));
        return true;
    }
    if (seg.size() == 3 && model::validMediaId(std::string(what))) {
        const std::string id(what);
        const model::MediaRecord* m = show.findMedia(id);
        if (!m) { fail(makeError(Errc::not_found, "id", "no media " + id + " in this show")); return true; }
        if (req.method == "GET") {
            auto full = st.media(show.id, id);
            if (!full || !full->has_value()) { fail(full ? makeError(Errc::not_found, "id", "no media " + id) : full.error()); return true; }
            json::object o = model::toJson(**full, true);
            o["used_by"] = usedBy(show, id);
            respond(jsonResponse(200, {{"media", std::move(o)}}));
            return true;
        }
        if (req.method == "DELETE") {
            const std::string file = absolute(m->file), original = absolute(m->original);
            const bool project = m->location == "project";
            auto rev = st.deleteMedia(show.id, id, store::Origin{req.client, "deleted media " + m->name});
            // The files of project media go with the record unless another
            // show (a duplicate of this one) plays them; the repository's
            // are shared and stay.
            bool shared = false;
            if (auto shows = st.listShows(); rev && project && shows)
                for (const auto& other : *shows)
                    if (other.id != show.id)
                        if (auto o = st.loadShow(other.id); o)
                            for (const auto& om : o->media) shared |= om.file == m->file;
            if (rev && project && !shared) {
                std::error_code ec;
                fs::remove(file, ec);
                fs::remove(original, ec);
            }
            storeChanged(rev, respond, {{"deleted", id}});
            return true;
        }
        method("GET or DELETE");
        return true;
    }
    fail(makeError(Errc::not_found, "path", "no media API at " + req.target.substr(0, req.target.find('?'))));
    return true;
}

}  // namespace cuebox::web
