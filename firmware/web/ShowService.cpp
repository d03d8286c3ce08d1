#include "web/ShowService.h"

#include "base/Log.h"
#include "base/Time.h"
#include "model/Layout.h"
#include "model/ShowJson.h"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <tuple>
#include <map>

namespace cuebox::web {
namespace json = boost::json;

Status ShowService::load() {
    if (auto st = lock_.load(); !st) log::warn("web", st.error().reason);
    auto rev = store_.revision();
    if (!rev) return rev.error();
    auto id = store_.loadedShow();
    if (!id) return id.error();
    if (!id->has_value()) return makeError(Errc::not_found, "show", "no show is loaded");
    auto s = store_.loadShow(**id);
    if (!s) return s.error();
    // Re-reading the same show (after an undo, a restore, a page edit...)
    // keeps the cached pieces of the snapshot that did not change.
    const bool same = loaded_ && s->id == show_.id;
    std::vector<std::string> oldText;
    if (same) {
        oldText.swap(clipText_);
        for (std::size_t i = 0; i < oldText.size(); ++i)
            if (i >= s->clips.size() || i >= show_.clips.size() || !(s->clips[i] == show_.clips[i])) oldText[i].clear();
        // A changed check record changes the clip's media_check in the snapshot.
        for (std::size_t i = 0; i < oldText.size() && i < s->clips.size(); ++i) {
            const auto* a = s->findCheck(s->clips[i].id);
            const auto* b = show_.findCheck(s->clips[i].id);
            if ((a == nullptr) != (b == nullptr) || (a && !(*a == *b))) oldText[i].clear();
        }
        if (!(s->pages == show_.pages && s->cells == show_.cells)) pagesText_.clear();
        if (!(s->settings == show_.settings && s->mappings == show_.mappings)) settingsText_.clear();
        if (!(s->media == show_.media)) mediaText_.clear();

        oldText.resize(s->clips.size());
        clipText_ = std::move(oldText);
    } else {
        clipText_.clear();
        pagesText_.clear();
        settingsText_.clear();
        mediaText_.clear();
    }
    show_ = std::move(*s);
    revision_ = *rev;
    loaded_ = true;
    if (auto t = store_.lastEditTime(show_.id); t) lastSave_ = *t;
    absent_.clear();
    mediaBytes_ = 0;
    std::set<std::string> counted;
    for (const auto& c : show_.clips) {
        std::filesystem::path p(c.file);
        if (p.is_relative()) p = std::filesystem::path(dataDir_) / p;
        std::error_code ec;
        if (!std::filesystem::is_regular_file(p, ec)) absent_.insert(c.id);
        else if (counted.insert(p.string()).second) mediaBytes_ += std::filesystem::file_size(p, ec);
    }
    // Warm the snapshot cache now, so no client request pays the first
    // (whole-show) serialisation.
    (void)snapshotText();
    if (onLoad_) onLoad_();
    return {};
}

bool ShowService::missing(const model::Clip& c) const {
    if (absent_.count(c.id) > 0 || engineMissing_.count(c.id) > 0) return true;
    const auto* check = show_.findCheck(c.id);
    return check && check->status != "ok" && check->path == (c.file.empty() || c.file[0] == '/' ? c.file : dataDir_ + "/" + c.file);
}

json::object ShowService::live() const {
    if (!live_.empty()) return live_;
    return json::object{{"engine", {{"connected", false}}},
                        {"voices", {{"active", 0}, {"pool", 48}}},
                        {"clips", json::array{}}};
}

std::string ShowService::snapshotText(const std::string& lead) const {
    if (pagesText_.empty()) pagesText_ = json::serialize(model::pagesToJson(show_));
    clipText_.resize(show_.clips.size());
    std::size_t bytes = pagesText_.size() + 4096;
    for (std::size_t i = 0; i < show_.clips.size(); ++i) {
        if (clipText_[i].empty()) {
            json::object o = model::toJson(show_.clips[i]);
            // The last media check: a missing file and how many candidates
            // wait for the operator.
            if (const auto* c = show_.findCheck(show_.clips[i].id)) {
                o["media_check"] = json::object{{"status", c->status}, {"candidates", c->candidates.size()},
                                                {"relinks", c->history.size()}, {"checked_at", c->checkedAt}};
            }
            clipText_[i] = json::serialize(o);
        }
        bytes += clipText_[i].size() + 20;
    }
    std::string out;
    out.reserve(bytes);
    out += "{";
    out += lead;
    out += "\"revision\":" + std::to_string(revision_) + ",\"format_version\":" + std::to_string(store_.formatVersion());
    out += ",\"lock\":" + json::serialize(lock_.json());
    out += ",\"show\":{\"id\":" + std::to_string(show_.id) + ",\"name\":" + json::serialize(json::value(show_.name));
    out += ",\"view_mode\":\"";
    out += show_.viewMode == model::ViewMode::dual ? "dual" : "single";
    out += "\",\"active_page\":" + std::to_string(show_.activePage) + ",\"pages\":" + pagesText_ + ",\"clips\":[";
    for (std::size_t i = 0; i < show_.clips.size(); ++i) {
        if (i) out += ',';
        // The cached record ends with '}': add the clip's media status.
        out.append(clipText_[i], 0, clipText_[i].size() - 1);
        out += missing(show_.clips[i]) ? ",\"status\":\"missing\"}" : ",\"status\":\"ok\"}";
    }
    out += "],\"audio\":" + json::serialize(model::toJson(show_.audio));
    if (mediaText_.empty()) {
        // The library in short (GET /api/media/{id} has the rest).
        json::array a;
        for (const auto& m : show_.media) {
            json::object o{{"id", m.id}, {"name", m.name}, {"file", m.file}, {"format", m.format}, {"location", m.location},
                           {"source_rate", m.sourceRate}, {"channels", m.sourceChannels}, {"bpm", m.bpm()},
                           {"loudness_lufs", m.loudnessLufs()}, {"true_peak_db", m.truePeakDb()}, {"renders", m.renders.size()}};
            if (auto* d = m.analysis.if_contains("duration_s")) o["duration_s"] = *d;
            a.push_back(std::move(o));
        }
        mediaText_ = ",\"media\":" + json::serialize(a);
    }
    out += mediaText_;
    if (settingsText_.empty()) {
        json::object settings;
        for (const auto& [name, values] : show_.settings) settings[name] = values;
        json::array mappings;
        for (const auto& m : show_.mappings) {
            json::object o = m.data;
            o["id"] = m.id;
            mappings.push_back(std::move(o));
        }
        settingsText_ = ",\"settings\":" + json::serialize(settings) + ",\"mappings\":" + json::serialize(mappings);
    }
    out += settingsText_;
    out += "},\"store\":" + json::serialize(storeInfo()) + ",\"live\":" + json::serialize(live()) + "}";
    return out;
}

json::object ShowService::stats() const {
    std::map<std::string, int> byGroup{{"A", 0}, {"B", 0}, {"C", 0}, {"D", 0}};
    double total = 0;
    int missingCount = 0;
    for (const auto& c : show_.clips) {
        ++byGroup[std::string(1, c.group)];
        total += c.durationS;
        if (missing(c)) ++missingCount;
    }
    json::object groups;
    for (auto& [g, n] : byGroup) groups[g] = n;
    // Cells per page and per tab (cells outside a shrunk grid counted apart).
    std::vector<std::array<int, model::kTabsPerPage>> perTab(show_.pages.size());
    std::vector<int> hidden(show_.pages.size());
    for (const auto& c : show_.cells) {
        if (c.page < 0 || c.page >= static_cast<int>(perTab.size())) continue;
        const auto& g = show_.pages[static_cast<std::size_t>(c.page)].tabs[static_cast<std::size_t>(c.tab)].grid;
        if (c.row >= g.rows || c.col >= g.cols) ++hidden[static_cast<std::size_t>(c.page)];
        else ++perTab[static_cast<std::size_t>(c.page)][static_cast<std::size_t>(c.tab)];
    }
    json::array pages;
    for (std::size_t p = 0; p < perTab.size(); ++p) {
        json::array tabs;
        int sum = 0;
        for (int n : perTab[p]) tabs.push_back(n), sum += n;
        pages.push_back(json::object{{"page", p}, {"cells", sum}, {"hidden_cells", hidden[p]}, {"cells_by_tab", std::move(tabs)}});
    }
    // By type: channels, looping, play mode.
    int mono = 0, stereo = 0, loops = 0;
    double longest = 0;
    std::map<std::string, int> modes;
    for (const auto& c : show_.clips) {
        (c.channels == 1 ? mono : stereo) += 1;
        loops += c.loop ? 1 : 0;
        ++modes[model::name(c.playMode)];
        longest = std::max(longest, c.durationS);
    }
    json::object byMode;
    for (auto& [m, n] : modes) byMode[m] = n;
    std::error_code ec;
    const auto storeBytes = std::filesystem::file_size(store_.dir() + "/data.mdb", ec);
    json::object l = live();
    return json::object{{"revision", revision_},
                        {"pages", show_.pages.size()},
                        {"tabs", show_.pages.size() * model::kTabsPerPage},
                        {"cells", show_.cells.size()},
                        {"cells_by_page", std::move(pages)},
                        {"clips", show_.clips.size()},
                        {"clips_by_group", std::move(groups)},
                        {"clips_by_type", {{"mono", mono}, {"stereo", stereo}, {"loop", loops}, {"play_mode", std::move(byMode)}}},
                        {"missing_media", missingCount},
                        {"total_duration_s", std::round(total * 1000) / 1000},
                        {"longest_clip_s", std::round(longest * 1000) / 1000},
                        {"mappings", show_.mappings.size()},
                        {"storage", {{"store_bytes", ec ? 0 : storeBytes}, {"media_bytes", mediaBytes_}}},
                        {"voices", l.at("voices")}};
}

Result<store::ClipEdit> ShowService::editClip(model::ClipId id, const model::ClipPatch& patch) {
    auto e = store_.updateClip(show_.id, id, patch, origin_);
    if (!e) return e;
    if (model::Clip* c = show_.findClip(id)) {
        *c = e->clip;
        const auto i = static_cast<std::size_t>(c - show_.clips.data());
        if (i < clipText_.size()) clipText_[i].clear();
    }
    revision_ = e->revision;
    lastSave_ = isoNow(true);
    if (onLoad_) onLoad_();  // a tempo sync or pitch change may need a render
    return e;
}

Result<std::uint64_t> ShowService::editAudio(const std::function<Status(model::AudioConfig&)>& edit) {
    model::AudioConfig next = show_.audio;
    if (auto st = edit(next); !st) return st.error();
    auto rev = store_.updateAudio(show_.id, next, origin_);
    if (!rev) return rev;
    show_.audio = std::move(next);
    revision_ = *rev;
    lastSave_ = isoNow(true);
    return rev;
}

namespace {
Error noPage(int page) { return makeError(Errc::not_found, "page", "no page " + std::to_string(page)); }
}  // namespace

Result<std::uint64_t> ShowService::editShowInfo(const json::value& body) {
    model::Show next = show_;  // small: the patch only touches name, view mode, active page
    if (auto st = model::patchShowInfo(next, body); !st) return st.error();
    auto rev = store_.updateShowInfo(next, origin_);
    if (!rev) return rev;
    show_.name = next.name;
    show_.viewMode = next.viewMode;
    show_.activePage = next.activePage;
    revision_ = *rev;
    lastSave_ = isoNow(true);
    return rev;
}

Result<std::uint64_t> ShowService::editPage(int page, const json::value& body) {
    if (page < 0 || page >= static_cast<int>(show_.pages.size())) return noPage(page);
    model::Page next = show_.pages[static_cast<std::size_t>(page)];
    if (auto st = model::patchPage(next, body); !st) return st.error();
    auto rev = store_.updatePage(show_.id, page, next, origin_);
    if (!rev) return rev;
    show_.pages[static_cast<std::size_t>(page)] = std::move(next);
    pagesText_.clear();
    revision_ = *rev;
    lastSave_ = isoNow(true);
    return rev;
}

Result<std::uint64_t> ShowService::editTab(int page, int tab, const json::value& body) {
    if (page < 0 || page >= static_cast<int>(show_.pages.size())) return noPage(page);
    if (tab < 0 || tab >= model::kTabsPerPage)
        return makeError(Errc::not_found, "tab", "no tab " + std::to_string(tab) + " (a page has tabs 0 to 7)");
    model::Tab next = show_.pages[static_cast<std::size_t>(page)].tabs[static_cast<std::size_t>(tab)];
    if (auto st = model::patchTab(next, body, isoNow()); !st) return st.error();
    auto rev = store_.updateTab(show_.id, page, tab, next, origin_);
    if (!rev) return rev;
    show_.pages[static_cast<std::size_t>(page)].tabs[static_cast<std::size_t>(tab)] = std::move(next);
    pagesText_.clear();
    revision_ = *rev;
    lastSave_ = isoNow(true);
    return rev;
}

Result<std::uint64_t> ShowService::setCell(int page, int tab, int row, int col, const json::value& body) {
    if (page < 0 || page >= static_cast<int>(show_.pages.size())) return noPage(page);
    if (tab < 0 || tab >= model::kTabsPerPage)
        return makeError(Errc::not_found, "tab", "no tab " + std::to_string(tab) + " (a page has tabs 0 to 7)");
    const model::Grid& g = show_.pages[static_cast<std::size_t>(page)].tabs[static_cast<std::size_t>(tab)].grid;
    if (row < 0 || row >= g.rows)
        return makeError(Errc::bad_request, "row", "row " + std::to_string(row) + " is outside the grid (0 to " + std::to_string(g.rows - 1) + ")");
    if (col < 0 || col >= g.cols)
        return makeError(Errc::bad_request, "col", "column " + std::to_string(col) + " is outside the grid (0 to " + std::to_string(g.cols - 1) + ")");
    const json::value* c = body.is_object() ? body.as_object().if_contains("clip") : nullptr;
    if (!c || body.as_object().size() != 1) return makeError(Errc::bad_request, "body", "must be {\"clip\": id} or {\"clip\": null}");
    std::optional<model::ClipId> clip;
    if (!c->is_null()) {
        if (!(c->is_uint64() || (c->is_int64() && c->as_int64() > 0)) || !show_.findClip(c->to_number<model::ClipId>()))
            return makeError(Errc::not_found, "clip", "no clip with that id");
        clip = c->to_number<model::ClipId>();
    }
    auto rev = store_.setCell(show_.id, page, tab, row, col, clip, origin_);
    if (!rev) return rev;
    auto& cells = show_.cells;
    auto it = std::find_if(cells.begin(), cells.end(), [&](const model::Cell& x) {
        return x.page == page && x.tab == tab && x.row == row && x.col == col;
    });
    if (it != cells.end()) cells.erase(it);
    if (clip) {
        const model::Cell cell{page, tab, row, col, *clip};
        auto pos = std::lower_bound(cells.begin(), cells.end(), cell, [](const model::Cell& a, const model::Cell& b) {
            return std::tie(a.page, a.tab, a.row, a.col) < std::tie(b.page, b.tab, b.row, b.col);
        });
        cells.insert(pos, cell);
    }
    pagesText_.clear();
    revision_ = *rev;
    lastSave_ = isoNow(true);
    return rev;
}

Result<std::uint64_t> ShowService::editSettings(const std::string& section, const json::value& body) {
    auto it = show_.settings.find(section);
    if (it == show_.settings.end()) return makeError(Errc::not_found, "section", "no settings section '" + section + "'");
    json::object next = it->second;
    if (auto st = model::patchSection(section, next, body); !st) return st.error();
    auto rev = store_.updateSettings(show_.id, section, next, origin_);
    if (!rev) return rev;
    it->second = std::move(next);
    settingsText_.clear();
    revision_ = *rev;
    lastSave_ = isoNow(true);
    if (onLoad_) onLoad_();  // a new tempo may need renders
    return rev;
}

Result<std::pair<std::uint64_t, std::uint64_t>> ShowService::putMapping(std::uint64_t id, const json::value& body) {
    auto m = model::parseMapping(body);
    if (!m) return m.error();
    if (const json::value* c = m->if_contains("clip"); c && !show_.findClip(c->to_number<model::ClipId>()))
        return makeError(Errc::not_found, "clip", "no clip with id " + std::to_string(c->to_number<model::ClipId>()));
    auto r = store_.putMapping(show_.id, id, *m, origin_);
    if (!r) return r;
    if (auto s = load(); !s) return s.error();
    revision_ = r->second;
    return r;
}

Result<std::uint64_t> ShowService::deleteMapping(std::uint64_t id) {
    auto r = store_.deleteMapping(show_.id, id, origin_);
    if (!r) return r;
    if (auto s = load(); !s) return s.error();
    return r;
}

json::object ShowService::storeInfo() const {
    json::object o{{"format_version", store_.formatVersion()},
                   {"read_only", !store_.readOnlyReason().empty()},
                   {"auto_save", "every edit is committed to disk before it is acknowledged"},
                   {"last_save", lastSave_}};
    if (!store_.readOnlyReason().empty()) o["read_only_reason"] = store_.readOnlyReason();
    return o;
}

void ShowService::setEngineLive(json::object live) {
    engineMissing_.clear();
    if (auto* m = live.if_contains("missing"); m && m->is_array())
        for (const auto& v : m->as_array())
            if (v.is_number()) engineMissing_.insert(v.to_number<model::ClipId>());
    live.erase("missing");
    live_ = std::move(live);
}

void ShowService::setEngineDisconnected() {
    live_.clear();
}

bool ShowService::clipPlaying(model::ClipId id) const {
    const json::value* clips = live_.if_contains("clips");
    if (!clips || !clips->is_array()) return false;
    for (const auto& c : clips->as_array())
        if (c.as_object().at("id").to_number<model::ClipId>() == id) return true;
    return false;
}

}  // namespace cuebox::web
