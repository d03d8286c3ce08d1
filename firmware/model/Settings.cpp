#include "model/Settings.h"

#include "model/Field.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <array>
#include <iterator>
#include <span>

namespace cuebox::model {
namespace json = boost::json;

namespace {
using field::bad;

// paths: a list of up to 16 paths; shares: a list of up to 16 {from, to}
// path pairs (network share mappings); order: the choices, each at most
// once, in an order (a priority list); numbers: up to 16 distinct whole
// numbers in [lo, hi]; identities: up to 16 PTP clock identities
// (xxxxxx.xxxx.xxxxxx, hex); midi_sources: the time-source MIDI ports, one
// object each (see k_midi_source).
enum class Kind { number, whole, flag, choice, text, path, paths, shares, order, numbers, identities, midi_sources };

// A declared member. Plain constants only (no allocation at static init):
// `choices` is comma-separated, `def` is the default as JSON text.
struct Member {
    const char* name;
    Kind kind;
    double lo, hi;
    const char* choices;
    const char* def;
};

struct Section {
    const char* name;
    const Member* members;
    std::size_t count;
};

// The global tempo: set by hand (tempo_bpm) or followed from MIDI clock
// (the time source's best MIDI clock port), for quantized launches and
// tempo-synced clips.
constexpr Member k_transport[] = {
    {"tempo_bpm", Kind::number, 20, 300, "", "120.0"},
    {"tempo_source", Kind::choice, 0, 0, "manual,midi_clock", "\"manual\""},
    {"clip_tempo_sync", Kind::flag, 0, 0, "", "false"},
};
// Time sources (sync/Clock.h): the priority order (the box's own clock is
// always the last resort), automatic failover, how long a degraded source
// is kept and a recovered one must be healthy; per source its switch, its
// quality limits (drift, jitter, instability -> a score 0..1; under the
// threshold it is degraded) and what a loss does; PTP through ptp4l's
// management socket with allow-lists of grandmasters and domains; LTC's
// input (the JACK port patched to cuebox:ltc_in), buffer and level floor;
// MIDI (MTC and MIDI clock) from up to four ports of equal priority, each
// with its own limits.
constexpr Member k_time_sources[] = {
    {"order", Kind::order, 0, 0, "ptp,ltc,mtc,midi_clock,internal", "[\"ptp\",\"ltc\",\"mtc\",\"midi_clock\",\"internal\"]"},
    {"auto_failover", Kind::flag, 0, 0, "", "true"},
    {"failover_ms", Kind::whole, 0, 10000, "", "1000"},
    {"recover_ms", Kind::whole, 0, 600000, "", "5000"},
    {"ptp_enabled", Kind::flag, 0, 0, "", "true"},
    {"ptp_socket", Kind::path, 0, 0, "", "\"/var/run/ptp4l\""},
    {"ptp_interface", Kind::text, 0, 0, "", "\"eth0\""},
    {"ptp_domain", Kind::whole, 0, 127, "", "0"},
    {"ptp_allowed_grandmasters", Kind::identities, 0, 0, "", "[]"},
    {"ptp_allowed_domains", Kind::numbers, 0, 127, "", "[]"},
    {"ptp_max_offset_us", Kind::number, 0.1, 1000000, "", "1000.0"},
    {"ptp_max_drift_ppm", Kind::number, 0.01, 1000, "", "100.0"},
    {"ptp_max_jitter_us", Kind::number, 0.01, 100000, "", "100.0"},
    {"ptp_max_instability_ppm", Kind::number, 0.01, 1000, "", "20.0"},
    {"ptp_quality_threshold", Kind::number, 0, 1, "", "0.5"},
    {"ptp_on_loss", Kind::choice, 0, 0, "failover,freewheel", "\"failover\""},
    {"ltc_enabled", Kind::flag, 0, 0, "", "true"},
    {"ltc_port", Kind::text, 0, 0, "", "\"\""},
    {"ltc_fps", Kind::choice, 0, 0, "auto,24,25,29.97df,30", "\"auto\""},
    {"ltc_buffer_ms", Kind::whole, 20, 2000, "", "250"},
    {"ltc_lock_frames", Kind::whole, 2, 25, "", "2"},
    {"ltc_min_level_dbfs", Kind::number, -60, 0, "", "-36.0"},
    {"ltc_max_drift_ppm", Kind::number, 0.01, 1000, "", "100.0"},
    {"ltc_max_jitter_us", Kind::number, 0.01, 100000, "", "1000.0"},
    {"ltc_max_instability_ppm", Kind::number, 0.01, 1000, "", "20.0"},
    {"ltc_quality_threshold", Kind::number, 0, 1, "", "0.5"},
    {"ltc_on_loss", Kind::choice, 0, 0, "failover,freewheel", "\"failover\""},
    {"mtc_enabled", Kind::flag, 0, 0, "", "true"},
    {"mtc_on_loss", Kind::choice, 0, 0, "failover,freewheel", "\"failover\""},
    {"midi_clock_enabled", Kind::flag, 0, 0, "", "true"},
    {"midi_clock_on_loss", Kind::choice, 0, 0, "failover,freewheel", "\"failover\""},
    {"midi_sources", Kind::midi_sources, 0, 0, "", "[{},{},{},{}]"},
};
// One MIDI time-source port (cuebox:sync_in_N, N = its place in the list).
constexpr Member k_midi_source[] = {
    {"port", Kind::text, 0, 0, "", "\"\""},  // the JACK port patched to it ("" = leave its connections alone)
    {"enabled", Kind::flag, 0, 0, "", "true"},
    {"max_drift_ppm", Kind::number, 0.01, 1000, "", "100.0"},
    {"max_jitter_us", Kind::number, 0.01, 100000, "", "2000.0"},
    {"max_instability_ppm", Kind::number, 0.01, 1000, "", "50.0"},
    {"quality_threshold", Kind::number, 0, 1, "", "0.5"},
};
// Only what the firmware honours: the panic fade (the default of a panic
// without fade_ms), the CPU the audio thread is pinned to (-1 = any; the
// engine sets it on the JACK process thread) and the streaming threshold
// (the engine's clip loader). The RT priority is the image's jackd setting
// (reported in the health), the overload thresholds the engine's constants
// (docs/PERFORMANCE.md).
constexpr Member k_emergency[] = {
    {"panic_fade_ms", Kind::whole, 0, 3000, "", "1000"},
    {"audio_cpu", Kind::whole, -1, 63, "", "-1"},
};
constexpr Member k_voices[] = {
    {"stream_above_s", Kind::number, 1, 3600, "", "60.0"},
};
constexpr Member k_time_division[] = {
    {"beats_per_bar", Kind::whole, 1, 16, "", "4"},
    {"beat_unit", Kind::choice, 0, 0, "2,4,8,16", "\"4\""},
    {"quantize", Kind::choice, 0, 0, "off,beat,bar,frame", "\"off\""},
    // A boundary closer than this is passed over for the next one, so the
    // start reaches the engine before its sample.
    {"snap_min_ms", Kind::whole, 0, 500, "", "20"},
    // Timecode frame rates of the clip groups (quantize to a frame).
    {"fps_a", Kind::choice, 0, 0, "24,25,29.97df,30", "\"25\""},
    {"fps_b", Kind::choice, 0, 0, "24,25,29.97df,30", "\"25\""},
    {"fps_c", Kind::choice, 0, 0, "24,25,29.97df,30", "\"25\""},
    {"fps_d", Kind::choice, 0, 0, "24,25,29.97df,30", "\"25\""},
};
constexpr Member k_media[] = {
    {"library_path", Kind::path, 0, 0, "", "\"media\""},
    {"recordings_path", Kind::path, 0, 0, "", "\"media/recordings\""},
    {"import_path", Kind::path, 0, 0, "", "\"import\""},
    {"export_path", Kind::path, 0, 0, "", "\"exports\""},
    // The central repository of shared media on the box (each show's own
    // media lives in library_path/show-<id>).
    {"repository_path", Kind::path, 0, 0, "", "\"media/repository\""},
    // Where missing media is looked for besides the project folder and
    // the repository, in order.
    {"search_paths", Kind::paths, 0, 0, "", "[]"},
    // Network share mappings: a missing file's path starting with `from`
    // is looked for under `to` ("//fileserver/sfx" -> "/mnt/sfx").
    {"share_mappings", Kind::shares, 0, 0, "", "[]"},
    // Normalised clips play at this integrated loudness.
    {"loudness_target_lufs", Kind::number, -40, -5, "", "-23.0"},
    // Clips whose media is missing are searched for when a show loads; one
    // exact content match is relinked without asking.
    {"check_on_load", Kind::flag, 0, 0, "", "true"},
    {"auto_relink", Kind::flag, 0, 0, "", "true"},
};
constexpr Member k_logging[] = {
    {"level", Kind::choice, 0, 0, "debug,info,warn,error", "\"info\""},
    {"retention_days", Kind::whole, 1, 3650, "", "90"},
    {"retention_mb", Kind::whole, 1, 256, "", "64"},  // the log shares the store's 2 GiB map
    {"auto_export_minutes", Kind::whole, 0, 10080, "", "0"},
    {"auto_export_format", Kind::choice, 0, 0, "csv,json,xml", "\"csv\""},
    {"auto_export_path", Kind::path, 0, 0, "", "\"exports/log\""},
};
constexpr Member k_recovery[] = {
    {"auto_minutes", Kind::whole, 0, 240, "", "10"},
    {"keep_auto", Kind::whole, 1, 200, "", "20"},
    {"backup_path", Kind::path, 0, 0, "", "\"backups\""},
    {"backup_keep", Kind::whole, 1, 100, "", "10"},
    {"backup_every_hours", Kind::whole, 0, 168, "", "24"},
};
constexpr Member k_platform[] = {
    {"box_name", Kind::text, 0, 0, "", "\"cuebox\""},
    {"location", Kind::text, 0, 0, "", "\"\""},
    {"timezone", Kind::text, 0, 0, "", "\"UTC\""},
};
// The tablets: a second start of the same cell within double_tap_ms is
// ignored (a stop never is).
constexpr Member k_perform[] = {
    {"double_tap_ms", Kind::whole, 0, 2000, "", "300"},
};
// MIDI control (notes, CC, program change on cuebox:midi_in; 0 = any
// channel), MIDI Show Control (the box's device id 0-111, an optional group
// id 112-126 (0 = none), the command format it answers besides all-types:
// 16 = sound general; GO/STOP/RESUME with a cue number act on the clip of
// that id when no mapping says otherwise), and feedback notes on
// cuebox:midi_out that light a grid controller's pads with the cell state.
constexpr Member k_control[] = {
    {"midi_enabled", Kind::flag, 0, 0, "", "true"},
    {"midi_channel", Kind::whole, 0, 16, "", "0"},
    {"midi_feedback", Kind::flag, 0, 0, "", "true"},
    {"msc_enabled", Kind::flag, 0, 0, "", "true"},
    {"msc_device_id", Kind::whole, 0, 111, "", "1"},
    {"msc_group", Kind::whole, 0, 126, "", "0"},
    {"msc_format", Kind::whole, 1, 127, "", "16"},
    {"msc_cue_is_clip", Kind::flag, 0, 0, "", "true"},
};
constexpr Section kSections[] = {
    {"transport", k_transport, std::size(k_transport)},
    {"time_sources", k_time_sources, std::size(k_time_sources)},
    {"emergency", k_emergency, std::size(k_emergency)},
    {"voices", k_voices, std::size(k_voices)},
    {"time_division", k_time_division, std::size(k_time_division)},
    {"media", k_media, std::size(k_media)},
    {"logging", k_logging, std::size(k_logging)},
    {"recovery", k_recovery, std::size(k_recovery)},
    {"platform", k_platform, std::size(k_platform)},
    {"perform", k_perform, std::size(k_perform)},
    {"control", k_control, std::size(k_control)},
};

const Section* findSection(const std::string& name) {
    for (const auto& s : kSections)
        if (name == s.name) return &s;
    return nullptr;
}

std::vector<std::string> choicesOf(const Member& m) {
    std::vector<std::string> out;
    std::string_view c = m.choices;
    while (!c.empty()) {
        const std::size_t comma = c.find(',');
        out.emplace_back(c.substr(0, comma));
        c = comma == std::string_view::npos ? std::string_view{} : c.substr(comma + 1);
    }
    return out;
}

std::string choiceList(const Member& m) {
    std::string out;
    for (const auto& c : choicesOf(m)) out += (out.empty() ? "" : ", ") + c;
    return out;
}

json::value defaultOf(const Member& m) { return json::parse(m.def); }

std::span<const Member> membersOf(const Section& s) { return {s.members, s.count}; }

Result<json::value> check(const Member& m, const json::value& v, const std::string& f) {
    switch (m.kind) {
    case Kind::number: {
        if (!v.is_number()) return bad(f, "must be a number");
        const double d = v.to_number<double>();
        if (!std::isfinite(d) || d < m.lo || d > m.hi)
            return bad(f, "must be from " + json::serialize(json::value(m.lo)) + " to " + json::serialize(json::value(m.hi)));
        return json::value(d);
    }
    case Kind::whole: {
        auto n = field::wholeNumber(v, f, static_cast<int>(m.lo), static_cast<int>(m.hi));
        if (!n) return n.error();
        return json::value(*n);
    }
    case Kind::flag: {
        auto b = field::flag(v, f);
        if (!b) return b.error();
        return json::value(*b);
    }
    case Kind::choice:
        if (v.is_string())
            for (const auto& c : choicesOf(m))
                if (v.as_string() == c) return json::value(c);
        return bad(f, "must be one of " + choiceList(m));
    case Kind::text: {
        auto t = field::text(v, f);
        if (!t) return t.error();
        return json::value(*t);
    }
    case Kind::paths: {
        if (!v.is_array() || v.as_array().size() > 16) return bad(f, "must be a list of up to 16 paths");
        json::array out;
        Member one = m;
        one.kind = Kind::path;
        for (std::size_t i = 0; i < v.as_array().size(); ++i) {
            auto p = check(one, v.as_array()[i], f + "[" + std::to_string(i) + "]");
            if (!p) return p.error();
            out.push_back(std::move(*p));
        }
        return json::value(std::move(out));
    }
    case Kind::shares: {
        if (!v.is_array() || v.as_array().size() > 16) return bad(f, "must be a list of up to 16 {from, to} mappings");
        json::array out;
        for (std::size_t i = 0; i < v.as_array().size(); ++i) {
            const std::string at = f + "[" + std::to_string(i) + "]";
            const json::value& e = v.as_array()[i];
            if (!e.is_object() || e.as_object().size() != 2 || !e.as_object().contains("from") || !e.as_object().contains("to"))
                return bad(at, "must be {\"from\": path, \"to\": path}");
            const json::value& from = e.as_object().at("from");
            if (!from.is_string() || from.as_string().empty() || from.as_string().size() > 255)
                return bad(at + ".from", "must be a path or share name of 1 to 255 bytes");
            Member one = m;
            one.kind = Kind::path;
            auto to = check(one, e.as_object().at("to"), at + ".to");
            if (!to) return to.error();
            if (to->as_string().empty() || to->as_string()[0] != '/') return bad(at + ".to", "must be an absolute path (where the share is mounted)");
            out.push_back(json::object{{"from", from}, {"to", std::move(*to)}});
        }
        return json::value(std::move(out));
    }
    case Kind::order: {
        const auto all = choicesOf(m);
        if (!v.is_array() || v.as_array().empty() || v.as_array().size() > all.size())
            return bad(f, "must be a list of " + choiceList(m) + ", each at most once");
        json::array out;
        for (std::size_t i = 0; i < v.as_array().size(); ++i) {
            const json::value& e = v.as_array()[i];
            const std::string at = f + "[" + std::to_string(i) + "]";
            if (!e.is_string() || std::find(all.begin(), all.end(), std::string(e.as_string())) == all.end())
                return bad(at, "must be one of " + choiceList(m));
            for (const auto& x : out)
                if (x.as_string() == e.as_string()) return bad(at, "names " + std::string(e.as_string()) + " twice");
            out.push_back(e);
        }
        return json::value(std::move(out));
    }
    case Kind::numbers: {
        if (!v.is_array() || v.as_array().size() > 16) return bad(f, "must be a list of up to 16 whole numbers");
        json::array out;
        for (std::size_t i = 0; i < v.as_array().size(); ++i) {
            auto n = field::wholeNumber(v.as_array()[i], f + "[" + std::to_string(i) + "]", static_cast<int>(m.lo), static_cast<int>(m.hi));
            if (!n) return n.error();
            for (const auto& x : out)
                if (x.as_int64() == *n) return bad(f + "[" + std::to_string(i) + "]", "is listed twice");
            out.push_back(*n);
        }
        return json::value(std::move(out));
    }
    case Kind::identities: {
        if (!v.is_array() || v.as_array().size() > 16) return bad(f, "must be a list of up to 16 PTP clock identities");
        json::array out;
        for (std::size_t i = 0; i < v.as_array().size(); ++i) {
            const json::value& e = v.as_array()[i];
            const std::string at = f + "[" + std::to_string(i) + "]";
            // As pmc and ptp4l print them: 6.4.6 hex digits, e.g. 001122.fffe.334455.
            std::string id = e.is_string() ? std::string(e.as_string()) : std::string();
            bool ok = id.size() == 18 && id[6] == '.' && id[11] == '.';
            for (std::size_t k = 0; ok && k < id.size(); ++k) {
                if (k == 6 || k == 11) continue;
                const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(id[k])));
                ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                id[k] = c;
            }
            if (!ok) return bad(at, "must be a clock identity like 001122.fffe.334455");
            out.push_back(json::value(id));
        }
        return json::value(std::move(out));
    }
    case Kind::midi_sources: {
        if (!v.is_array() || v.as_array().size() != 4) return bad(f, "must be a list of 4 port settings (cuebox:sync_in_1..4)");
        json::array out;
        for (std::size_t i = 0; i < 4; ++i) {
            const json::value& e = v.as_array()[i];
            const std::string at = f + "[" + std::to_string(i) + "]";
            if (!e.is_object()) return bad(at, "must be an object");
            json::object o;
            for (const auto& mm : k_midi_source) {
                const json::value* x = e.as_object().if_contains(mm.name);
                if (!x) {
                    o[mm.name] = defaultOf(mm);
                    continue;
                }
                auto c = check(mm, *x, at + "." + mm.name);
                if (!c) return c.error();
                o[mm.name] = std::move(*c);
            }
            for (const auto& [k, x] : e.as_object()) {
                bool known = false;
                for (const auto& mm : k_midi_source) known = known || k == mm.name;
                if (!known) return bad(at + "." + std::string(k), "is not a MIDI source setting (port, enabled, max_drift_ppm, max_jitter_us, max_instability_ppm, quality_threshold)");
            }
            out.push_back(std::move(o));
        }
        return json::value(std::move(out));
    }
    case Kind::path: {
        if (!v.is_string()) return bad(f, "must be a path (a string)");
        const std::string p(v.as_string());
        if (p.empty() || p.size() > 255) return bad(f, "must be a path of 1 to 255 bytes");
        for (unsigned char ch : p)
            if (ch < 0x20 || ch == 0x7f) return bad(f, "must not contain control characters");
        // Plain components: a path stays inside the data folder or names
        // an absolute mount point (USB stick, network share).
        std::string q = p;
        while (q.size() > 1 && q.back() == '/') q.pop_back();  // "/media/usb/" is "/media/usb"
        if (!field::plainPath(q, true)) return bad(f, "must be a plain path: no '.' or '..' parts, no empty parts, no backslash");
        return json::value(q);
    }
    }
    return bad(f, "unknown member kind");
}

const char* kindName(Kind k) {
    switch (k) {
    case Kind::number: return "number";
    case Kind::whole: return "integer";
    case Kind::flag: return "boolean";
    case Kind::choice: return "choice";
    case Kind::text: return "text";
    case Kind::path: return "path";
    case Kind::paths: return "paths";
    case Kind::shares: return "share mappings";
    case Kind::order: return "order";
    case Kind::numbers: return "integers";
    case Kind::identities: return "clock identities";
    case Kind::midi_sources: return "MIDI sources";
    }
    return "?";
}
}  // namespace

Settings defaultSettings() {
    Settings s;
    for (const auto& sec : kSections) s[sec.name] = completeSection(sec.name, {});
    return s;
}

std::vector<std::string> settingsSections() {
    std::vector<std::string> out;
    for (const auto& s : kSections) out.emplace_back(s.name);
    return out;
}

json::object completeSection(const std::string& section, const json::object& stored) {
    json::object out;
    const Section* s = findSection(section);
    if (!s) return out;
    for (const auto& m : membersOf(*s)) {
        const json::value* v = stored.if_contains(m.name);
        auto c = v ? check(m, *v, m.name) : Result<json::value>(Error{});
        if (c) {
            out[m.name] = *c;
        } else if (v && v->is_number() && (m.kind == Kind::number || m.kind == Kind::whole)) {
            // A stored number outside a range that has since narrowed is
            // clamped to it, not reset to the default.
            const double d = std::clamp(v->to_number<double>(), m.lo, m.hi);
            out[m.name] = m.kind == Kind::whole ? json::value(static_cast<std::int64_t>(std::llround(d))) : json::value(d);
        } else {
            // A list default of objects ("[{},{}]") is completed by its check.
            auto d = check(m, defaultOf(m), m.name);
            out[m.name] = d ? *d : defaultOf(m);
        }
    }
    return out;
}

Status patchSection(const std::string& section, json::object& values, const json::value& body) {
    const Section* s = findSection(section);
    if (!s) return makeError(Errc::not_found, "section", "no settings section '" + section + "'");
    if (!body.is_object() || body.as_object().empty())
        return bad("body", "must be a JSON object naming members of " + section);
    json::object next = completeSection(section, values);
    for (const auto& [k, v] : body.as_object()) {
        const Member* m = nullptr;
        for (const auto& mm : membersOf(*s))
            if (k == mm.name) m = &mm;
        const std::string f = section + "." + std::string(k);
        if (!m) {
            std::string names;
            for (const auto& mm : membersOf(*s)) names += (names.empty() ? "" : ", ") + std::string(mm.name);
            return bad(f, "is not a member of " + section + " (" + names + ")");
        }
        auto c = check(*m, v, f);
        if (!c) return c.error();
        next[k] = *c;
    }
    values = std::move(next);
    return {};
}

json::object settingsSchema() {
    json::object out;
    for (const auto& s : kSections) {
        json::object sec;
        for (const auto& m : membersOf(s)) {
            auto full = check(m, defaultOf(m), m.name);
            json::object d{{"type", kindName(m.kind)}, {"default", full ? *full : defaultOf(m)}};
            if (m.kind == Kind::number || m.kind == Kind::whole || m.kind == Kind::numbers) {
                d["min"] = m.lo;
                d["max"] = m.hi;
            }
            if (m.kind == Kind::choice || m.kind == Kind::order) {
                json::array c;
                for (const auto& x : choicesOf(m)) c.emplace_back(x);
                d["values"] = std::move(c);
            }
            sec[m.name] = std::move(d);
        }
        out[s.name] = std::move(sec);
    }
    return out;
}

namespace {
bool wholeText(std::string_view s, int lo, int hi) {
    if (s.empty() || s.size() > 3) return false;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    return v >= lo && v <= hi;
}

// The address forms each source accepts (docs/CONTROL.md): MIDI
// note/<channel 1-16>/<note 0-127>, cc/<ch>/<n>, pc/<ch>/<n>; MSC go, stop,
// resume with an optional /<cue> (digits and '.'), fire/<macro 0-127>,
// all_off; OSC any address starting with '/'; key: a key name.
Status checkAddress(const std::string& source, const std::string& a) {
    std::vector<std::string_view> part;
    for (std::size_t i = 0; i <= a.size();) {
        const std::size_t j = std::min(a.find('/', i), a.size());
        part.emplace_back(std::string_view(a).substr(i, j - i));
        i = j + 1;
    }
    if (source == "midi") {
        if (part.size() == 3 && (part[0] == "note" || part[0] == "cc" || part[0] == "pc") && wholeText(part[1], 1, 16) &&
            wholeText(part[2], 0, 127))
            return {};
        return bad("address", "a MIDI address is note/<channel 1-16>/<0-127>, cc/<channel>/<0-127> or pc/<channel>/<0-127>");
    }
    if (source == "msc") {
        auto cue = [](std::string_view c) {
            return !c.empty() && c.size() <= 16 && c.find_first_not_of("0123456789.") == std::string_view::npos;
        };
        if (part.size() == 1 && (part[0] == "go" || part[0] == "stop" || part[0] == "all_off")) return {};
        if (part.size() == 2 && (part[0] == "go" || part[0] == "stop" || part[0] == "resume") && cue(part[1])) return {};
        if (part.size() == 2 && part[0] == "fire" && wholeText(part[1], 0, 127)) return {};
        return bad("address", "an MSC address is go, stop, all_off, go/<cue>, stop/<cue>, resume/<cue> or fire/<macro 0-127>");
    }
    if (source == "osc") {
        if (a.size() < 2 || a[0] != '/' || a.size() > 256) return bad("address", "an OSC address starts with '/'");
        for (unsigned char c : a)
            if (c < 0x21 || c > 0x7e) return bad("address", "an OSC address is printable ASCII without spaces");
        return {};
    }
    return {};
}
}  // namespace

Result<json::object> parseMapping(const json::value& body) {
    if (!body.is_object()) return bad("body", "a mapping must be a JSON object");
    const auto& o = body.as_object();
    static constexpr std::array<const char*, 4> sources = {"osc", "midi", "msc", "key"};
    static constexpr std::array<const char*, 14> actions = {"start",  "stop",       "toggle", "press",      "release",
                                                            "pause",  "resume",     "stop_group", "panic", "page",
                                                            "tab",    "clip_level", "group_level", "master_level"};
    json::object out;
    auto oneOf = [](const json::value* v, std::span<const char* const> list) -> const char* {
        if (!v || !v->is_string()) return nullptr;
        for (const char* x : list)
            if (v->as_string() == x) return x;
        return nullptr;
    };
    auto joined = [](std::span<const char* const> list) {
        std::string s;
        for (const char* x : list) s += (s.empty() ? "" : ", ") + std::string(x);
        return s;
    };
    for (const auto& [k, v] : o)
        if (k != "source" && k != "address" && k != "action" && k != "clip" && k != "group" && k != "value" &&
            k != "enabled" && k != "page" && k != "tab" && k != "velocity")
            return bad(std::string(k).substr(0, 64),
                       "is not a mapping member (source, address, action, clip, group, value, page, tab, velocity, enabled)");
    const char* source = oneOf(o.if_contains("source"), sources);
    if (!source) return bad("source", "must be one of " + joined(sources));
    out["source"] = source;
    const json::value* addr = o.if_contains("address");
    auto a = addr ? field::text(*addr, "address", 1) : Result<std::string>(bad("address", "is required"));
    if (!a) return a.error();
    if (auto st = checkAddress(source, *a); !st) return st.error();
    out["address"] = *a;
    const char* action = oneOf(o.if_contains("action"), actions);
    if (!action) return bad("action", "must be one of " + joined(actions));
    out["action"] = action;
    const std::string act(action);
    const bool clipAction = act != "stop_group" && act != "panic" && act != "page" && act != "tab" && act != "group_level" &&
                            act != "master_level";
    if (clipAction) {
        const json::value* c = o.if_contains("clip");
        if (!c || !(c->is_uint64() || (c->is_int64() && c->as_int64() > 0)))
            return bad("clip", "must be a clip id for action " + act);
        out["clip"] = c->to_number<std::uint64_t>();
    }
    if (act == "stop_group" || act == "group_level") {
        const json::value* g = o.if_contains("group");
        if (!g || !g->is_string() || g->as_string().size() != 1 || g->as_string()[0] < 'A' || g->as_string()[0] > 'D')
            return bad("group", "must be one of A, B, C, D for action " + act);
        out["group"] = *g;
    }
    if (act == "page" || act == "tab") {
        const json::value* n = o.if_contains("value");
        auto v = n ? field::wholeNumber(*n, "value", 0, act == "tab" ? 7 : 255) : Result<int>(bad("value", "is required for action " + act));
        if (!v) return v.error();
        out["value"] = *v;
    }
    // The levels follow a controller's value (CC 0-127): only from MIDI CC.
    if ((act == "clip_level" || act == "group_level" || act == "master_level") &&
        !(std::string(source) == "midi" && a->rfind("cc/", 0) == 0))
        return bad("action", act + " follows a MIDI controller: its address is cc/<channel>/<number>");
    // Scope: the mapping acts only while this page (and tab) is the show's active one.
    if (const json::value* p = o.if_contains("page"); p && !p->is_null()) {
        auto v = field::wholeNumber(*p, "page", 0, 255);
        if (!v) return v.error();
        out["page"] = *v;
    }
    if (const json::value* t = o.if_contains("tab"); t && !t->is_null()) {
        if (!out.contains("page")) return bad("tab", "a tab scope needs a page");
        auto v = field::wholeNumber(*t, "tab", 0, 7);
        if (!v) return v.error();
        out["tab"] = *v;
    }
    if (const json::value* vel = o.if_contains("velocity"); vel && !vel->is_null()) {
        if (!vel->is_string() || (vel->as_string() != "ignore" && vel->as_string() != "level"))
            return bad("velocity", "must be ignore or level");
        if (vel->as_string() == "level" && (std::string(source) != "midi" || a->rfind("note/", 0) != 0 || act != "start"))
            return bad("velocity", "level applies to a MIDI note that starts a clip");
        out["velocity"] = *vel;
    }
    bool enabled = true;
    if (const json::value* e = o.if_contains("enabled")) {
        auto b = field::flag(*e, "enabled");
        if (!b) return b.error();
        enabled = *b;
    }
    out["enabled"] = enabled;
    return out;
}

}  // namespace cuebox::model
