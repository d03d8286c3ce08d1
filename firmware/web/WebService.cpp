#include "web/WebService.h"

#include "base/Log.h"
#include "base/Time.h"
#include "web/ClockHistory.h"
#include "media/DemoMedia.h"
#include "web/EngineLink.h"
#include "web/ControlExec.h"
#include "web/Housekeeping.h"
#include "web/MidiControl.h"
#include "web/OscServer.h"
#include "web/Server.h"
#include "web/ShowService.h"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace cuebox::web {
namespace json = boost::json;
namespace net = boost::asio;

namespace {

// The demo show: page 1, tab 1 holds a 4x4 grid of synthesised clips.
Status createDemoShow(store::Store& store, const std::string& dataDir) {
    auto clips = media::generateDemoMedia(dataDir + "/media", 48000);
    if (!clips) return clips.error();
    model::Show s;
    s.name = "Demo show";
    s.pages.push_back(model::makePage("Page 1"));
    s.pages[0].tabs[0].name = "Demo";
    for (std::size_t i = 0; i < clips->size(); ++i) {
        const auto& d = (*clips)[i];
        model::Clip c;
        c.label = d.label;
        c.file = "media/" + d.file;
        c.color = d.color;
        c.group = d.group;
        c.channels = d.channels;
        c.durationS = d.durationS;
        c.loop = d.loop;
        if (d.loop) c.fadeOutMs = 1000;  // loops fade out longer; the rest use the show's default
        s.clips.push_back(c);
        s.cells.push_back(model::Cell{0, 0, static_cast<int>(i / 4), static_cast<int>(i % 4), i});
    }
    auto id = store.createShow(std::move(s), true);
    if (!id) return id.error();
    log::info("web", "created the demo show (" + std::to_string(clips->size()) + " clips)");
    return {};
}

}  // namespace

Status runWeb(const WebOptions& o) {
    store::Options so;
    so.dir = o.dataDir + "/store";
    so.backupDir = o.dataDir + "/backups";  // where a migration keeps the old store first
    auto st = store::Store::open(so);
    if (!st) return st.error();
    store::Store& store = **st;
    if (!store.readOnlyReason().empty()) log::warn("web", "store opened read-only: " + store.readOnlyReason());
    auto loaded = store.loadedShow();
    if (!loaded) return loaded.error();
    if (!loaded->has_value() && o.demo)
        if (auto s = createDemoShow(store, o.dataDir); !s) return s.error().context("web: demo show");

    ShowService show(store, o.dataDir);
    if (auto s = show.load(); !s) log::warn("web", "no show loaded: " + s.error().reason);

    net::io_context io(1);
    EngineLink link(io, o.socketPath);
    Housekeeping house(io, show);
    house.start();
    Hub hub;
    Api api(show, link, [&hub](json::object msg) { hub.broadcast(msg, false); });
    api.setClientCounter([&hub] { return hub.size(); });
    api.setPoster([&io](std::function<void()> f) { net::post(io, std::move(f)); });
    api.setResync([&hub] { hub.resyncAll(); });
    api.firmware().configure(o.firmware);
    hub.api = &api;
    // WebSockets whose session ended (logout, expiry), whose user or token
    // went or whose role changed are closed: after each such change, and
    // once a minute for expiries.
    auto revalidate = [&hub, &api] {
        hub.revalidate([&api](const Identity& who) {
            const Identity now = api.access().byKey(who.key, who.via);
            return now.authenticated() && now.role == who.role;
        });
    };
    api.setAccessChanged(revalidate);
    if (auto s = api.control().load(); !s) log::warn("web", "control settings: " + s.error().reason + " (defaults used)");
    // Without its users the box would be open to whoever sets it up first:
    // an unreadable access record stops the web process (the engine plays on).
    if (auto s = api.access().load(); !s) return s.error().context("web: users");
    if (o.demo) {
        // The demo's administrator: a one-time password, printed and left
        // in the data folder (readable by its owner only) for scripts/run.
        const std::string file = o.dataDir + "/one-time-password";
        auto password = api.oneTimeAdmin();
        if (!password) return password.error().context("web: one-time password");
        if (!password->empty()) {
            const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd < 0 || ::write(fd, password->data(), password->size()) != static_cast<ssize_t>(password->size()))
                log::warn("web", "cannot write " + file);
            if (fd >= 0) ::close(fd);
            std::printf("cuebox-web one-time password for user admin: %s\n", password->c_str());
            std::fflush(stdout);  // stdout is a pipe under systemd: not line-buffered
        } else {
            ::unlink(file.c_str());
        }
    }
    ControlExec exec(api, show);
    OscServer osc(io, show, api.control(), exec, [&house](store::LogEntry e) { house.log(std::move(e)); });
    // The MIDI allow-list lives in cuebox-web's store; the engine, which
    // owns the JACK ports, gets it on every (re)connect and change.
    auto pushMidiAllow = [&link, &api] {
        json::array patterns;
        for (const auto& p : api.control().midiAllow()) patterns.emplace_back(p);
        link.send({{"op", "midi_allow"}, {"patterns", std::move(patterns)}}, [](Result<json::object>) {});
    };
    api.setControlHooks([&osc, pushMidiAllow] {
        pushMidiAllow();
        return osc.reconfigure();
    }, [&osc] { return osc.stats(); });
    hub.tap = [&osc](const json::object& msg) { osc.publish(msg); };
    MidiControl midi(io, show, exec, link, [&house](store::LogEntry e) { house.log(std::move(e)); });
    api.setMidiLearn([&midi](std::chrono::milliseconds t, Api::Learned done) { midi.learn(t, std::move(done)); });
    api.setMappingsChanged([&midi] { midi.refreshFeedback(); });
    api.setMidiStats([&midi] { return midi.stats(); });
    hub.metrics = [&] { return metricsText(show.live(), osc.stats(), hub.counters, hub.size()); };
    api.sweepUploads();
    api.showLoaded();  // the show loaded before the API existed: its renders and media check
    hub.onJoin = [&house](const std::string& peer) {
        house.log(store::LogEntry{0, 0, "login", "web", "ws " + peer, "a client connected", ""});
    };
    hub.snapshotRest = [&show] { return show.snapshotText("\"type\":\"snapshot\",").substr(1); };
    auto lastState = std::chrono::steady_clock::now();
    ClockHistory clockHistory;
    api.setClockHistory([&clockHistory] { return clockHistory.json(); });
    auto wallMs = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
    link.onLive = [&](json::object live) {
        if (const json::value* c = live.if_contains("clock"); c && c->is_object()) clockHistory.record(c->as_object(), wallMs());
        house.engineLive(live);
        show.setEngineLive(std::move(live));
        hub.broadcast({{"type", "state"}, {"live", show.live()}}, true);
        lastState = std::chrono::steady_clock::now();
    };
    // Clients are promised a state frame at least every second (they treat
    // silence as a dead link), also while the engine is away.
    net::steady_timer heartbeat(io);
    unsigned beats = 0;
    std::function<void()> beat = [&] {
        heartbeat.expires_after(std::chrono::milliseconds(500));
        heartbeat.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            if (++beats % 120 == 0) revalidate();
            if (std::chrono::steady_clock::now() - lastState > std::chrono::milliseconds(900)) {
                hub.broadcast({{"type", "state"}, {"live", show.live()}}, true);
                lastState = std::chrono::steady_clock::now();
            }
            beat();
        });
    };
    beat();
    link.onEvent = [&](json::object ev) {
        midi.onEvent(ev);
        // Raw MIDI is the control layer's business, not the tablets' or the log's.
        if (auto* e = ev.if_contains("event"); e && e->is_string() && e->as_string() == "midi") return;
        if (auto* e = ev.if_contains("event"); e && e->is_string() && e->as_string() == "clock_switch") {
            // The emergency protocol's slower phases: every client told
            // first (3), then the event and a recovery point persisted (4);
            // their times follow as clock_switch_done.
            json::object msg{{"type", "event"}};
            for (auto& [k, v] : ev) msg[k] = v;
            hub.broadcast(msg, false);
            const std::int64_t notified = monotonicNs();
            json::object done = house.clockSwitch(ev, notified);
            done["type"] = "event";
            done["event"] = "clock_switch_done";
            done["from"] = ev.at("from");
            done["to"] = ev.at("to");
            for (const char* k : {"reason", "emergency", "at"})
                if (const json::value* v = ev.if_contains(k)) done[k] = *v;
            clockHistory.switched(done, wallMs());
            hub.broadcast(done, false);
            return;
        }
        house.engineEvent(ev);
        json::object msg{{"type", "event"}};
        for (auto& [k, v] : ev) msg[k] = v;
        hub.broadcast(msg, false);
    };
    link.onConnection = [&](bool up) {
        house.engineEvent({{"event", "engine"}, {"connected", up}});
        midi.onEvent({{"event", "engine"}, {"connected", up}});
        if (!up) {
            show.setEngineDisconnected();
            hub.broadcast({{"type", "state"}, {"live", show.live()}}, true);
        } else {
            link.reload(show.revision());  // the engine may hold an older show
            pushMidiAllow();
        }
        hub.broadcast({{"type", "event"}, {"event", "engine"}, {"connected", up}}, false);
    };

    Server server(io, ServerOptions{o.bind, o.port, o.webuiDir}, api, hub);
    if (auto s = server.start(); !s) return s.error();
    // Without OSC the box still plays and serves the tablets: a port in use
    // is a fault in the event log, not a reason to stop.
    if (auto s = osc.start(o.bind, o.oscPort); !s) {
        log::warn("web", "OSC: " + s.error().reason);
        house.log(store::LogEntry{0, 0, "fault", "osc", "", "OSC is not listening: " + s.error().reason, ""});
    } else if (osc.port()) {
        std::printf("cuebox-web OSC on udp/tcp port %u\n", osc.port());
    }
    link.start();

    net::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) { io.stop(); });
    std::printf("cuebox-web listening on http://%s:%u/\n", o.bind == "0.0.0.0" ? "localhost" : o.bind.c_str(), server.port());
    std::fflush(stdout);
    io.run();
    api.stopMedia();  // an import in progress is cancelled (its files removed)
    api.firmware().stop();
    link.stop();
    return {};
}

}  // namespace cuebox::web
