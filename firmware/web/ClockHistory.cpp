#include "web/ClockHistory.h"

#include <boost/json.hpp>

namespace cuebox::web {
namespace json = boost::json;

void ClockHistory::record(const json::object& clock, std::int64_t nowMs) {
    const json::value* list = clock.if_contains("sources");
    if (!list || !list->is_array()) return;
    for (const auto& v : list->as_array()) {
        if (!v.is_object()) continue;
        const auto& s = v.as_object();
        const json::value* name = s.if_contains("name");
        if (!name || !name->is_string()) continue;
        auto& q = sources_[std::string(name->as_string())];
        if (!q.empty() && nowMs - q.back().t < 1000) continue;  // one a second
        Sample smp;
        smp.t = nowMs;
        for (const char* k : {"state", "quality", "offset_ns", "drift_ppb", "jitter_ns"})
            if (const json::value* x = s.if_contains(k)) smp.values[k] = *x;
        q.push_back(std::move(smp));
        while (q.size() > kSamples || (!q.empty() && nowMs - q.front().t > static_cast<std::int64_t>(kSamples) * 1000)) q.pop_front();
    }
}

void ClockHistory::switched(const json::object& done, std::int64_t nowMs) {
    json::object o = done;
    o.erase("type");
    o.erase("event");
    o["t"] = nowMs;
    switches_.push_back(std::move(o));
    while (switches_.size() > kSwitches) switches_.pop_front();
}

json::object ClockHistory::json() const {
    json::object sources;
    for (const auto& [name, q] : sources_) {
        json::array a;
        for (const auto& s : q) {
            json::object o = s.values;
            o["t"] = s.t;
            a.push_back(std::move(o));
        }
        sources[name] = std::move(a);
    }
    json::array sw;
    for (const auto& s : switches_) sw.push_back(s);
    return json::object{{"sources", std::move(sources)}, {"switches", std::move(sw)}};
}

}  // namespace cuebox::web
