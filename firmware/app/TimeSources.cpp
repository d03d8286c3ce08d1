#include "app/TimeSources.h"

#include "base/Time.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cuebox::app {
namespace json = boost::json;
using sync::Kind;
using sync::SourceId;

namespace {
constexpr std::int64_t kPtpEveryNs = 250'000'000;   // 4 requests a second
constexpr std::int64_t kPtpSilentNs = 2'000'000'000;  // no answer this long: lost

double num(const json::object& o, const char* k, double d) {
    const json::value* v = o.if_contains(k);
    return v && v->is_number() ? v->to_number<double>() : d;
}
bool flag(const json::object& o, const char* k, bool d) {
    const json::value* v = o.if_contains(k);
    return v && v->is_bool() ? v->as_bool() : d;
}
std::string text(const json::object& o, const char* k, const std::string& d) {
    const json::value* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->as_string()) : d;
}
sync::Limits limits(const json::object& o, const std::string& prefix) {
    sync::Limits l;
    l.maxDriftPpm = num(o, (prefix + "max_drift_ppm").c_str(), l.maxDriftPpm);
    l.maxJitterUs = num(o, (prefix + "max_jitter_us").c_str(), l.maxJitterUs);
    l.maxInstabilityPpm = num(o, (prefix + "max_instability_ppm").c_str(), l.maxInstabilityPpm);
    l.qualityThreshold = num(o, (prefix + "quality_threshold").c_str(), l.qualityThreshold);
    return l;
}
sync::OnLoss onLoss(const json::object& o, const char* k) {
    return text(o, k, "failover") == "freewheel" ? sync::OnLoss::freewheel : sync::OnLoss::failover;
}
// "29.97df" -> 29.97 drop-frame.
void fpsOf(const std::string& s, double& fps, bool& drop) {
    drop = s == "29.97df";
    fps = drop ? 29.97 : std::atof(s.c_str());
    if (fps <= 0) fps = 25;
}
double exactFps(double fps) { return fps > 29.9 && fps < 29.98 ? 30000.0 / 1001.0 : fps; }

bool parseTimecode(const std::string& t, sync::Timecode& out) {
    int h = 0, m = 0, s = 0, f = 0;
    char sep = 0;
    if (std::sscanf(t.c_str(), "%2d:%2d:%2d%c%2d", &h, &m, &s, &sep, &f) != 5) return false;
    out = sync::Timecode{h, m, s, f};
    return true;
}
std::string timecodeText(std::int64_t count, int fps, bool drop) {
    const auto t = sync::framesToTimecode(count, fps, drop);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d%c%02d", t.hours, t.minutes, t.seconds, drop ? ';' : ':', t.frames);
    return buf;
}
}  // namespace

TimeSourcesConfig timeSourcesConfig(const model::Settings& s) {
    TimeSourcesConfig c;
    const json::object& t = s.at("time_sources");
    c.clock.order.clear();
    if (const json::value* o = t.if_contains("order"); o && o->is_array())
        for (const auto& v : o->as_array())
            if (v.is_string())
                if (auto k = sync::kindFromName(std::string(v.as_string()))) c.clock.order.push_back(*k);
    c.clock.autoFailover = flag(t, "auto_failover", true);
    c.clock.holdMs = static_cast<int>(num(t, "failover_ms", 1000));
    c.clock.recoverMs = static_cast<int>(num(t, "recover_ms", 5000));
    for (Kind k : {Kind::ptp, Kind::ltc, Kind::mtc, Kind::midi_clock}) {
        const std::string p = std::string(sync::kindName(k)) + "_";
        auto& sc = c.clock.kinds[static_cast<std::size_t>(k)];
        sc.enabled = flag(t, (p + "enabled").c_str(), true);
        sc.onLoss = onLoss(t, (p + "on_loss").c_str());
        if (k == Kind::ptp || k == Kind::ltc) sc.limits = limits(t, p);
    }
    if (const json::value* m = t.if_contains("midi_sources"); m && m->is_array())
        for (std::size_t i = 0; i < m->as_array().size() && i < sync::kMidiPorts; ++i)
            if (m->as_array()[i].is_object()) {
                const auto& o = m->as_array()[i].as_object();
                c.clock.midiPorts[i].enabled = flag(o, "enabled", true);
                c.clock.midiPorts[i].limits = limits(o, "");
            }
    c.ptpSocket = text(t, "ptp_socket", "/var/run/ptp4l");
    c.ptpDomain = static_cast<int>(num(t, "ptp_domain", 0));
    if (const json::value* g = t.if_contains("ptp_allowed_grandmasters"); g && g->is_array())
        for (const auto& v : g->as_array())
            if (v.is_string()) c.ptpAllowedGrandmasters.emplace_back(v.as_string());
    if (const json::value* d = t.if_contains("ptp_allowed_domains"); d && d->is_array())
        for (const auto& v : d->as_array())
            if (v.is_number()) c.ptpAllowedDomains.push_back(v.to_number<int>());
    c.ptpMaxOffsetUs = num(t, "ptp_max_offset_us", 1000);
    c.ltcFps = text(t, "ltc_fps", "auto");
    c.ltcMinLevelDbfs = num(t, "ltc_min_level_dbfs", -36);
    c.ltcLockFrames = static_cast<int>(num(t, "ltc_lock_frames", 2));
    c.ltcBufferMs = static_cast<int>(num(t, "ltc_buffer_ms", 250));
    const json::object& tr = s.at("transport");
    c.tempoSource = text(tr, "tempo_source", "manual");
    c.tempoBpm = num(tr, "tempo_bpm", 120);
    const json::object& td = s.at("time_division");
    c.beatsPerBar = static_cast<int>(num(td, "beats_per_bar", 4));
    c.quantize = text(td, "quantize", "off");
    c.snapMinMs = static_cast<int>(num(td, "snap_min_ms", 20));
    const char* groups[4] = {"fps_a", "fps_b", "fps_c", "fps_d"};
    for (int g = 0; g < 4; ++g) {
        bool drop = false;
        fpsOf(text(td, groups[g], "25"), c.groupFps[static_cast<std::size_t>(g)], drop);
        c.groupDropFrame[static_cast<std::size_t>(g)] = drop;
    }
    return c;
}

TimeSources::TimeSources(int sampleRate) : rate_(sampleRate) {
    ltc_ = std::make_unique<engine::LtcDecoder>(sampleRate);
    for (int p = 0; p < sync::kMidiPorts; ++p) {
        mtc_[static_cast<std::size_t>(p)] = std::make_unique<sync::MtcDecoder>(sampleRate);
        clock_[static_cast<std::size_t>(p)] = std::make_unique<sync::MidiClock>(sampleRate);
    }
}

TimeSources::~TimeSources() = default;

void TimeSources::configure(const TimeSourcesConfig& c, std::uint64_t nowFrame) {
    const bool ptpChanged = !ptp_ || c.ptpSocket != cfg_.ptpSocket || c.ptpDomain != cfg_.ptpDomain;
    if (c.tempoBpm != cfg_.tempoBpm || !tempoAnchor_) tempoAnchor_ = nowFrame ? nowFrame : 1;
    cfg_ = c;
    ltc_->setLockFrames(c.ltcLockFrames);
    arbiter_.configure(c.clock, sync::monotonicNs());
    if (ptpChanged) {
        ptp_ = std::make_unique<sync::PtpClient>(c.ptpSocket, c.ptpDomain);
        (void)ptp_->open();  // a missing ptp4l is PTP absent, not an error
        ptpAsked_ = ptpAnswered_ = 0;
    }
}

// --- inputs ---------------------------------------------------------------

void TimeSources::ltcBlock(const float* samples, std::size_t n, std::uint64_t frame, std::uint64_t nowFrame) {
    if (nowFrame > frame + n && nowFrame - (frame + n) > static_cast<std::uint64_t>(cfg_.ltcBufferMs) * static_cast<std::uint64_t>(rate_) / 1000) {
        ++ltcLate_;
        return;
    }
    for (const auto& f : ltc_->write(samples, n, frame)) feedLtcMonitor(f);
}

// An LTC frame as an observation: its time against the JACK clock, from
// the first frame of the current run (a jump starts a new fit).
void TimeSources::feedLtcMonitor(const engine::LtcFrame& f) {
    auto& m = arbiter_.monitor(SourceId{Kind::ltc, 0});
    const auto& st = ltc_->status();
    const std::int64_t nowNs = sync::monotonicNs();
    if (st.jumps != ltcJumps_) {
        ltcJumps_ = st.jumps;
        m.restart(nowNs);
        ltcBased_ = false;
    }
    if (st.state != engine::LtcDecoder::State::locked) return;
    m.setPresent(true, nowNs);
    const int fps = f.dropFrame ? 30 : static_cast<int>(std::lround(st.fps));
    const double sourceNs = static_cast<double>(sync::timecodeToFrames({f.hours, f.minutes, f.seconds, f.frames}, fps, f.dropFrame)) *
                            1e9 / exactFps(st.fps);
    const double localNs = static_cast<double>(f.startFrame) * 1e9 / rate_;
    if (!ltcBased_) ltcBase_ = sourceNs - localNs, ltcBased_ = true;
    m.observe(static_cast<std::int64_t>(localNs), sourceNs - localNs - ltcBase_);
}

void TimeSources::midi(int port, const std::uint8_t* bytes, std::size_t n, std::uint64_t frame) {
    if (port < 0 || port >= sync::kMidiPorts || n == 0) return;
    const auto p = static_cast<std::size_t>(port);
    const std::int64_t nowNs = sync::monotonicNs();
    if (bytes[0] == 0xF1 || bytes[0] == 0xF0) {
        auto& dec = *mtc_[p];
        auto& m = arbiter_.monitor(SourceId{Kind::mtc, port});
        const auto t = dec.feed(bytes, n, frame);
        const auto& st = dec.status();
        if (st.jumps != mtcJumps_[p]) {
            mtcJumps_[p] = st.jumps;
            m.restart(nowNs);
            mtcBased_[p] = false;
        }
        if (!t || st.state != sync::MtcStatus::State::locked) return;
        m.setPresent(true, nowNs);
        const double sourceNs = static_cast<double>(sync::timecodeToFrames(t->timecode(), t->countFps(), t->dropFrame)) * 1e9 / exactFps(t->fps);
        const double localNs = static_cast<double>(t->startFrame) * 1e9 / rate_;
        if (!mtcBased_[p]) mtcBase_[p] = sourceNs - localNs, mtcBased_[p] = true;
        m.observe(static_cast<std::int64_t>(localNs), sourceNs - localNs - mtcBase_[p]);
        return;
    }
    auto& clk = *clock_[p];
    const auto ev = clk.feed(bytes, n, frame);
    if (ev != sync::MidiClock::Event::tick) return;
    const auto& st = clk.status();
    auto& m = arbiter_.monitor(SourceId{Kind::midi_clock, port});
    if (st.state != sync::MidiClockStatus::State::locked || st.bpm <= 0) return;
    // Each tick against where the decoder's tempo fit puts it: the jitter
    // is the ticks' spread about a steady tempo (a MIDI clock has no rate
    // to drift from; its tempo is what it is). A jump or dropout (a new
    // tempo, a relocate, a restart) starts a new fit.
    const std::int64_t pos = st.songPositionTicks - 1;  // this tick's
    const bool jumped = st.jumps + st.dropouts != clockJumps_[p];
    clockJumps_[p] = st.jumps + st.dropouts;
    if (!m.present()) m.setPresent(true, nowNs);
    else if (jumped) m.restart(nowNs);
    const auto predicted = clk.tickFrame(pos);
    if (!predicted) return;
    // More than half a tick off is a tick counted wrong (one lost before
    // it: the decoder puts it right with the next), not jitter.
    const double residual = static_cast<double>(*predicted) - static_cast<double>(frame);
    if (std::fabs(residual) > rate_ * 60.0 / (st.bpm * 24) / 2) return;
    m.observe(static_cast<std::int64_t>(static_cast<double>(frame) * 1e9 / rate_),
              residual * 1e9 / rate_);
}

int TimeSources::ptpFd() const { return ptp_ ? ptp_->fd() : -1; }

void TimeSources::ptpReadable() {
    if (ptp_) ptp_->receive();
}

// --- the poll -------------------------------------------------------------

std::optional<json::object> TimeSources::service(std::int64_t nowNs, std::uint64_t nowFrame) {
    // LTC: lost after 3 frames of silence (the decoder judges it).
    {
        auto& m = arbiter_.monitor(SourceId{Kind::ltc, 0});
        const auto& st = ltc_->status();
        if (st.state == engine::LtcDecoder::State::lost) m.setPresent(false, nowNs);
        std::string fault;
        if (st.last && st.last->levelDbfs < cfg_.ltcMinLevelDbfs)
            fault = "level " + std::to_string(static_cast<int>(st.last->levelDbfs)) + " dBFS under the floor";
        if (cfg_.ltcFps != "auto" && st.fps > 0) {
            double want = 0;
            bool drop = false;
            fpsOf(cfg_.ltcFps, want, drop);
            if (std::fabs(want - st.fps) > 0.01) fault = "runs at " + std::to_string(st.fps).substr(0, 5) + " fps, not " + cfg_.ltcFps;
        }
        m.setFault(fault);
    }
    for (int p = 0; p < sync::kMidiPorts; ++p) {
        const auto i = static_cast<std::size_t>(p);
        mtc_[i]->tick(nowFrame);
        if (mtc_[i]->status().state == sync::MtcStatus::State::lost) arbiter_.monitor(SourceId{Kind::mtc, p}).setPresent(false, nowNs);
        clock_[i]->tick(nowFrame);
        const auto cs = clock_[i]->status().state;
        if (cs == sync::MidiClockStatus::State::lost || (cs != sync::MidiClockStatus::State::locked && !clock_[i]->status().running))
            arbiter_.monitor(SourceId{Kind::midi_clock, p}).setPresent(false, nowNs);
    }
    // PTP: ask four times a second; judge each complete answer.
    if (ptp_) {
        auto& m = arbiter_.monitor(SourceId{Kind::ptp, 0});
        if (ptp_->fd() < 0 && nowNs - ptpAsked_ > 1'000'000'000) {
            (void)ptp_->open();
            ptpAsked_ = nowNs;
        }
        if (ptp_->fd() >= 0 && nowNs - ptpAsked_ >= kPtpEveryNs) {
            (void)ptp_->request();
            ptpAsked_ = nowNs;
        }
        const auto& snap = ptp_->snapshot();
        if (snap.complete && snap.answeredNs != ptpAnswered_) {
            ptpAnswered_ = snap.answeredNs;
            const bool gmOk = cfg_.ptpAllowedGrandmasters.empty() ||
                              std::find(cfg_.ptpAllowedGrandmasters.begin(), cfg_.ptpAllowedGrandmasters.end(), snap.grandmaster) !=
                                  cfg_.ptpAllowedGrandmasters.end();
            const bool domainOk = cfg_.ptpAllowedDomains.empty() ||
                                  std::find(cfg_.ptpAllowedDomains.begin(), cfg_.ptpAllowedDomains.end(), snap.domain) != cfg_.ptpAllowedDomains.end();
            m.setPresent(snap.tracking && snap.gmPresent, nowNs);
            m.setRefused(snap.tracking && (!gmOk || !domainOk));
            m.setFault(std::fabs(snap.masterOffsetNs) > cfg_.ptpMaxOffsetUs * 1000 ? "offset over ptp_max_offset_us" : "");
            if (snap.tracking && snap.gmPresent) m.observe(snap.answeredNs, snap.masterOffsetNs);
        }
        if (m.present() && nowNs - ptpAnswered_ > kPtpSilentNs) m.setPresent(false, nowNs);  // ptp4l stopped answering
    }
    // Stamped now, not at the start of this poll's work: phase 1 is the
    // arbiter's reaction, not the decoding before it.
    auto sw = arbiter_.update(sync::monotonicNs());
    if (!sw) return std::nullopt;
    lastSwitch_ = *sw;
    lastSwitchIso_ = isoNow(true);
    json::object ev{{"event", "clock_switch"},
                    {"from", sw->from.name()},
                    {"to", sw->to.name()},
                    {"emergency", sw->emergency},
                    {"reason", sw->reason},
                    {"at", lastSwitchIso_},
                    {"detected_ns", sw->detectedNs},
                    {"phase1_us", static_cast<double>(sw->freewheelNs - sw->detectedNs) / 1000.0},
                    {"phase2_us", static_cast<double>(sw->selectedNs - sw->detectedNs) / 1000.0},
                    {"frame", nowFrame}};
    if (!timecodeNow(nowFrame).empty()) ev["timecode"] = timecodeNow(nowFrame);
    return ev;
}

// --- views ----------------------------------------------------------------

json::object TimeSources::live() const {
    const std::int64_t now = sync::monotonicNs();
    json::array sources;
    for (const auto& v : arbiter_.sources(now)) {
        json::object o{{"name", v.id.name()},
                       {"kind", sync::kindName(v.id.kind)},
                       {"state", sync::healthName(v.health)},
                       {"quality", std::round(v.measures.quality * 1000) / 1000}};
        if (v.id.kind == Kind::mtc || v.id.kind == Kind::midi_clock) o["port"] = v.id.port + 1;
        if (v.measures.points) {
            o["offset_ns"] = std::round(v.measures.offsetNs);
            o["drift_ppb"] = std::round(v.measures.driftPpm * 1000);
            o["jitter_ns"] = std::round(v.measures.jitterNs);
            o["instability_ppm"] = std::round(v.measures.instabilityPpm * 1000) / 1000;
        }
        if (v.id.kind != Kind::internal) {
            const auto& m = arbiter_.monitor(v.id);
            if (!m.fault().empty()) o["fault"] = m.fault();
        }
        if (v.id.kind == Kind::ptp && ptp_) {
            const auto& s = ptp_->snapshot();
            if (s.complete) {
                o["grandmaster"] = s.grandmaster;
                o["port_state"] = s.portStateName;
                o["domain"] = s.domain;
                o["master_offset_ns"] = s.masterOffsetNs;
                o["mean_path_delay_ns"] = s.meanPathDelayNs;
                o["steps_removed"] = s.stepsRemoved;
            }
            if (!ptp_->lastError().empty()) o["error"] = ptp_->lastError();
        } else if (v.id.kind == Kind::ltc && ltc_->status().last) {
            o["timecode"] = ltc_->status().last->text();
            o["fps"] = ltc_->status().fps;
            o["level_dbfs"] = ltc_->status().last->levelDbfs;
        } else if (v.id.kind == Kind::mtc) {
            const auto& st = mtc_[static_cast<std::size_t>(v.id.port)]->status();
            if (st.last) o["timecode"] = st.last->text(), o["fps"] = st.fps;
            o["dropouts"] = st.dropouts;
            o["jumps"] = st.jumps;
        } else if (v.id.kind == Kind::midi_clock) {
            const auto& st = clock_[static_cast<std::size_t>(v.id.port)]->status();
            if (st.bpm > 0) o["bpm"] = std::round(st.bpm * 100) / 100;
            o["running"] = st.running;
        }
        sources.push_back(std::move(o));
    }
    const SourceId a = arbiter_.active();
    json::object out{{"source", a.name()},
                     {"kind", sync::kindName(a.kind)},
                     {"state", arbiter_.freewheeling() ? "freewheel" : sync::healthName(arbiter_.health(a, now))},
                     {"sources", std::move(sources)},
                     {"tempo", json::object{{"bpm", std::round(tempoBpm() * 100) / 100},
                                            {"source", tempoClock() ? "midi_clock" : "manual"},
                                            // a hand-set tempo's beat 0 (JACK frame time)
                                            {"anchor_frame", tempoClock() ? 0 : tempoAnchor_}}}};
    if (auto tc = timecodeSource()) out["timecode_source"] = tc->source;
    if (lastSwitch_)
        out["last_switch"] = json::object{{"from", lastSwitch_->from.name()},
                                          {"to", lastSwitch_->to.name()},
                                          {"emergency", lastSwitch_->emergency},
                                          {"reason", lastSwitch_->reason},
                                          {"at", lastSwitchIso_},
                                          {"phase1_us", static_cast<double>(lastSwitch_->freewheelNs - lastSwitch_->detectedNs) / 1000.0},
                                          {"phase2_us", static_cast<double>(lastSwitch_->selectedNs - lastSwitch_->detectedNs) / 1000.0}};
    return out;
}

json::object TimeSources::ltcLive() const {
    json::object o{{"state", engine::ltcStateName(ltc_->status().state)}};
    const auto& st = ltc_->status();
    o["frames"] = st.frames;
    o["dropouts"] = st.dropouts;
    o["jumps"] = st.jumps;
    o["reverse"] = st.reverse;
    if (st.lockedAt) o["locked_at_frame"] = st.lockedAt;
    o["late_blocks"] = ltcLate_;
    if (st.last) {
        o["timecode"] = st.last->text();
        o["frame_at"] = st.last->startFrame;
        o["fps"] = st.fps;
        o["drop_frame"] = st.last->dropFrame;
        o["level_dbfs"] = st.last->levelDbfs;
    }
    return o;
}

// --- using time -------------------------------------------------------------

std::optional<TimeSources::Timecode> TimeSources::ltcTimecode() const {
    const auto& st = ltc_->status();
    if (st.state != engine::LtcDecoder::State::locked || !st.last || st.last->reverse) return std::nullopt;
    const auto& f = *st.last;
    Timecode t;
    t.source = "ltc";
    t.dropFrame = f.dropFrame;
    t.countFps = f.dropFrame ? 30 : static_cast<int>(std::lround(st.fps));
    t.count = sync::timecodeToFrames({f.hours, f.minutes, f.seconds, f.frames}, t.countFps, f.dropFrame);
    t.startFrame = f.startFrame;
    t.samplesPerFrame = rate_ / exactFps(st.fps);
    return t;
}

std::optional<TimeSources::Timecode> TimeSources::mtcTimecode(int port) const {
    const auto& st = mtc_[static_cast<std::size_t>(port)]->status();
    if (st.state != sync::MtcStatus::State::locked || !st.last || st.last->reverse) return std::nullopt;
    const auto& f = *st.last;
    Timecode t;
    t.source = SourceId{Kind::mtc, port}.name();
    t.dropFrame = f.dropFrame;
    t.countFps = f.countFps();
    t.count = sync::timecodeToFrames(f.timecode(), t.countFps, f.dropFrame);
    t.startFrame = f.startFrame;
    t.samplesPerFrame = rate_ / exactFps(f.fps);
    return t;
}

// The active source when it is a timecode; else the first locked one in
// the priority order (LTC, then the MTC ports).
std::optional<TimeSources::Timecode> TimeSources::timecodeSource() const {
    const SourceId a = arbiter_.active();
    if (a.kind == Kind::ltc)
        if (auto t = ltcTimecode()) return t;
    if (a.kind == Kind::mtc)
        if (auto t = mtcTimecode(a.port)) return t;
    for (const Kind k : arbiter_.config().order) {
        if (k == Kind::ltc && arbiter_.config().kinds[static_cast<std::size_t>(Kind::ltc)].enabled)
            if (auto t = ltcTimecode()) return t;
        if (k == Kind::mtc && arbiter_.config().kinds[static_cast<std::size_t>(Kind::mtc)].enabled)
            for (int p = 0; p < sync::kMidiPorts; ++p)
                if (arbiter_.config().midiPorts[static_cast<std::size_t>(p)].enabled)
                    if (auto t = mtcTimecode(p)) return t;
    }
    return std::nullopt;
}

std::string TimeSources::timecodeNow(std::uint64_t frame) const {
    const auto t = timecodeSource();
    if (!t || frame < t->startFrame) return "";
    const auto k = static_cast<std::int64_t>(static_cast<double>(frame - t->startFrame) / t->samplesPerFrame);
    return timecodeText((t->count + k) % sync::timecodeFramesPerDay(t->countFps, t->dropFrame), t->countFps, t->dropFrame);
}

std::optional<TimeSources::TimecodeAt> TimeSources::timecodeFrame(const std::string& timecode, std::uint64_t nowFrame) const {
    const auto t = timecodeSource();
    sync::Timecode want;
    if (!t || !parseTimecode(timecode, want)) return std::nullopt;
    const std::int64_t target = sync::timecodeToFrames(want, t->countFps, t->dropFrame);
    const double at = static_cast<double>(t->startFrame) + static_cast<double>(target - t->count) * t->samplesPerFrame;
    if (target < t->count || at < static_cast<double>(nowFrame)) return std::nullopt;
    return TimecodeAt{static_cast<std::uint64_t>(std::llround(at)), t->source};
}

const sync::MidiClock* TimeSources::tempoClock() const {
    if (cfg_.tempoSource != "midi_clock") return nullptr;
    const SourceId a = arbiter_.active();
    auto ok = [&](int p) {
        const auto& st = clock_[static_cast<std::size_t>(p)]->status();
        return arbiter_.config().midiPorts[static_cast<std::size_t>(p)].enabled && st.state == sync::MidiClockStatus::State::locked &&
               st.running && st.bpm > 0;
    };
    if (a.kind == Kind::midi_clock && ok(a.port)) return clock_[static_cast<std::size_t>(a.port)].get();
    for (int p = 0; p < sync::kMidiPorts; ++p)
        if (ok(p)) return clock_[static_cast<std::size_t>(p)].get();
    return nullptr;
}

double TimeSources::tempoBpm() const {
    const auto* c = tempoClock();
    return c ? c->status().bpm : cfg_.tempoBpm;
}

std::optional<std::uint64_t> TimeSources::quantized(const std::string& mode, int group, std::uint64_t nowFrame) const {
    if (mode != "beat" && mode != "bar" && mode != "frame") return std::nullopt;
    const std::uint64_t after = nowFrame + static_cast<std::uint64_t>(static_cast<double>(cfg_.snapMinMs) * rate_ / 1000.0);
    if (mode == "frame") {
        const auto g = static_cast<std::size_t>(std::clamp(group, 0, 3));
        const double spf = rate_ / exactFps(cfg_.groupFps[g]);
        // On the timecode source's frames when it runs at the group's rate,
        // else on a grid of the group's rate.
        double origin = static_cast<double>(tempoAnchor_);
        if (auto t = timecodeSource(); t && std::fabs(t->samplesPerFrame - spf) < 0.5) origin = static_cast<double>(t->startFrame);
        const double k = std::ceil((static_cast<double>(after) - origin) / spf);
        return static_cast<std::uint64_t>(std::llround(origin + k * spf));
    }
    const std::int64_t per = mode == "bar" ? std::max(cfg_.beatsPerBar, 1) : 1;
    if (const auto* c = tempoClock()) {
        // Beats of the MIDI clock, counted from the song's start.
        auto b = c->nextBeat(after);
        for (int i = 0; b && i < 64 && b->beat % per != 0; ++i) {
            const auto f = c->beatFrame(b->beat + 1);
            if (!f) return std::nullopt;
            b = sync::MidiClock::Beat{b->beat + 1, *f};
        }
        if (b) return b->frame;
        return std::nullopt;
    }
    // A hand-set tempo: beats from the frame it was set.
    const double spb = rate_ * 60.0 / cfg_.tempoBpm * static_cast<double>(per);
    const double k = std::ceil((static_cast<double>(after) - static_cast<double>(tempoAnchor_)) / spb);
    return static_cast<std::uint64_t>(std::llround(static_cast<double>(tempoAnchor_) + std::max(k, 0.0) * spb));
}

json::object TimeSources::stamp(std::uint64_t frame) const {
    const SourceId a = arbiter_.active();
    json::object o{{"time_source", a.name()},
                   {"source_state", arbiter_.freewheeling() ? "freewheel" : sync::healthName(arbiter_.health(a, sync::monotonicNs()))}};
    const std::string tc = timecodeNow(frame);
    if (a.kind == Kind::ptp && ptp_ && ptp_->snapshot().complete) {
        o["source_time"] = "offset " + std::to_string(static_cast<long long>(ptp_->snapshot().masterOffsetNs)) + " ns from " +
                           ptp_->snapshot().grandmaster;
    } else if (a.kind == Kind::midi_clock) {
        const auto& st = clock_[static_cast<std::size_t>(a.port)]->status();
        o["source_time"] = "tick " + std::to_string(st.songPositionTicks) + " at " + std::to_string(st.bpm).substr(0, 6) + " BPM";
    } else if (!tc.empty()) {
        o["source_time"] = tc;
    } else {
        o["source_time"] = "frame " + std::to_string(frame);
    }
    if (!tc.empty()) o["timecode"] = tc;
    // The drift the box's clock had against the source then: the correction
    // a timecode mapping made (each start is placed from the newest stamp).
    if (a.kind != Kind::internal) {
        const auto ms = arbiter_.monitor(a).measures(a.kind == Kind::mtc || a.kind == Kind::midi_clock
                                                          ? arbiter_.config().midiPorts[static_cast<std::size_t>(a.port)].limits
                                                          : arbiter_.config().kinds[static_cast<std::size_t>(a.kind)].limits);
        if (ms.points && a.kind != Kind::midi_clock) o["source_drift_ppm"] = std::round(ms.driftPpm * 1000) / 1000;
    }
    return o;
}

}  // namespace cuebox::app
