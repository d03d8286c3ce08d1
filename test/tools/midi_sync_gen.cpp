// cuebox-midi-sync-gen: sends MIDI time code and/or MIDI beat clock into a
// JACK MIDI port (cuebox:midi_in), for tests.
//
//   cuebox-midi-sync-gen --server NAME --connect PORT
//       [--mtc 24|25|29.97|30 [--start HH:MM:SS:FF] [--full-frame]]
//       [--clock BPM [--preroll BEATS]] [--seconds S] [--client-name NAME]
// Prints "start <frame_time>": the JACK frame time at which the first
// timecode frame (--start) begins, which is where its quarter-frame piece 0
// (and with --full-frame a full-frame message before it) is placed, and
// where the first clock tick after start (FA) is; then sends S seconds of
// it and exits.
//   MTC: 4 quarter frames per timecode frame, piece 0 at the start of each
//     even frame from --start (MIDI 1.0: the 8 pieces of time T over frames
//     T and T+1).
//   Clock: --preroll BEATS of ticks (transport stopped) before the start,
//     so a receiver knows the tempo when it starts; then start (FA) and a
//     tick (F8) at the same frame, a tick every 60 / (BPM * 24) s after.
// Each event is written at the JACK frame time it belongs at: in the cycle
// containing that frame time, at offset (frame time - cycle start). When
// the server skips cycles, their events are skipped too, so the stream
// stays where frame time says it is (as a real source against a real clock
// would). Events are made before the client starts: the process callback
// only copies.
#include <jack/jack.h>
#include <jack/midiport.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {
struct Event {
    std::uint64_t at = 0;  // frames after the first armed cycle's start
    std::uint8_t size = 0;
    std::array<std::uint8_t, 10> bytes{};
};

struct Gen {
    jack_client_t* client = nullptr;
    jack_port_t* port = nullptr;
    std::vector<Event> events;  // sorted by `at`
    std::uint64_t end = 0;      // frames after the first cycle's start
    std::size_t next = 0;       // RT thread only
    std::atomic<std::uint64_t> first{0}, lost{0};
    std::atomic<bool> armed{false}, started{false}, done{false}, shutdown{false};
};

int process(jack_nframes_t n, void* arg) {
    auto* g = static_cast<Gen*>(arg);
    void* buf = jack_port_get_buffer(g->port, n);
    jack_midi_clear_buffer(buf);
    const std::uint64_t now = jack_last_frame_time(g->client);
    if (!g->started.load(std::memory_order_relaxed)) {
        if (!g->armed.load(std::memory_order_acquire)) return 0;
        g->first.store(now, std::memory_order_relaxed);
        g->started.store(true, std::memory_order_release);
    }
    // (frame times are 32-bit and wrap)
    const std::uint64_t rel = static_cast<jack_nframes_t>(now - g->first.load(std::memory_order_relaxed));
    // Events of cycles the server skipped are not sent late.
    while (g->next < g->events.size() && g->events[g->next].at < rel) ++g->next;
    while (g->next < g->events.size() && g->events[g->next].at < rel + n) {
        const Event& e = g->events[g->next++];
        if (jack_midi_event_write(buf, static_cast<jack_nframes_t>(e.at - rel), e.bytes.data(), e.size) != 0)
            g->lost.fetch_add(1, std::memory_order_relaxed);
    }
    if (rel + n >= g->end) g->done.store(true, std::memory_order_release);
    return 0;
}

void onShutdown(void* arg) { static_cast<Gen*>(arg)->shutdown.store(true); }

// Frames since 00:00:00:00 <-> HH:MM:SS:FF (drop-frame: numbers 00 and 01
// skipped at each minute but every tenth).
std::int64_t toFrames(int h, int m, int s, int f, int fps, bool df) {
    const std::int64_t minutes = std::int64_t{h} * 60 + m;
    return (minutes * 60 + s) * fps + f - (df ? 2 * (minutes - minutes / 10) : 0);
}
void fromFrames(std::int64_t n, int fps, bool df, int& h, int& m, int& s, int& f) {
    const std::int64_t day = df ? 24 * 6 * 17982 : std::int64_t{24} * 3600 * fps;
    n = ((n % day) + day) % day;
    if (df) {
        const std::int64_t tens = n / 17982, rem = n % 17982;
        n += 18 * tens + (rem >= 2 ? 2 * ((rem - 2) / 1798) : 0);
    }
    f = static_cast<int>(n % fps);
    n /= fps;
    s = static_cast<int>(n % 60);
    n /= 60;
    m = static_cast<int>(n % 60);
    h = static_cast<int>(n / 60);
}

Event event(std::uint64_t at, std::initializer_list<std::uint8_t> bytes) {
    Event e;
    e.at = at;
    e.size = static_cast<std::uint8_t>(bytes.size());
    std::copy(bytes.begin(), bytes.end(), e.bytes.begin());
    return e;
}

void usage() {
    std::fprintf(stderr,
                 "usage: cuebox-midi-sync-gen --server NAME --connect PORT [--mtc 24|25|29.97|30 [--start HH:MM:SS:FF] "
                 "[--full-frame]] [--clock BPM [--preroll BEATS]] [--seconds S] [--client-name NAME]\n");
}
}  // namespace

int main(int argc, char** argv) {
    std::string server, connect, start = "10:00:00:00", clientName = "midi-sync-gen";
    double mtcFps = 0, bpm = 0, seconds = 5, prerollBeats = 0;
    bool fullFrame = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--full-frame") {
            fullFrame = true;
            continue;
        }
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        const std::string v = argv[++i];
        if (a == "--server") server = v;
        else if (a == "--connect") connect = v;
        else if (a == "--mtc") mtcFps = std::stod(v);
        else if (a == "--start") start = v;
        else if (a == "--clock") bpm = std::stod(v);
        else if (a == "--preroll") prerollBeats = std::stod(v);
        else if (a == "--seconds") seconds = std::stod(v);
        else if (a == "--client-name") clientName = v;
        else {
            usage();
            return 2;
        }
    }
    int rateBits = -1;
    if (mtcFps != 0) {
        for (int r = 0; r < 4; ++r)
            if (std::fabs(mtcFps - std::array<double, 4>{24, 25, 29.97, 30}[static_cast<std::size_t>(r)]) < 0.005) rateBits = r;
        if (rateBits < 0) {
            std::fprintf(stderr, "cuebox-midi-sync-gen: --mtc 24, 25, 29.97 or 30\n");
            return 2;
        }
    }
    if (connect.empty() || (rateBits < 0 && bpm <= 0) || seconds <= 0 || prerollBeats < 0) {
        usage();
        return 2;
    }
    int h = 0, m = 0, s = 0, f = 0;
    if (std::sscanf(start.c_str(), "%d:%d:%d%*c%d", &h, &m, &s, &f) != 4) {
        std::fprintf(stderr, "cuebox-midi-sync-gen: --start HH:MM:SS:FF\n");
        return 2;
    }

    jack_status_t st;
    Gen g;
    g.client = jack_client_open(clientName.c_str(), server.empty() ? JackNoStartServer : JackOptions(JackNoStartServer | JackServerName),
                                &st, server.c_str());
    if (!g.client) {
        std::fprintf(stderr, "cuebox-midi-sync-gen: no JACK server\n");
        return 1;
    }
    const double rate = jack_get_sample_rate(g.client);

    // Everything is placed relative to the first armed cycle's start; the
    // start (first timecode frame, first tick after FA) comes after the
    // clock's preroll.
    const double tick = bpm > 0 ? 60.0 * rate / (bpm * 24) : 0;
    const double t0 = bpm > 0 ? std::round(prerollBeats * 24) * tick : 0;
    const auto at0 = static_cast<std::uint64_t>(std::llround(t0));
    g.end = static_cast<std::uint64_t>(std::llround(t0 + seconds * rate));
    if (bpm > 0) {
        for (double t = t0 - tick; t > -0.5; t -= tick) g.events.push_back(event(static_cast<std::uint64_t>(std::llround(t)), {0xF8}));
        g.events.push_back(event(at0, {0xFA}));
        for (std::int64_t k = 0;; ++k) {
            const auto at = static_cast<std::uint64_t>(std::llround(t0 + k * tick));
            if (at >= g.end) break;
            g.events.push_back(event(at, {0xF8}));
        }
    }
    if (rateBits >= 0) {
        const int fps = rateBits == 0 ? 24 : rateBits == 1 ? 25 : 30;
        const bool df = rateBits == 2;
        const double spf = rate / (rateBits == 2 ? 30000.0 / 1001 : std::array<double, 4>{24, 25, 0, 30}[static_cast<std::size_t>(rateBits)]);
        const std::int64_t n0 = toFrames(h, m, s, f, fps, df);
        {
            int hh = 0, mm = 0, ss = 0, ff = 0;
            fromFrames(n0, fps, df, hh, mm, ss, ff);
            if (hh != h || mm != m || ss != s || ff != f) {
                std::fprintf(stderr, "cuebox-midi-sync-gen: --start %s is not a time at %g fps\n", start.c_str(), mtcFps);
                return 2;
            }
        }
        if (fullFrame)
            g.events.push_back(event(at0, {0xF0, 0x7F, 0x7F, 0x01, 0x01, static_cast<std::uint8_t>(rateBits << 5 | h),
                                           static_cast<std::uint8_t>(m), static_cast<std::uint8_t>(s), static_cast<std::uint8_t>(f), 0xF7}));
        for (std::int64_t q = 0;; ++q) {
            const auto at = static_cast<std::uint64_t>(std::llround(t0 + static_cast<double>(q) * spf / 4));
            if (at >= g.end) break;
            const int piece = static_cast<int>(q % 8);
            int th = 0, tm = 0, ts = 0, tf = 0;
            fromFrames(n0 + 2 * (q / 8), fps, df, th, tm, ts, tf);
            const int nibble = piece == 0 ? tf & 15
                             : piece == 1 ? tf >> 4
                             : piece == 2 ? ts & 15
                             : piece == 3 ? ts >> 4
                             : piece == 4 ? tm & 15
                             : piece == 5 ? tm >> 4
                             : piece == 6 ? th & 15
                                          : (rateBits << 1 | th >> 4);
            g.events.push_back(event(at, {0xF1, static_cast<std::uint8_t>(piece << 4 | nibble)}));
        }
    }
    // Same frame: in the order made (preroll ticks, FA, F8; full frame, piece 0).
    std::stable_sort(g.events.begin(), g.events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });

    g.port = jack_port_register(g.client, "out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
    if (!g.port) {
        std::fprintf(stderr, "cuebox-midi-sync-gen: cannot register a MIDI port\n");
        return 1;
    }
    jack_set_process_callback(g.client, process, &g);
    jack_on_shutdown(g.client, onShutdown, &g);
    if (jack_activate(g.client) != 0 || jack_connect(g.client, jack_port_name(g.port), connect.c_str()) != 0) {
        std::fprintf(stderr, "cuebox-midi-sync-gen: cannot connect to %s\n", connect.c_str());
        jack_client_close(g.client);
        return 1;
    }
    // Nothing until connected; then the first cycle after arming is frame 0.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    g.armed.store(true, std::memory_order_release);
    while (!g.started.load(std::memory_order_acquire) && !g.shutdown) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (g.shutdown) {
        std::fprintf(stderr, "cuebox-midi-sync-gen: JACK server went away\n");
        return 1;
    }
    std::printf("start %llu\n", static_cast<unsigned long long>(g.first.load() + at0));
    std::fflush(stdout);
    // Done when the last cycle has passed (or, should the server stall, a
    // while after it should have).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(g.end / rate + 10);
    while (!g.done.load(std::memory_order_acquire) && !g.shutdown && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const bool ok = g.done.load();
    jack_client_close(g.client);
    if (g.lost.load() != 0) std::fprintf(stderr, "cuebox-midi-sync-gen: %llu events did not fit a cycle\n",
                                         static_cast<unsigned long long>(g.lost.load()));
    if (!ok) {
        std::fprintf(stderr, "cuebox-midi-sync-gen: the server stopped running cycles\n");
        return 1;
    }
    return 0;
}
