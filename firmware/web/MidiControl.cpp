#include "web/MidiControl.h"

#include "web/Api.h"
#include "web/ControlExec.h"
#include "web/Midi.h"
#include "web/ShowService.h"

#include <boost/json.hpp>

#include <cmath>

namespace cuebox::web {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {
Error bad(std::string field, std::string reason) { return makeError(Errc::bad_request, std::move(field), std::move(reason)); }

const char* mscName(MscCommand c) {
    switch (c) {
    case MscCommand::go: return "go";
    case MscCommand::stop: return "stop";
    case MscCommand::resume: return "resume";
    case MscCommand::timedGo: return "go";  // the time is not kept: it goes now
    case MscCommand::fire: return "fire";
    case MscCommand::allOff: return "all_off";
    default: return "";
    }
}

std::string text(const json::object& o, const char* k) {
    const json::value* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
}  // namespace

double velocityDb(int velocity) {
    if (velocity <= 0) return -90.0;
    return std::max(-90.0, 40.0 * std::log10(static_cast<double>(std::min(velocity, 127)) / 127.0));
}

double controllerDb(int value) {
    if (value <= 0) return -90.0;
    return std::max(-90.0, 40.0 * std::log10(static_cast<double>(std::min(value, 127)) / 127.0));
}

Result<std::optional<MidiInput>> midiInput(std::span<const std::uint8_t> b, int channel, int mscDevice, int mscGroup,
                                           int mscFormat, bool mscEnabled) {
    if (!b.empty() && b[0] == 0xF0) {
        auto m = parseMsc(b);
        if (!m) return m.error();
        if (!mscEnabled || !mscForUs(*m, mscDevice, mscGroup >= 0x70 ? mscGroup : -1, mscFormat)) return std::optional<MidiInput>{};
        MidiInput in;
        in.source = "msc";
        in.msc = mscName(m->command);
        if (in.msc.empty()) return std::optional<MidiInput>{};  // LOAD, SET...: nothing cuebox does
        in.cue = m->cue;
        if (in.msc == "fire") in.address = "fire/" + std::to_string(m->macro);
        else if (in.msc == "all_off") in.address = "all_off";
        else in.address = in.cue.empty() ? in.msc : in.msc + "/" + in.cue;
        return std::optional<MidiInput>(std::move(in));
    }
    auto m = parseMidiChannel(b);
    if (!m) return m.error();
    if (channel != 0 && m->channel != channel) return std::optional<MidiInput>{};
    MidiInput in;
    in.source = "midi";
    const std::string ch = std::to_string(m->channel) + "/" + std::to_string(m->number);
    switch (m->type) {
    case MidiChannelMessage::Type::noteOn: in.address = "note/" + ch; break;
    case MidiChannelMessage::Type::noteOff:
        in.address = "note/" + ch;
        in.release = true;
        break;
    case MidiChannelMessage::Type::controlChange: in.address = "cc/" + ch; break;
    case MidiChannelMessage::Type::programChange: in.address = "pc/" + ch; break;
    }
    in.value = m->value;
    return std::optional<MidiInput>(std::move(in));
}

Result<std::optional<ControlRequest>> requestFromMapping(const json::object& m, const MidiInput& in, bool crossedUp) {
    using K = ControlRequest::Kind;
    const std::string action = text(m, "action");
    ControlRequest r;
    const bool cc = in.address.rfind("cc/", 0) == 0;
    if (action == "clip_level" || action == "group_level" || action == "master_level") {
        r.op = "level";
        r.levelDb = controllerDb(in.value);
        if (action == "clip_level") {
            r.kind = K::clip;
            r.clip = m.at("clip").to_number<std::uint64_t>();
        } else if (action == "group_level") {
            r.kind = K::group;
            r.group = text(m, "group")[0];
        } else {
            r.kind = K::master;
        }
        return std::optional<ControlRequest>(r);
    }
    // Triggers: a note on (a note off only releases), a program change, an
    // MSC message, a controller crossing up through half way.
    if (in.release && action != "press" && action != "release") return std::optional<ControlRequest>{};
    if (!in.release && action == "release") return std::optional<ControlRequest>{};
    if (cc && !crossedUp) return std::optional<ControlRequest>{};
    if (action == "stop_group") {
        r.kind = K::group;
        r.op = "stop";
        r.group = text(m, "group")[0];
    } else if (action == "panic") {
        r.kind = K::panic;
    } else if (action == "page" || action == "tab") {
        r.kind = action == "page" ? K::page : K::tab;
        r.value = static_cast<int>(m.at("value").to_number<std::int64_t>());
    } else if (m.contains("clip")) {
        r.kind = K::clip;
        r.clip = m.at("clip").to_number<std::uint64_t>();
        r.op = in.release && action == "press" ? "release" : action;
        if (action == "start" && text(m, "velocity") == "level" && in.source == "midi" && !cc) r.gainDb = velocityDb(in.value);
    } else {
        return bad("action", "mapping action '" + action + "' has no target");
    }
    return std::optional<ControlRequest>(r);
}

std::vector<const json::object*> activeMappings(const model::Show& sh, const std::string& source, const std::string& address) {
    const int page = sh.activePage;
    const int tab = page >= 0 && static_cast<std::size_t>(page) < sh.pages.size() ? sh.pages[static_cast<std::size_t>(page)].activeTab : 0;
    std::vector<const json::object*> best;
    int bestLevel = -1;
    for (const auto& m : sh.mappings) {
        const json::object& d = m.data;
        if (text(d, "source") != source || text(d, "address") != address) continue;
        if (const json::value* en = d.if_contains("enabled"); en && en->is_bool() && !en->as_bool()) continue;
        int level = 0;
        if (const json::value* p = d.if_contains("page")) {
            if (p->to_number<std::int64_t>() != page) continue;
            level = 1;
            if (const json::value* t = d.if_contains("tab")) {
                if (t->to_number<std::int64_t>() != tab) continue;
                level = 2;
            }
        }
        if (level > bestLevel) {
            best.clear();
            bestLevel = level;
        }
        if (level == bestLevel) best.push_back(&d);
    }
    return best;
}

MidiControl::MidiControl(boost::asio::io_context& io, ShowService& show, ControlExec& exec, CommandSink& engine, Log log)
    : io_(io), show_(show), exec_(exec), engine_(engine), log_(std::move(log)), learnTimer_(io) {}

void MidiControl::logLimited(const std::string& detail, const std::string& key) {
    if (auto t = limiter_.admit(key, detail)) log_({0, 0, "control", "midi", "midi", *t, ""});
}

void MidiControl::onEvent(const json::object& ev) {
    const std::string e = text(ev, "event");
    if (e == "midi") {
        const json::value* b = ev.if_contains("bytes");
        if (!b || !b->is_array()) return;
        std::vector<std::uint8_t> bytes;
        for (const auto& x : b->as_array())
            if (x.is_int64()) bytes.push_back(static_cast<std::uint8_t>(x.as_int64() & 0xff));
        return onMidi(bytes);
    }
    if (e == "clip_started" || e == "clip_stopped") {
        if (const json::value* c = ev.if_contains("clip"); c && c->is_number()) feedback(c->to_number<std::uint64_t>(), e == "clip_started");
        return;
    }
    if (e == "midi_refused") {
        ++errors_;
        return logLimited("MIDI source " + text(ev, "port") + " refused: not on the MIDI allow-list (disconnected)",
                          "refused " + text(ev, "port"));
    }
    if (e == "engine") {
        if (const json::value* up = ev.if_contains("connected"); up && up->is_bool() && up->as_bool()) refreshFeedback();
    }
}

void MidiControl::onMidi(const std::vector<std::uint8_t>& bytes) {
    ++received_;
    const model::Show& sh = show_.show();
    const auto settings = sh.settings.find("control");
    if (settings == sh.settings.end()) return;
    const json::object& cs = settings->second;
    auto num = [&cs](const char* k) { return static_cast<int>(cs.at(k).to_number<std::int64_t>()); };
    const bool midiOn = cs.at("midi_enabled").as_bool();
    const bool mscOn = cs.at("msc_enabled").as_bool();
    const bool sysex = !bytes.empty() && bytes[0] == 0xF0;
    if (!sysex && !midiOn && !learning_) return;
    // Running status, clock, active sensing and the like are no control messages: ignored quietly.
    if (!bytes.empty() && !sysex && (bytes[0] & 0xF0) == 0xF0) return;
    auto in = midiInput(bytes, learning_ ? 0 : num("midi_channel"), num("msc_device_id"), num("msc_group"), num("msc_format"),
                        mscOn || static_cast<bool>(learning_));
    if (!in) {
        ++errors_;
        return logLimited("MIDI: " + in.error().field + ": " + in.error().reason, "parse " + in.error().reason);
    }
    if (!*in) return;
    const MidiInput& msg = **in;
    if (learning_ && !msg.release && !(msg.address.rfind("cc/", 0) == 0 && msg.value == 0)) {
        auto done = std::move(learning_);
        learning_ = nullptr;
        learnTimer_.cancel();
        ++learned_;
        return done(std::pair<std::string, std::string>(msg.source, msg.address));
    }
    if (learning_) return;

    bool crossedUp = false;
    if (msg.address.rfind("cc/", 0) == 0) {
        auto [it, fresh] = lastValue_.try_emplace(msg.address, 0);
        crossedUp = it->second < 64 && msg.value >= 64;
        it->second = msg.value;
    }
    const std::vector<const json::object*> best = activeMappings(sh, msg.source, msg.address);
    std::vector<ControlRequest> todo;
    for (const json::object* d : best) {
        auto r = requestFromMapping(*d, msg, crossedUp);
        if (!r) {
            ++errors_;
            logLimited("MIDI " + msg.address + ": " + r.error().reason, "map " + msg.address);
            continue;
        }
        if (*r) todo.push_back(**r);
    }
    // MSC without a mapping: the cue number is the clip id (as QLab's cue
    // numbers are in cuebox's OSC).
    if (best.empty() && msg.source == "msc" && cs.at("msc_cue_is_clip").as_bool()) {
        ControlRequest r;
        char* end = nullptr;
        const unsigned long long cue = msg.cue.empty() ? 0 : std::strtoull(msg.cue.c_str(), &end, 10);
        const bool wholeCue = !msg.cue.empty() && end && *end == '\0' && cue > 0;
        if (msg.msc == "go" && msg.cue.empty()) r.kind = ControlRequest::Kind::go;
        else if ((msg.msc == "stop" && msg.cue.empty()) || msg.msc == "all_off") r.kind = ControlRequest::Kind::panic;
        else if (wholeCue && (msg.msc == "go" || msg.msc == "stop" || msg.msc == "resume")) {
            r.kind = ControlRequest::Kind::clip;
            r.clip = cue;
            r.op = msg.msc == "go" ? "start" : msg.msc;
        } else {
            ++unmapped_;
            return logLimited("MSC " + msg.address + ": no mapping, and cue '" + msg.cue + "' is not a clip id", "msc " + msg.address);
        }
        todo.push_back(r);
    }
    if (todo.empty()) {
        ++unmapped_;
        return;
    }
    for (const auto& r : todo) {
        ++acted_;
        const std::string what = (msg.source == "msc" ? "MSC " : "MIDI ") + msg.address;
        exec_.run(r, msg.source + " " + msg.address, [this, what](int status, std::string body) {
            if (status < 400) return;
            ++errors_;
            const std::string reason = describeError(body);
            logLimited(what + ": " + std::to_string(status) + " " + reason, "exec " + what + std::to_string(status));
        });
    }
}

void MidiControl::sendNote(int channel, int note, int velocity) {
    const json::array bytes{0x90 | ((channel - 1) & 0x0F), note & 0x7F, velocity & 0x7F};
    engine_.send({{"op", "midi_out"}, {"bytes", bytes}}, [](Result<json::object>) {});
}

void MidiControl::feedback(std::uint64_t clip, bool playing) {
    const model::Show& sh = show_.show();
    auto s = sh.settings.find("control");
    if (s == sh.settings.end() || !s->second.at("midi_feedback").as_bool()) return;
    for (const auto& m : sh.mappings) {
        const json::object& d = m.data;
        const json::value* c = d.if_contains("clip");
        if (!c || c->to_number<std::uint64_t>() != clip || text(d, "source") != "midi") continue;
        const std::string a = text(d, "address");
        int ch = 0, note = 0;
        if (std::sscanf(a.c_str(), "note/%d/%d", &ch, &note) != 2) continue;
        sendNote(ch, note, playing ? 127 : 0);
    }
}

void MidiControl::refreshFeedback() {
    const model::Show& sh = show_.show();
    for (const auto& m : sh.mappings)
        if (const json::value* c = m.data.if_contains("clip"); c && text(m.data, "source") == "midi")
            feedback(c->to_number<std::uint64_t>(), show_.clipPlaying(c->to_number<std::uint64_t>()));
}

void MidiControl::learn(std::chrono::milliseconds timeout, Learned done) {
    if (learning_) {
        auto old = std::move(learning_);
        old(makeError(Errc::conflict, "learn", "another learn took over"));
    }
    learning_ = std::move(done);
    learnTimer_.expires_after(timeout);
    learnTimer_.async_wait([this](boost::system::error_code ec) {
        if (ec || !learning_) return;
        auto d = std::move(learning_);
        learning_ = nullptr;
        d(makeError(Errc::unavailable, "learn", "no MIDI or MSC message came in time"));
    });
}

json::object MidiControl::stats() const {
    return {{"received", received_}, {"acted", acted_}, {"unmapped", unmapped_}, {"errors", errors_}, {"learned", learned_},
            {"learning", static_cast<bool>(learning_)}};
}

}  // namespace cuebox::web
