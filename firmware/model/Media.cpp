#include "model/Media.h"

#include <boost/json.hpp>

namespace cuebox::model {
namespace json = boost::json;

namespace {

double number(const json::object& o, const char* k, double dflt) {
    const json::value* v = o.if_contains(k);
    if (!v) return dflt;
    if (v->is_double()) return v->as_double();
    if (v->is_int64()) return static_cast<double>(v->as_int64());
    return dflt;
}

template <typename T>
bool take(const json::object& o, const char* k, T& out) {
    const json::value* v = o.if_contains(k);
    if (!v) return false;
    if constexpr (std::is_same_v<T, std::string>) {
        if (!v->is_string()) return false;
        out = std::string(v->as_string());
    } else if constexpr (std::is_same_v<T, json::object>) {
        if (!v->is_object()) return false;
        out = v->as_object();
    } else if constexpr (std::is_same_v<T, json::array>) {
        if (!v->is_array()) return false;
        out = v->as_array();
    } else {
        if (!v->is_int64()) return false;
        out = static_cast<T>(v->as_int64());
    }
    return true;
}

}  // namespace

double MediaRecord::bpm() const {
    const json::value* t = analysis.if_contains("tempo");
    return t && t->is_object() ? number(t->as_object(), "bpm", 0.0) : 0.0;
}
double MediaRecord::loudnessLufs() const { return number(analysis, "loudness_lufs", -200.0); }
double MediaRecord::truePeakDb() const { return number(analysis, "true_peak_db", -200.0); }

bool validMediaId(const std::string& id) {
    if (id.size() != 64) return false;
    for (char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

json::object toJson(const MediaRecord& m, bool withWaveform) {
    json::object o{{"id", m.id},
                   {"name", m.name},
                   {"file", m.file},
                   {"file_sha256", m.fileSha256},
                   {"file_bytes", m.fileBytes},
                   {"original", m.original},
                   {"original_bytes", m.originalBytes},
                   {"source", m.source},
                   {"format", m.format},
                   {"source_rate", m.sourceRate},
                   {"source_channels", m.sourceChannels},
                   {"rate", m.rate},
                   {"location", m.location},
                   {"imported_at", m.importedAt},
                   {"analysis", m.analysis},
                   {"renders", m.renders}};
    if (withWaveform) o["waveform"] = m.waveform;
    return o;
}

Result<MediaRecord> mediaFromJson(const json::value& v) {
    if (!v.is_object()) return makeError(Errc::corrupt, "media", "media record is not an object");
    const json::object& o = v.as_object();
    MediaRecord m;
    if (!take(o, "id", m.id) || !validMediaId(m.id) || !take(o, "file", m.file) || m.file.empty())
        return makeError(Errc::corrupt, "media", "media record lacks its id (a content hash) or file");
    take(o, "name", m.name);
    take(o, "file_sha256", m.fileSha256);
    take(o, "file_bytes", m.fileBytes);
    take(o, "original", m.original);
    take(o, "original_bytes", m.originalBytes);
    take(o, "source", m.source);
    take(o, "format", m.format);
    take(o, "source_rate", m.sourceRate);
    take(o, "source_channels", m.sourceChannels);
    take(o, "rate", m.rate);
    take(o, "location", m.location);
    take(o, "imported_at", m.importedAt);
    take(o, "analysis", m.analysis);
    take(o, "waveform", m.waveform);
    take(o, "renders", m.renders);
    return m;
}

json::object toJson(const MediaCheck& c) {
    return json::object{{"clip", c.clip},       {"status", c.status},         {"path", c.path},
                        {"checked_at", c.checkedAt}, {"last_known_good", c.lastKnownGood}, {"candidates", c.candidates},
                        {"patterns", c.patterns}, {"history", c.history}};
}

Result<MediaCheck> mediaCheckFromJson(const json::value& v) {
    if (!v.is_object()) return makeError(Errc::corrupt, "media_check", "media check record is not an object");
    const json::object& o = v.as_object();
    MediaCheck c;
    if (!take(o, "clip", c.clip) || !take(o, "status", c.status))
        return makeError(Errc::corrupt, "media_check", "media check record lacks its clip or status");
    take(o, "path", c.path);
    take(o, "checked_at", c.checkedAt);
    take(o, "last_known_good", c.lastKnownGood);
    take(o, "candidates", c.candidates);
    take(o, "patterns", c.patterns);
    take(o, "history", c.history);
    return c;
}

}  // namespace cuebox::model
