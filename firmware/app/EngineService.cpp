#include "app/EngineService.h"
#include "base/SdNotify.h"

#include "base/Log.h"
#include "base/Time.h"

#include <boost/json.hpp>

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <array>
#include <fnmatch.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

namespace cuebox::app {
namespace json = boost::json;
using engine::Command;
using engine::Event;

namespace {
float gain(double db) { return db <= model::kLevelMinDb ? 0.0f : static_cast<float>(std::pow(10.0, db / 20.0)); }
}  // namespace

engine::MixConfig mixConfig(const model::AudioConfig& a, int outputs) {
    engine::MixConfig m = engine::MixConfig::defaults(outputs);
    for (auto& row : m.matrix) row.fill(0.0f);
    for (int b = 0; b < engine::kBusses; ++b) {
        const auto& bc = a.busses[static_cast<std::size_t>(b)];
        m.busLevel[static_cast<std::size_t>(b)] = gain(bc.levelDb);
        m.pfl[static_cast<std::size_t>(b)] = bc.pfl;
        if (b < engine::kGroups) m.choke[static_cast<std::size_t>(b)] = bc.choke;
    }
    m.masterLevel = gain(a.masterDb);
    m.monitorLevel = gain(a.monitorDb);
    for (int o = 0; o < outputs && o < static_cast<int>(a.outputs.size()); ++o)
        m.outputLevel[static_cast<std::size_t>(o)] = gain(a.outputs[static_cast<std::size_t>(o)].levelDb);
    // Crosspoints to outputs this box does not have are kept in the show but
    // not heard.
    for (const auto& x : a.routing)
        if (x.bus >= 0 && x.bus < engine::kBusses && x.output >= 0 && x.output < outputs)
            m.matrix[static_cast<std::size_t>(x.bus * 2 + x.channel)][static_cast<std::size_t>(x.output)] = gain(x.gainDb);
    return m;
}

namespace {
const char* refuseCode(engine::RefuseReason r) {
    switch (r) {
    case engine::RefuseReason::unknownClip: return "not_found";
    case engine::RefuseReason::poolFull: return "unavailable";
    case engine::RefuseReason::noMedia: return "conflict";
    case engine::RefuseReason::overload: return "unavailable";
    case engine::RefuseReason::notPlaying: return "conflict";
    default: return "internal";
    }
}
}  // namespace


EngineService::EngineService(EngineServiceOptions o, engine::Engine& e, engine::JackDriver& jack)
    : opt_(std::move(o)), engine_(e), jack_(jack), loader_(opt_.dataDir, e.config().sampleRate, opt_.streamAboveS.value_or(60.0)) {
    time_ = std::make_unique<TimeSources>(static_cast<int>(e.config().sampleRate));
    time_->configure(timeSourcesConfig(model::defaultSettings()), 0);
    disk_ = std::thread([this] { diskLoop(); });
    const char* hooks = std::getenv("CUEBOX_TEST_HOOKS");
    testHooks_ = hooks && std::string(hooks) == "1";
    if (testHooks_) log::warn("engine", "test hooks are enabled (CUEBOX_TEST_HOOKS=1): never on a show system");
}

// The disk thread: keeps the stream rings of long clips filled and writes
// recordings. Never touched by the RT thread except through lock-free rings.
void EngineService::diskLoop() {
    // Real-time, below JACK's threads (as Ardour's butler): it sleeps almost
    // always, but when a ring needs filling it must not queue behind the
    // web process or a browser. Without the privilege it stays SCHED_OTHER.
    sched_param sp{};
    sp.sched_priority = 1;
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
        log::info("engine", "disk thread: no real-time priority available (SCHED_OTHER)");
    while (!diskStop_.load()) {
        bool did = engine_.streamer().service();
        for (int r = 0; r < engine::kRecorders; ++r) did |= serviceRecorder(r);
        if (!did) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (auto& w : writers_) w.close();
}

bool EngineService::serviceRecorder(int r) {
    auto& rec = engine_.recorder();
    auto& w = writers_[static_cast<std::size_t>(r)];
    const auto state = rec.state(r);
    if (state == engine::Recorder::State::idle) return false;
    auto report = [&](Take t) {
        std::lock_guard lock(takesMutex_);
        takes_.push_back(std::move(t));
    };
    if (!w.isOpen()) {
        // recordings/rec_a_20261121T101500Z.wav, at the engine's rate: ready to be a clip.
        const std::string dir = opt_.dataDir + "/media/recordings";
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        std::string stamp = isoNow();  // 20261121T101500Z once '-' and ':' are gone
        stamp.erase(std::remove_if(stamp.begin(), stamp.end(), [](char c) { return c == '-' || c == ':'; }), stamp.end());
        const std::string name = std::string("rec_") + (r == 0 ? "a_" : "b_") + stamp + ".wav";
        if (auto st = w.open(dir + "/" + name, engine_.config().sampleRate, 2); !st) {
            rec.stop(r);
            rec.finished(r);
            report({r, "media/recordings/" + name, 0, 0, st.error().reason, true});
            return true;
        }
        report({r, "media/recordings/" + name, 0, 0, "", false});
    }
    std::array<float, 4096 * 2> buf;
    bool did = false;
    for (;;) {
        const std::size_t n = rec.read(r, buf.data(), 4096);
        if (n == 0) break;
        did = true;
        if (auto st = w.write(buf.data(), static_cast<std::int64_t>(n)); !st) {
            log::error("engine", "recording: " + st.error().reason);
            rec.stop(r);
        }
    }
    if (rec.state(r) == engine::Recorder::State::stopping && rec.read(r, buf.data(), 1) == 0) {
        Take t{r, "media/recordings/" + std::filesystem::path(w.path()).filename().string(), w.frames(), rec.overruns(r), "", true};
        w.close();
        rec.finished(r);
        report(std::move(t));
        did = true;
    }
    return did;
}

EngineService::~EngineService() {
    diskStop_ = true;
    if (disk_.joinable()) disk_.join();
    if (listenFd_ >= 0) {
        ::close(listenFd_);
        ::unlink(opt_.socketPath.c_str());
    }
}

Status EngineService::run(const std::atomic<bool>& stop) {
    auto lfd = ipc::listenUnix(opt_.socketPath);
    if (!lfd) return lfd.error().context("engine: ipc");
    listenFd_ = *lfd;
    log::info("engine", "listening on " + opt_.socketPath);
    refreshShow(true);
    // systemd (the box's cuebox-engine.service, Type=notify, WatchdogSec=):
    // ready once the show is loaded; the watchdog is fed only while JACK
    // keeps calling the process thread, so a stalled engine is restarted.
    sd::notify("READY=1");
    const auto watchdog = sd::watchdogInterval() / 2;
    auto lastKick = std::chrono::steady_clock::now();
    std::uint64_t kickedAtCycle = engine_.load().calls();

    while (!stop.load() && !jack_.shutDown()) {
        if (watchdog.count() > 0 && std::chrono::steady_clock::now() - lastKick >= watchdog) {
            const std::uint64_t cycles = engine_.load().calls();
            if (cycles != kickedAtCycle) sd::notify("WATCHDOG=1");
            kickedAtCycle = cycles;
            lastKick = std::chrono::steady_clock::now();
        }
        std::vector<pollfd> fds;
        fds.push_back({listenFd_, POLLIN, 0});
        for (auto& c : clients_) fds.push_back({c->conn.fd(), POLLIN, 0});
        int ptpIndex = -1;
        if (time_->ptpFd() >= 0) {
            ptpIndex = static_cast<int>(fds.size());
            fds.push_back({time_->ptpFd(), POLLIN, 0});
        }
        // Short waits while replies are owed (events come from the RT
        // thread, which must not make system calls to wake us).
        // With a MIDI controller connected, 2 ms: its events wait in a
        // ring until this thread looks.
        const int timeout = pending_.empty() && !unpublished_ && !unpublishedMix_ ? (jack_.midiConnected() || jack_.syncConnected() ? 2 : 10) : 1;
        ::poll(fds.data(), fds.size(), timeout);
        if (fds[0].revents & POLLIN) accept();
        for (std::size_t i = 1; i < 1 + clients_.size(); ++i)
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) serve(*clients_[i - 1]);
        clients_.erase(std::remove_if(clients_.begin(), clients_.end(), [](auto& c) { return !c->conn.open(); }),
                       clients_.end());

        drainEvents();
        if (ptpIndex >= 0 && (fds[static_cast<std::size_t>(ptpIndex)].revents & POLLIN)) time_->ptpReadable();
        serviceTime();
        for (engine::MidiEvent m; engine_.midi().next(m);) {
            if (m.port > 0) {  // a time source (sync_in_N)
                time_->midi(m.port - 1, m.bytes.data(), m.size, m.frame);
                continue;
            }
            json::array bytes;
            for (std::size_t i = 0; i < m.size; ++i) bytes.emplace_back(m.bytes[i]);
            broadcast(ipc::MsgType::event, {{"event", "midi"}, {"bytes", std::move(bytes)}, {"frame", m.frame}});
        }
        {
            std::vector<Take> takes;
            {
                std::lock_guard lock(takesMutex_);
                takes.swap(takes_);
            }
            for (const auto& t : takes) {
                json::object ev{{"event", t.done ? "recording_done" : "recording_started"},
                                {"bus", t.rec == 0 ? "A" : "B"},
                                {"file", t.file}};
                if (t.done) {
                    ev["frames"] = t.frames;
                    ev["duration_s"] = static_cast<double>(t.frames) / engine_.config().sampleRate;
                    ev["overruns"] = t.overruns;
                }
                if (!t.error.empty()) ev["error"] = t.error;
                log::info("engine", std::string("record ") + (t.rec ? "B" : "A") + (t.done ? " finished " : " started ") + t.file);
                broadcast(ipc::MsgType::event, ev);
            }
        }
        while (engine::ClipTable* old = engine_.takeRetiredTable()) delete old;
        while (engine::MixConfig* old = engine_.takeRetiredMix()) delete old;
        if (unpublished_ && engine_.publishTable(unpublished_.get())) unpublished_.release();
        if (unpublishedMix_ && engine_.publishMix(unpublishedMix_.get())) unpublishedMix_.release();

        const auto now = Clock::now();
        if (now - lastStoreCheck_ > std::chrono::milliseconds(500)) {
            refreshShow(false);
            checkMidiSources();
        }
        const bool busy = engine_.activeSlots() > 0;
        if (now - lastState_ > std::chrono::milliseconds(busy ? 33 : 500)) {
            lastState_ = now;
            broadcast(ipc::MsgType::state, liveState());
        }
        if (jack_.xruns() != lastXruns_) {
            lastXruns_ = jack_.xruns();
            dropouts_.push_back(isoNow(true));
            while (dropouts_.size() > 32) dropouts_.pop_front();
            broadcast(ipc::MsgType::event, {{"event", "xrun"}, {"count", lastXruns_}});
        }
    }
    if (jack_.shutDown()) return makeError(Errc::unavailable, "jack", "engine: the JACK server shut the client down");
    return {};
}

void EngineService::checkMidiSources() {
    if (midiAllow_.empty()) return;
    for (const auto& port : jack_.midiSources()) {
        const bool ok = std::any_of(midiAllow_.begin(), midiAllow_.end(),
                                    [&port](const std::string& pat) { return ::fnmatch(pat.c_str(), port.c_str(), 0) == 0; });
        if (ok) continue;
        jack_.disconnectMidiSource(port);
        log::warn("engine", "MIDI source " + port + " is not on the MIDI allow-list: disconnected");
        broadcast(ipc::MsgType::event, {{"event", "midi_refused"}, {"port", port}});
    }
}

void EngineService::accept() {
    for (;;) {
        int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        auto c = std::make_unique<Client>();
        c->conn = ipc::Connection(fd);
        clients_.push_back(std::move(c));
        log::info("engine", "ipc client connected");
    }
}

void EngineService::serve(Client& c) {
    if (auto st = c.conn.receive(); !st) {
        log::info("engine", "ipc client left: " + st.error().reason);
        c.conn.close();
        return;
    }
    for (;;) {
        auto f = c.conn.next();
        if (!f) {
            log::warn("engine", f.error().reason + " (field " + f.error().field + "); closing the connection");
            c.conn.close();
            return;
        }
        if (!f->has_value()) return;
        handleFrame(c, **f);
        if (!c.conn.open()) return;
    }
}

void EngineService::handleFrame(Client& c, const ipc::Frame& f) {
    if (!c.greeted && f.type != ipc::MsgType::hello) {
        log::warn("engine", "ipc client spoke before hello; closing");
        c.conn.close();
        return;
    }
    switch (f.type) {
    case ipc::MsgType::hello: {
        c.greeted = true;
        json::object hello{{"role", "engine"}, {"pid", ::getpid()}, {"protocol", ipc::kProtocolVersion}};
        hello["live"] = liveState();
        c.conn.send(ipc::MsgType::hello, hello);
        break;
    }
    case ipc::MsgType::command: handleCommand(c, f.body); break;
    case ipc::MsgType::reload: refreshShow(false); break;
    default:
        log::warn("engine", std::string("ipc: unexpected ") + ipc::msgTypeName(f.type) + " from web; ignored");
        break;
    }
}

void EngineService::handleCommand(Client& c, const json::object& body) {
    const json::value* reqv = body.if_contains("req");
    json::value webReq = reqv ? *reqv : json::value(nullptr);
    auto refuse = [&](const char* code, const char* field, const std::string& reason) {
        reply(c.conn.fd(), {{"req", webReq}, {"ok", false}, {"code", code}, {"field", field}, {"reason", reason}});
    };
    const json::value* opv = body.if_contains("op");
    if (!opv || !opv->is_string()) return refuse("bad_request", "op", "command has no op");
    const std::string op(opv->as_string());
    if (op == "record_start" || op == "record_stop") {
        const json::value* b = body.if_contains("bus");
        if (!b || !b->is_string() || (b->as_string() != "A" && b->as_string() != "B"))
            return refuse("bad_request", "bus", "record bus must be A or B");
        const int r = b->as_string() == "A" ? 0 : 1;
        if (op == "record_stop") {
            if (engine_.recorder().state(r) != engine::Recorder::State::recording)
                return refuse("conflict", "bus", std::string("record ") + (r ? "B" : "A") + " is not recording");
            engine_.recorder().stop(r);
            return reply(c.conn.fd(), {{"req", webReq}, {"ok", true}, {"action", op}});
        }
        float gain = 1.0f;
        if (const json::value* l = body.if_contains("level_db"); l && l->is_number())
            gain = static_cast<float>(std::pow(10.0, l->to_number<double>() / 20.0));
        if (!engine_.recorder().start(r, gain))
            return refuse("conflict", "bus", std::string("record ") + (r ? "B" : "A") + " is already recording");
        return reply(c.conn.fd(), {{"req", webReq}, {"ok", true}, {"action", op}});
    }
    if (op == "midi_allow") {
        // JACK port name patterns that may stay connected to cuebox:midi_in
        // ([] = any); checked at once and then twice a second.
        const json::value* p = body.if_contains("patterns");
        if (!p || !p->is_array() || p->as_array().size() > 32) return refuse("bad_request", "patterns", "patterns must be a list of up to 32");
        std::vector<std::string> patterns;
        for (const auto& x : p->as_array()) {
            if (!x.is_string()) return refuse("bad_request", "patterns", "each pattern is text");
            patterns.emplace_back(x.as_string());
        }
        midiAllow_ = std::move(patterns);
        checkMidiSources();
        return reply(c.conn.fd(), {{"req", webReq}, {"ok", true}, {"action", op}});
    }
    if (op == "midi_out") {
        // Feedback to a controller: the bytes of one MIDI message, written
        // to cuebox:midi_out in the next cycle.
        const json::value* b = body.if_contains("bytes");
        if (!b || !b->is_array() || b->as_array().empty() || b->as_array().size() > engine::kMaxMidiEvent)
            return refuse("bad_request", "bytes", "bytes must be a MIDI message of 1 to 128 bytes");
        std::array<std::uint8_t, engine::kMaxMidiEvent> msg{};
        std::size_t n = 0;
        for (const auto& x : b->as_array()) {
            if (!x.is_int64() || x.as_int64() < 0 || x.as_int64() > 255) return refuse("bad_request", "bytes", "each byte is 0-255");
            msg[n++] = static_cast<std::uint8_t>(x.as_int64());
        }
        if (!engine_.midi().send(msg.data(), n)) return refuse("unavailable", "midi", "the MIDI output queue is full");
        return reply(c.conn.fd(), {{"req", webReq}, {"ok", true}, {"action", op}});
    }
    if (op == "test_stall_disk") {
        if (!testHooks_) return refuse("bad_request", "op", "test hooks are not enabled in this engine");
        const json::value* on = body.if_contains("on");
        engine_.streamer().setStalled(on && on->is_bool() && on->as_bool());
        return reply(c.conn.fd(), {{"req", webReq}, {"ok", true}, {"action", op}});
    }
    if (op == "test_dsp_ballast") {
        if (!testHooks_) return refuse("bad_request", "op", "test hooks are not enabled in this engine");
        const json::value* us = body.if_contains("us");
        if (!us || !us->is_number()) return refuse("bad_request", "us", "us must be a number");
        engine_.setBallastNs(static_cast<std::int64_t>(us->to_number<double>() * 1000));
        return reply(c.conn.fd(), {{"req", webReq}, {"ok", true}, {"action", op}});
    }
    Command cmd;
    static const std::map<std::string, Command::Type> ops = {
        {"start", Command::Type::start},         {"press", Command::Type::press},
        {"release", Command::Type::release},     {"stop", Command::Type::stop},
        {"toggle", Command::Type::toggle},       {"pause", Command::Type::pause},
        {"resume", Command::Type::resume},       {"stop_group", Command::Type::stopGroup},
        {"panic", Command::Type::panic},         {"audition", Command::Type::audition},
        {"stop_audition", Command::Type::stopAudition},
    };
    auto opIt = ops.find(op);
    if (opIt == ops.end()) return refuse("bad_request", "op", "unknown op '" + op + "'");
    cmd.type = opIt->second;
    if (cmd.type == Command::Type::stopGroup) {
        const json::value* g = body.if_contains("group");
        if (!g || !g->is_string() || g->as_string().size() != 1 || g->as_string()[0] < 'A' || g->as_string()[0] > 'D')
            return refuse("bad_request", "group", "group must be one of A, B, C, D");
        cmd.group = static_cast<std::uint8_t>(g->as_string()[0] - 'A');
    } else if (cmd.type != Command::Type::panic && cmd.type != Command::Type::stopAudition) {
        const json::value* clip = body.if_contains("clip");
        if (!clip || !(clip->is_uint64() || (clip->is_int64() && clip->as_int64() > 0)))
            return refuse("bad_request", "clip", "clip must be a positive id");
        cmd.clip = clip->to_number<std::uint64_t>();
    }
    if (const json::value* at = body.if_contains("at_frame"); at && at->is_number())
        cmd.atFrame = at->to_number<std::uint64_t>();
    // Quantized launch: a start waits for the next beat, bar or frame of
    // the time division (the clip's setting, else the show's). A stop is
    // never held back.
    if (!cmd.atFrame && (cmd.type == Command::Type::start || cmd.type == Command::Type::press || cmd.type == Command::Type::toggle) &&
        !(cmd.type != Command::Type::start && clipSounding(cmd.clip))) {
        const auto it = timing_.find(cmd.clip);
        std::string mode = it != timing_.end() ? it->second.quantize : "";
        if (mode.empty()) mode = time_->quantizeDefault();
        if (const auto q = time_->quantized(mode, it != timing_.end() ? it->second.group : 0, jack_.frameTime())) cmd.atFrame = *q;
    }
    if (const json::value* g = body.if_contains("gain_db"); g && g->is_number() && cmd.type == Command::Type::start)
        cmd.gain = static_cast<float>(std::pow(10.0, std::clamp(g->to_number<double>(), -90.0, 0.0) / 20.0));
    if (const json::value* fade = body.if_contains("fade_ms"); fade && fade->is_number()) {
        const double ms = std::clamp(fade->to_number<double>(), 0.0, 3000.0);
        cmd.fadeFrames = static_cast<std::uint32_t>(ms * engine_.config().sampleRate / 1000.0);
    }
    cmd.req = nextReq_++;
    if (nextReq_ == 0) nextReq_ = 1;
    cmd.queuedFrame = jack_.frameTime();
    cmd.postedAfterBlock = engine_.lastBlockFrame();
    cmd.postedNs = engine::LoadMeter::nowNs();
    if (!engine_.post(cmd)) return refuse("unavailable", "engine", "the engine's command queue is full");
    pending_[cmd.req] = Pending{c.conn.fd(), webReq, op};
}

bool EngineService::clipSounding(std::uint64_t clip) const {
    for (int i = 0; i < engine::kMaxVoices; ++i)
        if (engine_.voice(i).clip.load(std::memory_order_relaxed) == clip) return true;
    return false;
}

void EngineService::drainEvents() {
    Event e;
    while (engine_.popEvent(e)) {
        auto it = pending_.find(e.req);
        const bool answers = it != pending_.end() && e.type != Event::Type::started;
        if (answers) {
            json::object r{{"req", it->second.webReq}, {"ok", e.type != Event::Type::refused}};
            switch (e.type) {
            case Event::Type::starting: r["action"] = "start"; break;
            case Event::Type::stopping:
            case Event::Type::stopped: r["action"] = "stop"; break;
            case Event::Type::panic: r["action"] = "panic"; break;
            case Event::Type::paused: r["action"] = "pause"; break;
            case Event::Type::resumed: r["action"] = "resume"; break;
            case Event::Type::ignored: r["action"] = "none"; break;
            case Event::Type::done: r["action"] = it->second.op; break;
            case Event::Type::refused:
                r["code"] = refuseCode(e.reason);
                r["field"] = "clip";
                r["reason"] = engine::refuseReasonText(e.reason);
                break;
            default: break;
            }
            reply(it->second.fd, r);
            pending_.erase(it);
        }
        switch (e.type) {
        case Event::Type::started:
            if (e.bus < engine::kBusses) lastUsed_[e.bus] = isoNow(true);
        {
            // The timestamp record: which time source the box followed and
            // its time at the first sample.
            json::object ev{{"event", "clip_started"},
                            {"clip", e.clip},
                            {"frame", e.frame},
                            {"latency_frames", e.latencyFrames},
                            {"cycles_waited", e.cyclesWaited},
                            {"wait_us", e.waitNs / 1000}};
            for (auto& [k, v] : time_->stamp(e.frame)) ev[k] = v;
            broadcast(ipc::MsgType::event, ev);
        }
            break;
        case Event::Type::stopped:
            if (!clipSounding(e.clip)) broadcast(ipc::MsgType::event, {{"event", "clip_stopped"}, {"clip", e.clip}});
            break;
        case Event::Type::refused:
            log::warn("engine", "command for clip " + std::to_string(e.clip) + " refused: " + engine::refuseReasonText(e.reason));
            break;
        case Event::Type::underrun:
            broadcast(ipc::MsgType::event, {{"event", "underrun"}, {"clip", e.clip}, {"count", engine_.streamer().underruns()}});
            break;
        case Event::Type::stolen:
        case Event::Type::choked:
            broadcast(ipc::MsgType::event,
                      {{"event", e.type == Event::Type::stolen ? "voice_stolen" : "voice_choked"}, {"clip", e.clip}});
            break;
        default: break;
        }
    }
}

void EngineService::reply(int fd, const json::object& body) {
    for (auto& c : clients_)
        if (c->conn.fd() == fd && c->conn.open()) c->conn.send(ipc::MsgType::reply, body);
}

// A peer that does not read must never hold up this loop: a state frame is
// skipped for a peer with data still queued (the next one replaces it), and
// a peer too far behind even for events is disconnected (it reconnects and
// gets a fresh hello with the whole live state).
void EngineService::broadcast(ipc::MsgType t, const json::object& body) {
    constexpr int kStateBacklog = 64 * 1024, kEventBacklog = 160 * 1024;
    for (auto& c : clients_) {
        if (!c->greeted || !c->conn.open()) continue;
        const int queued = c->conn.queuedBytes();
        if (t == ipc::MsgType::state && queued > kStateBacklog) continue;
        if (queued > kEventBacklog) {
            log::warn("engine", "an ipc client stopped reading; disconnecting it");
            c->conn.close();
            continue;
        }
        c->conn.send(t, body);
    }
}

void EngineService::refreshShow(bool force) {
    lastStoreCheck_ = Clock::now();
    if (!store_) {
        auto s = store::Store::open(store::Options{opt_.dataDir + "/store", true});
        if (!s) {
            if (force) log::info("engine", "waiting for the show store: " + s.error().reason);
            return;
        }
        store_ = std::move(*s);
    }
    auto rev = store_->revision();
    if (!rev) {
        log::error("engine", rev.error().reason);
        return;
    }
    if (!force && haveShow_ && *rev == revision_) return;
    if (unpublished_ || unpublishedMix_) return;  // the previous offer is not taken yet; retry later
    auto loaded = store_->loadedShow();
    if (!loaded || !loaded->has_value()) return;
    auto show = store_->loadShow(**loaded);
    if (!show) {
        log::error("engine", show.error().reason);
        return;
    }
    if (!opt_.streamAboveS) loader_.setStreamAboveS(show->settings.at("voices").at("stream_above_s").to_number<double>());
    auto built = loader_.build(*show);
    missing_ = std::move(built.missing);
    revision_ = *rev;
    haveShow_ = true;
    log::info("engine", "show '" + show->name + "' revision " + std::to_string(revision_) + ": " +
                            std::to_string(built.table->size()) + " clips, " + std::to_string(missing_.size()) +
                            " missing");
    unpublished_ = std::move(built.table);
    if (engine_.publishTable(unpublished_.get())) unpublished_.release();
    unpublishedMix_ = std::make_unique<engine::MixConfig>(mixConfig(show->audio, engine_.outputs()));
    if (engine_.publishMix(unpublishedMix_.get())) unpublishedMix_.release();
    // The audio thread's CPU (the emergency section's thread configuration).
    if (const int cpu = static_cast<int>(show->settings.at("emergency").at("audio_cpu").to_number<std::int64_t>()); cpu != audioCpu_) {
        audioCpu_ = cpu;
        cpuError_ = jack_.setProcessCpu(cpu);
        if (!cpuError_.empty()) log::warn("engine", cpuError_);
    }
    // Time sources: the show's settings; the inputs it names patched.
    time_->configure(timeSourcesConfig(show->settings), jack_.frameTime());
    const auto& ts = show->settings.at("time_sources");
    auto patch = [&](const std::string& own, const std::string& src, std::string& last) {
        if (src == last) return;
        last = src;
        if (auto err = jack_.patchInput(own, src); !err.empty()) log::warn("engine", "time source input: " + err);
    };
    patch("ltc_in", std::string(ts.at("ltc_port").as_string()), ltcPort_);
    const auto& ms = ts.at("midi_sources").as_array();
    for (std::size_t i = 0; i < ms.size() && i < syncPorts_.size(); ++i)
        patch("sync_in_" + std::to_string(i + 1), std::string(ms[i].at("port").as_string()), syncPorts_[i]);
    std::map<std::uint64_t, ClipTiming> timing;
    for (const auto& c : show->clips) {
        ClipTiming t{c.quantize, c.group - 'A', c.timecode, false};
        if (auto it = timing_.find(c.id); it != timing_.end() && it->second.timecode == c.timecode) t.fired = it->second.fired;
        timing[c.id] = std::move(t);
    }
    timing_ = std::move(timing);
}

json::object EngineService::engineStatus() const {
    const auto sched = jack_.sched();
    const auto& load = engine_.load();
    return json::object{
        {"connected", true},
        {"client", jack_.clientName()},
        {"sample_rate", engine_.config().sampleRate},
        {"period", jack_.bufferSize()},
        {"scheduling", {{"policy", sched.policy}, {"priority", sched.priority}, {"cpus", json::value_from(sched.cpus)}, {"cpu_error", cpuError_}}},
        {"dsp_load", std::round(load.average() * 10000.0) / 10000.0},
        {"dsp_peak", std::round(load.peak() * 10000.0) / 10000.0},
        {"process_worst_us", load.worstNs() / 1000},
        {"xruns", jack_.xruns()},
        {"cycles", engine_.load().calls()},
        {"stream_underruns", engine_.streamer().underruns()},
        {"streams_active", engine_.streamer().active()},
        {"revision", revision_},
        {"pid", ::getpid()},
    };
}

json::object EngineService::meters() {
    // Peak and RMS since the previous state message, in dBFS (-120 = silence).
    auto db = [](float x) { return x > 1e-6f ? std::round(20.0 * std::log10(x) * 10) / 10 : -120.0; };
    auto& mx = engine_.mixer();
    json::object busses;
    for (int b = 0; b < engine::kBusses; ++b) {
        json::array chans;
        for (int ch = 0; ch < 2; ++ch) {
            float pk, rms;
            mx.busMeter(b * 2 + ch).read(pk, rms);
            chans.push_back(json::object{{"peak_db", db(pk)}, {"rms_db", db(rms)}});
        }
        busses[model::busName(b)] = std::move(chans);
    }
    json::array outputs;
    for (int o = 0; o < engine_.outputs(); ++o) {
        float pk, rms;
        mx.outputMeter(o).read(pk, rms);
        outputs.push_back(json::object{{"peak_db", db(pk)}, {"rms_db", db(rms)}});
    }
    json::array monitor;
    for (int ch = 0; ch < 2; ++ch) {
        float pk, rms;
        mx.monitorMeter(ch).read(pk, rms);
        monitor.push_back(json::object{{"peak_db", db(pk)}, {"rms_db", db(rms)}});
    }
    return json::object{{"busses", std::move(busses)}, {"outputs", std::move(outputs)}, {"monitor", std::move(monitor)}};
}

// Once a poll: the LTC the RT thread copied, the time sources judged (a
// switch of source goes out as an event at once: phase 3 of the emergency
// protocol is the web side's), and timecode triggers posted ahead.
void EngineService::serviceTime() {
    const std::uint64_t now = jack_.frameTime();
    for (engine::LtcTap::Stamp st; engine_.ltc().read(st, ltcBlock_);) time_->ltcBlock(ltcBlock_.data(), st.n, st.frame, now);
    if (auto sw = time_->service(sync::monotonicNs(), now)) {
        log::info("engine", "time source " + std::string(sw->at("from").as_string()) + " -> " + std::string(sw->at("to").as_string()) +
                                " (" + std::string(sw->at("reason").as_string()) + ")");
        broadcast(ipc::MsgType::event, *sw);
    }
    // Timecode triggers: posted once their time is less than 250 ms ahead
    // (the engine holds a scheduled start to its sample); re-armed when the
    // timecode goes back before them (a rehearsal re-run).
    const auto ahead = static_cast<std::uint64_t>(engine_.config().sampleRate / 4);
    for (auto& [clip, t] : timing_) {
        if (t.timecode.empty()) continue;
        const auto at = time_->timecodeFrame(t.timecode, now);
        // Re-armed when the timecode is back before the look-ahead window
        // (with a margin, so the poll after it fired does not re-arm it).
        if (t.fired && at && at->frame > now + ahead + ahead / 2) t.fired = false;
        if (!at || t.fired || at->frame > now + ahead) continue;
        t.fired = true;
        postTimecodeStart(clip, at->frame, at->source);
    }
}

void EngineService::postTimecodeStart(std::uint64_t clip, std::uint64_t frame, const std::string& source) {
    engine::Command cmd;
    cmd.type = engine::Command::Type::start;
    cmd.clip = clip;
    cmd.atFrame = frame;
    cmd.req = nextReq_++;
    if (nextReq_ == 0) nextReq_ = 1;
    cmd.queuedFrame = jack_.frameTime();
    cmd.postedAfterBlock = engine_.lastBlockFrame();
    cmd.postedNs = engine::LoadMeter::nowNs();
    if (!engine_.post(cmd)) {
        broadcast(ipc::MsgType::event, {{"event", "timecode_trigger_failed"}, {"clip", clip}, {"reason", "the engine's command queue is full"}});
        return;
    }
    broadcast(ipc::MsgType::event,
              {{"event", "timecode_trigger"}, {"clip", clip}, {"at_frame", frame}, {"source", source}, {"timecode", timing_[clip].timecode}});
}

json::object EngineService::ltcLive() const {
    json::object o = time_->ltcLive();
    o["overruns"] = engine_.ltc().dropped();  // blocks the RT thread could not hand over (a full ring)
    return o;
}

json::object EngineService::liveState() {
    const double rate = engine_.config().sampleRate;
    // One entry per clip: a clip with several voices shows its newest.
    std::map<std::uint64_t, json::object> clips;
    for (int i = 0; i < engine::kMaxVoices; ++i) {
        const auto& v = engine_.voice(i);
        const std::uint64_t id = v.clip.load(std::memory_order_relaxed);
        if (!id) continue;
        const double len = static_cast<double>(v.length.load(std::memory_order_relaxed)) / rate;
        const double pos = std::min(static_cast<double>(v.position.load(std::memory_order_relaxed)) / rate, len);
        const auto vs = v.state.load(std::memory_order_relaxed);
        const char* state = vs == engine::VoiceState::paused ? "paused" : vs == engine::VoiceState::fading ? "fading" : "playing";
        auto it = clips.find(id);
        // A clip with several voices shows its newest one that is not fading.
        if (it != clips.end() && (vs == engine::VoiceState::fading || it->second.at("position_s").as_double() <= pos))
            continue;
        clips[id] = json::object{{"id", id},
                                 {"state", state},
                                 {"audition", v.bus.load(std::memory_order_relaxed) == engine::kAuditionBus},
                                 {"position_s", std::round(pos * 1000) / 1000},
                                 {"duration_s", std::round(len * 1000) / 1000},
                                 {"remaining_s", std::round((len - pos) * 1000) / 1000}};
    }
    json::array list;
    for (auto& [id, o] : clips) list.push_back(std::move(o));
    json::array missing;
    for (auto id : missing_) missing.push_back(id);
    json::object busses;
    for (int b = 0; b < engine::kBusses; ++b) {
        int voices = 0;
        for (int i = 0; i < engine::kMaxVoices; ++i)
            if (engine_.voice(i).clip.load(std::memory_order_relaxed) && engine_.voice(i).bus.load(std::memory_order_relaxed) == b)
                ++voices;
        busses[model::busName(b)] = json::object{{"voices", voices}, {"last_used", lastUsed_[static_cast<std::size_t>(b)]}};
    }
    json::array dropouts;
    for (const auto& d : dropouts_) dropouts.push_back(json::value(d));
    json::object record;
    for (int r = 0; r < engine::kRecorders; ++r) {
        const auto st = engine_.recorder().state(r);
        record[r == 0 ? "A" : "B"] = json::object{
            {"state", st == engine::Recorder::State::idle ? "idle" : st == engine::Recorder::State::recording ? "recording" : "stopping"},
            {"seconds", std::round(static_cast<double>(engine_.recorder().frames(r)) / engine_.config().sampleRate * 10) / 10},
            {"overruns", engine_.recorder().overruns(r)}};
    }
    const auto u = engine_.usage();
    return json::object{{"engine", engineStatus()},
                        {"voices", {{"active", u.slots},
                                    {"pool", engine::kVoiceSlots},
                                    {"stereo", u.stereo},
                                    {"mono", u.mono},
                                    {"reserved", u.reserved},
                                    {"audition", u.audition},
                                    {"load_state", engine::loadStateName(u.load)},
                                    {"load_of_ceiling", std::round(engine_.load().average() / engine::OverloadGuard::kCritical * 1000) / 1000}}},
                        {"clips", std::move(list)},
                        {"busses", std::move(busses)},
                        {"dropouts", std::move(dropouts)},
                        {"record", std::move(record)},
                        {"meters", meters()},
                        {"ltc", ltcLive()},
                        {"clock", time_->live()},
                        {"missing", std::move(missing)}};
}

}  // namespace cuebox::app
