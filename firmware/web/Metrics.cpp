#include "web/Metrics.h"

#include <boost/json.hpp>

#include <cmath>
#include <cstdio>

namespace cuebox::web {
namespace json = boost::json;

namespace {
class Writer {
public:
    // One metric family: HELP and TYPE once, then its samples.
    void family(const char* name, const char* type, const char* help) {
        out_ += "# HELP cuebox_";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE cuebox_";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    void sample(const char* name, double v, const std::string& labels = "") {
        char num[64];
        if (std::isnan(v)) std::snprintf(num, sizeof num, "NaN");
        else if (v == std::floor(v) && std::fabs(v) < 1e15) std::snprintf(num, sizeof num, "%.0f", v);
        else std::snprintf(num, sizeof num, "%.9g", v);
        out_ += "cuebox_";
        out_ += name;
        if (!labels.empty()) out_ += "{" + labels + "}";
        out_ += ' ';
        out_ += num;
        out_ += '\n';
    }
    void one(const char* name, const char* type, const char* help, double v) {
        family(name, type, help);
        sample(name, v);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

double num(const json::object* o, const char* key) {
    if (!o) return 0;
    const json::value* v = o->if_contains(key);
    if (!v) return 0;
    if (v->is_bool()) return v->as_bool() ? 1 : 0;
    return v->is_number() ? v->to_number<double>() : 0;
}

const json::object* obj(const json::object* o, const char* key) {
    if (!o) return nullptr;
    const json::value* v = o->if_contains(key);
    return v && v->is_object() ? &v->as_object() : nullptr;
}

// The offset of the source in use (live.clock.sources[] by name), 0 without one.
double activeOffsetNs(const json::object* clock, const std::string& source) {
    const json::value* list = clock ? clock->if_contains("sources") : nullptr;
    if (!list || !list->is_array()) return 0;
    for (const auto& v : list->as_array())
        if (v.is_object() && v.as_object().contains("name") && v.as_object().at("name") == json::value(source)) {
            const json::value* o = v.as_object().if_contains("offset_ns");
            return o && o->is_number() ? o->to_number<double>() : 0;
        }
    return 0;
}

std::string text(const json::object* o, const char* key, const char* fallback) {
    if (!o) return fallback;
    const json::value* v = o->if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : fallback;
}

// A label value: backslash, quote and newline escaped.
std::string label(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '\\' || c == '"') o += '\\';
        if (c == '\n') {
            o += "\\n";
            continue;
        }
        o += c;
    }
    return o;
}
}  // namespace

std::string metricsText(const json::object& live, const json::object& osc, const HttpCounters& http, std::size_t wsClients) {
    Writer w;
    const json::object* engine = obj(&live, "engine");
    const json::object* voices = obj(&live, "voices");
    w.one("engine_connected", "gauge", "1 while cuebox-web is connected to cuebox-engine.", num(engine, "connected"));
    w.one("voices_active", "gauge", "Voice pool slots in use (a stereo voice takes two).", num(voices, "active"));
    w.one("voices_pool", "gauge", "Voice pool slots in all.", num(voices, "pool"));
    w.one("dsp_load_ratio", "gauge", "DSP load of the process callback, averaged over 64 calls, as a fraction of the period.",
          num(engine, "dsp_load"));
    w.one("dsp_load_peak_ratio", "gauge", "Decaying peak of the DSP load, as a fraction of the period.", num(engine, "dsp_peak"));
    w.family("dsp_load_state", "gauge", "1 for the overload guard's current state (normal, warning, critical).");
    const std::string state = text(voices, "load_state", "normal");
    for (const char* s : {"normal", "warning", "critical"})
        w.sample("dsp_load_state", state == s ? 1 : 0, std::string("state=\"") + s + "\"");
    w.one("xruns_total", "counter", "JACK xruns seen by the engine since it started.", num(engine, "xruns"));
    w.one("stream_underruns_total", "counter", "Streamed clips that ran out of read-ahead since the engine started.",
          num(engine, "stream_underruns"));
    w.one("clips_playing", "gauge", "Clips playing, fading or paused.",
          live.contains("clips") && live.at("clips").is_array() ? static_cast<double>(live.at("clips").as_array().size()) : 0);

    // The clock: the time source in use and its offset from the reference.
    const json::object* clock = obj(&live, "clock");
    const std::string source = text(clock, "source", "internal");
    const std::string cstate = text(clock, "state", clock ? "unknown" : "free_running");
    w.family("clock_state", "gauge", "1 for the time source in use and its state.");
    w.sample("clock_state", 1, "source=\"" + label(source) + "\",state=\"" + label(cstate) + "\"");
    w.one("clock_offset_seconds", "gauge", "Offset of the time source in use from its reference (0 on the internal clock).",
          activeOffsetNs(clock, source) / 1e9);

    w.one("websocket_clients", "gauge", "Tablets and browsers connected over WebSocket.", static_cast<double>(wsClients));
    w.family("http_requests_total", "counter", "HTTP requests received, by method.");
    for (const auto& [m, n] : http.requests) w.sample("http_requests_total", static_cast<double>(n), "method=\"" + label(m) + "\"");
    w.family("http_responses_total", "counter", "HTTP responses sent, by status code.");
    for (const auto& [s, n] : http.responses) w.sample("http_responses_total", static_cast<double>(n), "code=\"" + std::to_string(s) + "\"");
    std::uint64_t errors = 0;
    for (const auto& [s, n] : http.responses) errors += s >= 400 ? n : 0;
    w.one("http_errors_total", "counter", "HTTP responses with a status of 400 or more.", static_cast<double>(errors));

    w.one("osc_listening", "gauge", "1 while the OSC UDP and TCP port is open.", num(&osc, "listening"));
    w.one("osc_packets_total", "counter", "OSC packets received (UDP datagrams and TCP frames).", num(&osc, "received"));
    w.one("osc_commands_total", "counter", "OSC messages carried out as commands or edits.", num(&osc, "commands"));
    w.one("osc_refused_total", "counter", "OSC packets refused (allow-list, passcode): never acted on.", num(&osc, "refused"));
    w.one("osc_errors_total", "counter", "OSC packets or messages in error (malformed, unknown address, refused by the API).",
          num(&osc, "errors"));
    w.one("osc_tcp_clients", "gauge", "OSC TCP connections.", num(&osc, "tcp_clients"));
    w.one("osc_subscribers", "gauge", "OSC clients subscribed to pushed updates.", num(&osc, "subscribers"));
    return w.take();
}

}  // namespace cuebox::web
