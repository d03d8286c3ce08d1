#include "model/Audio.h"

#include "model/Field.h"
#include "model/Show.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>

namespace cuebox::model {
namespace json = boost::json;

using field::bad;
using field::flag;
using field::levelDb;

AudioConfig AudioConfig::defaults(int outputs) {
    AudioConfig a;
    a.outputs.assign(static_cast<std::size_t>(std::clamp(outputs, 1, kMaxOutputs)), OutputConfig{});
    for (int b = 0; b < 4; ++b) {
        a.routing.push_back({b, 0, 0, 0.0});
        if (outputs > 1) a.routing.push_back({b, 1, 1, 0.0});
    }
    return a;
}

const char* busName(int bus) {
    static const char* names[] = {"A", "B", "C", "D", "audition"};
    return bus >= 0 && bus < kBusCount ? names[bus] : "?";
}

int parseBus(const std::string& s) {
    for (int b = 0; b < kBusCount; ++b)
        if (s == busName(b)) return b;
    return -1;
}

namespace {
json::object fadeJson(const FadeSpec& f) { return json::object{{"ms", f.ms}, {"curve", name(f.curve)}}; }

Status patchFade(FadeSpec& f, bool* powerComp, const json::value& v, const std::string& field) {
    if (!v.is_object()) return bad(field, "must be an object with ms, curve" + std::string(powerComp ? ", power_comp" : ""));
    FadeSpec next = f;
    bool pc = powerComp ? *powerComp : false;
    for (const auto& [k, x] : v.as_object()) {
        const std::string name = field + "." + std::string(k);
        if (k == "ms") {
            auto ms = field::fadeMs(x, name);
            if (!ms) return ms.error();
            next.ms = *ms;
        } else if (k == "curve") {
            FadeCurve c;
            if (!x.is_string() || !parse(std::string(x.as_string()), c))
                return bad(name, "must be one of linear, equal_power, exponential, s_curve");
            next.curve = c;
        } else if (k == "power_comp" && powerComp) {
            auto f = flag(x, name);
            if (!f) return f.error();
            pc = *f;
        } else {
            return bad(name, "is not a fade setting");
        }
    }
    f = next;
    if (powerComp) *powerComp = pc;
    return {};
}
}  // namespace

json::object toJson(const AudioConfig& a) {
    json::object busses;
    for (int b = 0; b < kBusCount; ++b) {
        const auto& bc = a.busses[static_cast<std::size_t>(b)];
        json::object o{{"level_db", bc.levelDb}, {"pfl", bc.pfl}};
        if (b != kAuditionBusIndex) o["choke"] = bc.choke;
        busses[busName(b)] = std::move(o);
    }
    json::array outputs;
    for (std::size_t o = 0; o < a.outputs.size(); ++o)
        outputs.push_back(json::object{{"output", o + 1},
                                       {"name", "out_" + std::to_string(o + 1)},
                                       {"level_db", a.outputs[o].levelDb},
                                       {"format", a.outputs[o].stereo ? "stereo" : "mono"}});
    json::array routing;
    for (const auto& x : a.routing)
        routing.push_back(json::object{{"bus", busName(x.bus)},
                                       {"channel", x.channel == 0 ? "L" : "R"},
                                       {"output", x.output + 1},
                                       {"gain_db", x.gainDb}});
    json::object in = fadeJson(a.fades.in), out = fadeJson(a.fades.out);
    in["power_comp"] = a.fades.inPowerComp;
    out["power_comp"] = a.fades.outPowerComp;
    return json::object{{"busses", std::move(busses)},     {"master_db", a.masterDb},
                        {"monitor_db", a.monitorDb},       {"outputs", std::move(outputs)},
                        {"routing", std::move(routing)},
                        {"fade_defaults", {{"in", std::move(in)}, {"out", std::move(out)}, {"crossfade", fadeJson(a.fades.crossfade)}}}};
}

Result<AudioConfig> audioFromJson(const json::value& v) {
    if (!v.is_object()) return makeError(Errc::corrupt, "audio", "audio record is not an object");
    const auto& o = v.as_object();
    AudioConfig a;
    try {
        for (int b = 0; b < kBusCount; ++b) {
            const auto& bo = o.at("busses").at(busName(b)).as_object();
            auto& bc = a.busses[static_cast<std::size_t>(b)];
            bc.levelDb = bo.at("level_db").to_number<double>();
            bc.pfl = bo.at("pfl").as_bool();
            if (auto* c = bo.if_contains("choke")) bc.choke = c->as_bool();
        }
        a.masterDb = o.at("master_db").to_number<double>();
        a.monitorDb = o.at("monitor_db").to_number<double>();
        for (const auto& out : o.at("outputs").as_array())
            a.outputs.push_back({out.at("level_db").to_number<double>(), out.at("format").as_string() == "stereo"});
        for (const auto& x : o.at("routing").as_array()) {
            const auto& xo = x.as_object();
            a.routing.push_back({parseBus(std::string(xo.at("bus").as_string())), xo.at("channel").as_string() == "L" ? 0 : 1,
                                 static_cast<int>(xo.at("output").to_number<std::int64_t>()) - 1,
                                 xo.at("gain_db").to_number<double>()});
        }
        if (const json::value* f = o.if_contains("fade_defaults")) {
            auto spec = [](const json::value& v) {
                FadeSpec s;
                s.ms = static_cast<int>(v.at("ms").to_number<std::int64_t>());
                parse(std::string(v.at("curve").as_string()), s.curve);
                return s;
            };
            a.fades.in = spec(f->at("in"));
            a.fades.out = spec(f->at("out"));
            a.fades.crossfade = spec(f->at("crossfade"));
            a.fades.inPowerComp = f->at("in").at("power_comp").as_bool();
            a.fades.outPowerComp = f->at("out").at("power_comp").as_bool();
        }
    } catch (const std::exception& e) {
        return makeError(Errc::corrupt, "audio", std::string("audio record is malformed: ") + e.what());
    }
    return a;
}

Status patchAudio(AudioConfig& a, const json::value& body) {
    if (!body.is_object() || body.as_object().empty()) return bad("body", "must be a JSON object naming master_db or monitor_db");
    AudioConfig next = a;
    for (const auto& [k, v] : body.as_object()) {
        if (k == "master_db" || k == "monitor_db") {
            auto d = levelDb(v, std::string(k));
            if (!d) return d.error();
            (k == "master_db" ? next.masterDb : next.monitorDb) = *d;
        } else if (k == "fade_defaults") {
            if (!v.is_object()) return bad("fade_defaults", "must be an object with in, out, crossfade");
            for (const auto& [fk, fv] : v.as_object()) {
                Status st;
                if (fk == "in") st = patchFade(next.fades.in, &next.fades.inPowerComp, fv, "fade_defaults.in");
                else if (fk == "out") st = patchFade(next.fades.out, &next.fades.outPowerComp, fv, "fade_defaults.out");
                else if (fk == "crossfade") st = patchFade(next.fades.crossfade, nullptr, fv, "fade_defaults.crossfade");
                else return bad("fade_defaults." + std::string(fk), "is not a fade (in, out, crossfade)");
                if (!st) return st;
            }
        } else {
            return bad(std::string(k), "is not an audio setting (master_db, monitor_db, fade_defaults)");
        }
    }
    a = next;
    return {};
}

Status patchBus(AudioConfig& a, int bus, const json::value& body) {
    if (bus < 0 || bus >= kBusCount) return makeError(Errc::not_found, "bus", "no bus with that name (A, B, C, D, audition)");
    if (!body.is_object() || body.as_object().empty()) return bad("body", "must be a JSON object naming level_db, choke or pfl");
    BusConfig next = a.busses[static_cast<std::size_t>(bus)];
    for (const auto& [k, v] : body.as_object()) {
        if (k == "level_db") {
            auto d = levelDb(v, "level_db");
            if (!d) return d.error();
            next.levelDb = *d;
        } else if (k == "choke") {
            if (bus == kAuditionBusIndex) return bad("choke", "the audition bus has no choke mode");
            auto f = flag(v, "choke");
            if (!f) return f.error();
            next.choke = *f;
        } else if (k == "pfl") {
            auto f = flag(v, "pfl");
            if (!f) return f.error();
            next.pfl = *f;
        } else {
            return bad(std::string(k), "is not a bus setting (level_db, choke, pfl)");
        }
    }
    a.busses[static_cast<std::size_t>(bus)] = next;
    return {};
}

Status patchOutput(AudioConfig& a, int output, const json::value& body) {
    if (output < 0 || output >= static_cast<int>(a.outputs.size()))
        return makeError(Errc::not_found, "output", "no output " + std::to_string(output + 1) + " (1 to " +
                                                        std::to_string(a.outputs.size()) + ")");
    if (!body.is_object() || body.as_object().empty()) return bad("body", "must be a JSON object naming level_db or format");
    OutputConfig next = a.outputs[static_cast<std::size_t>(output)];
    for (const auto& [k, v] : body.as_object()) {
        if (k == "level_db") {
            auto d = levelDb(v, "level_db");
            if (!d) return d.error();
            next.levelDb = *d;
        } else if (k == "format") {
            if (!v.is_string() || (v.as_string() != "mono" && v.as_string() != "stereo"))
                return bad("format", "must be mono or stereo");
            next.stereo = v.as_string() == "stereo";
        } else {
            return bad(std::string(k), "is not an output setting (level_db, format)");
        }
    }
    a.outputs[static_cast<std::size_t>(output)] = next;
    return {};
}

Status setCrosspoint(AudioConfig& a, const json::value& body) {
    if (!body.is_object()) return bad("body", "must be a JSON object");
    const auto& o = body.as_object();
    for (const auto& [k, v] : o)
        if (k != "bus" && k != "channel" && k != "output" && k != "gain_db")
            return bad(std::string(k), "is not a crosspoint member (bus, channel, output, gain_db)");
    const json::value* b = o.if_contains("bus");
    const int bus = b && b->is_string() ? parseBus(std::string(b->as_string())) : -1;
    if (bus < 0) return bad("bus", "must be one of A, B, C, D, audition");
    const json::value* c = o.if_contains("channel");
    if (!c || !c->is_string() || (c->as_string() != "L" && c->as_string() != "R")) return bad("channel", "must be L or R");
    const int channel = c->as_string() == "L" ? 0 : 1;
    const json::value* out = o.if_contains("output");
    if (!out || !out->is_int64() || out->as_int64() < 1 || out->as_int64() > static_cast<std::int64_t>(a.outputs.size()))
        return bad("output", "must be an output number from 1 to " + std::to_string(a.outputs.size()));
    const int output = static_cast<int>(out->as_int64()) - 1;
    const json::value* g = o.if_contains("gain_db");
    if (!g) return bad("gain_db", "is required (null removes the crosspoint)");
    auto it = std::find_if(a.routing.begin(), a.routing.end(), [&](const Crosspoint& x) {
        return x.bus == bus && x.channel == channel && x.output == output;
    });
    if (g->is_null()) {
        if (it != a.routing.end()) a.routing.erase(it);
        return {};
    }
    auto d = levelDb(*g, "gain_db");
    if (!d) return d.error();
    if (it != a.routing.end()) it->gainDb = *d;
    else a.routing.push_back({bus, channel, output, *d});
    return {};
}

}  // namespace cuebox::model
