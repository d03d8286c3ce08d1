#include "model/ShowJson.h"

#include <boost/json.hpp>

#include <algorithm>

namespace cuebox::model {
namespace json = boost::json;

namespace {
template <typename T>
json::value opt(const std::optional<T>& v) {
    if (!v) return nullptr;
    if constexpr (std::is_same_v<T, FadeCurve>) return json::value(name(*v));
    else return json::value(*v);
}
}  // namespace

json::object toJson(const Clip& c) {
    return json::object{
        {"id", c.id},
        {"label", c.label},
        {"color", c.color},
        {"file", c.file},
        {"group", std::string(1, c.group)},
        {"level_db", c.levelDb},
        {"fade_in_ms", opt(c.fadeInMs)},
        {"fade_out_ms", opt(c.fadeOutMs)},
        {"loop", c.loop},
        {"loop_count", c.loopCount},
        {"tempo_sync", c.tempoSync},
        {"pitch_semitones", c.pitchSemitones},
        {"bpm", opt(c.bpm)},
        {"media", c.media},
        {"normalize", c.normalize},
        {"quantize", c.quantize.empty() ? json::value(nullptr) : json::value(c.quantize)},
        {"timecode", c.timecode.empty() ? json::value(nullptr) : json::value(c.timecode)},
        {"fade_in_curve", opt(c.fadeInCurve)},
        {"fade_out_curve", opt(c.fadeOutCurve)},
        {"crossfade_ms", opt(c.crossfadeMs)},
        {"crossfade_curve", opt(c.crossfadeCurve)},
        {"power_comp", opt(c.powerComp)},
        {"play_mode", name(c.playMode)},
        {"second_press", name(c.secondPress)},
        {"channels", c.channels},
        {"duration_s", c.durationS},
    };
}

json::object toJson(const Grid& g) {
    return json::object{
        {"rows", g.rows},           {"cols", g.cols},
        {"prev_rows", g.prevRows},  {"prev_cols", g.prevCols},
        {"resized_at", g.resizedAt}, {"layout_version", g.layoutVersion},
    };
}

json::object pageToJson(const Show& s, std::size_t pi) {
    const Page& p = s.pages.at(pi);
    const int page = static_cast<int>(pi);
    // Cells are ordered by (page, tab, row, col): find the page's first one,
    // then walk them once.
    std::size_t ci = static_cast<std::size_t>(
        std::lower_bound(s.cells.begin(), s.cells.end(), page, [](const Cell& c, int pg) { return c.page < pg; }) -
        s.cells.begin());
    json::array tabs;
    tabs.reserve(kTabsPerPage);
    for (int ti = 0; ti < kTabsPerPage; ++ti) {
        const Tab& t = p.tabs[static_cast<std::size_t>(ti)];
        json::array cells;
        while (ci < s.cells.size() && s.cells[ci].page == page && s.cells[ci].tab < ti) ++ci;
        for (; ci < s.cells.size() && s.cells[ci].page == page && s.cells[ci].tab == ti; ++ci) {
            const Cell& c = s.cells[ci];
            json::object cell{{"row", c.row}, {"col", c.col}, {"clip", c.clip}};
            if (c.row >= t.grid.rows || c.col >= t.grid.cols) cell["hidden"] = true;
            cells.push_back(std::move(cell));
        }
        tabs.push_back(json::object{{"index", ti}, {"name", t.name}, {"grid", toJson(t.grid)}, {"cells", std::move(cells)}});
    }
    return json::object{{"index", pi}, {"name", p.name}, {"active_tab", p.activeTab}, {"tabs", std::move(tabs)}};
}

json::array pagesToJson(const Show& s) {
    json::array pages;
    pages.reserve(s.pages.size());
    for (std::size_t pi = 0; pi < s.pages.size(); ++pi) pages.push_back(pageToJson(s, pi));
    return pages;
}

json::object showToJson(const Show& s, const std::vector<bool>& missing) {
    json::array pages = pagesToJson(s);
    json::array clips;
    clips.reserve(s.clips.size());
    for (std::size_t i = 0; i < s.clips.size(); ++i) {
        json::object c = toJson(s.clips[i]);
        c["status"] = missing[i] ? "missing" : "ok";
        clips.push_back(std::move(c));
    }
    return json::object{
        {"id", s.id},
        {"name", s.name},
        {"view_mode", s.viewMode == ViewMode::dual ? "dual" : "single"},
        {"active_page", s.activePage},
        {"pages", std::move(pages)},
        {"clips", std::move(clips)},
        {"audio", toJson(s.audio)},
    };
}

namespace {
Error bad(const std::string& field, const std::string& reason) { return makeError(Errc::corrupt, field, reason); }

template <typename T>
bool get(const json::object& o, const char* key, T& out) {
    const json::value* v = o.if_contains(key);
    if (!v) return false;
    if constexpr (std::is_same_v<T, std::string>) {
        if (!v->is_string()) return false;
        out = std::string(v->as_string());
    } else if constexpr (std::is_same_v<T, bool>) {
        if (!v->is_bool()) return false;
        out = v->as_bool();
    } else if constexpr (std::is_floating_point_v<T>) {
        if (!v->is_number()) return false;
        out = v->to_number<T>();
    } else {
        if (!v->is_int64() && !v->is_uint64()) return false;
        out = v->to_number<T>();
    }
    return true;
}
}  // namespace

Result<Clip> clipFromJson(const json::value& v) {
    if (!v.is_object()) return bad("clip", "clip record is not an object");
    const json::object& o = v.as_object();
    Clip c;
    std::string group;
    if (!get(o, "id", c.id) || !get(o, "label", c.label) || !get(o, "file", c.file) || !get(o, "group", group) ||
        group.size() != 1)
        return bad("clip", "clip record lacks id, label, file or group");
    c.group = group[0];
    get(o, "color", c.color);
    get(o, "level_db", c.levelDb);
    int n = 0;
    bool b = false;
    if (get(o, "fade_in_ms", n)) c.fadeInMs = n;
    if (get(o, "fade_out_ms", n)) c.fadeOutMs = n;
    get(o, "loop", c.loop);
    get(o, "loop_count", c.loopCount);
    get(o, "tempo_sync", c.tempoSync);
    get(o, "pitch_semitones", c.pitchSemitones);
    if (double bpm = 0; get(o, "bpm", bpm)) c.bpm = bpm;
    get(o, "media", c.media);
    get(o, "normalize", c.normalize);
    get(o, "quantize", c.quantize);
    get(o, "timecode", c.timecode);
    if (get(o, "crossfade_ms", n)) c.crossfadeMs = n;
    if (get(o, "power_comp", b)) c.powerComp = b;
    std::string e;
    FadeCurve fc;
    if (get(o, "fade_in_curve", e) && parse(e, fc)) c.fadeInCurve = fc;
    if (get(o, "fade_out_curve", e) && parse(e, fc)) c.fadeOutCurve = fc;
    if (get(o, "crossfade_curve", e) && parse(e, fc)) c.crossfadeCurve = fc;
    if (get(o, "play_mode", e)) parse(e, c.playMode);
    if (get(o, "second_press", e)) parse(e, c.secondPress);
    get(o, "channels", c.channels);
    get(o, "duration_s", c.durationS);
    return c;
}

Result<Grid> gridFromJson(const json::value& v) {
    if (!v.is_object()) return bad("grid", "grid record is not an object");
    const json::object& o = v.as_object();
    Grid g;
    if (!get(o, "rows", g.rows) || !get(o, "cols", g.cols)) return bad("grid", "grid record lacks rows or cols");
    get(o, "prev_rows", g.prevRows);
    get(o, "prev_cols", g.prevCols);
    get(o, "resized_at", g.resizedAt);
    get(o, "layout_version", g.layoutVersion);
    return g;
}

}  // namespace cuebox::model
