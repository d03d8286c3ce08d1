// cuebox-jack-capture: records JACK ports to a raw float32 file so tests can
// check what really left the engine. Records, per cycle, whether the frame
// time followed on from the previous cycle (a gap would show there) and the
// server's xruns while recording.
//
//   cuebox-jack-capture --port cuebox:out_1 [--port ...] --seconds S --out FILE
//       [--server NAME]
// Writes FILE (interleaved float32, one channel per --port), FILE.cycles (per
// recorded cycle: its frame time and CLOCK_MONOTONIC ns when this client ran
// it, two little-endian int64, so a frame time or a wall-clock instant maps
// to a sample even across cycles the server skipped) and FILE.json
// ({"rate","ports","frames","first_frame","discontinuities","xruns"}).
// Prints "ready <frame_time>" once connected and recording.
#include <jack/jack.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace {
std::atomic<bool> g_stop{false};
void onSignal(int) { g_stop = true; }

struct Capture {
    jack_client_t* client = nullptr;
    std::vector<jack_port_t*> ports;
    std::vector<float> data;  // preallocated, interleaved
    std::vector<std::uint64_t> cycleFrames;  // preallocated
    std::vector<std::uint64_t> cycleNs;      // preallocated
    std::atomic<std::size_t> cycles{0};
    std::size_t capacityFrames = 0;
    std::atomic<std::size_t> frames{0};
    std::atomic<std::uint64_t> firstFrame{0};
    std::atomic<bool> started{false};
    std::uint64_t nextFrame = 0;
    std::atomic<int> discontinuities{0};
    std::atomic<int> xruns{0};
};

int process(jack_nframes_t n, void* arg) {
    auto* c = static_cast<Capture*>(arg);
    const std::uint64_t now = jack_last_frame_time(c->client);
    if (!c->started.load(std::memory_order_relaxed)) {
        c->firstFrame.store(now);
        c->nextFrame = now;
        c->started.store(true);
    }
    if (now != c->nextFrame) c->discontinuities.fetch_add(1);
    c->nextFrame = now + n;
    std::size_t at = c->frames.load(std::memory_order_relaxed);
    if (at < c->capacityFrames) {
        const std::size_t k = c->cycles.load(std::memory_order_relaxed);
        if (k < c->cycleFrames.size()) {
            timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            c->cycleFrames[k] = now;
            c->cycleNs[k] = static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
            c->cycles.store(k + 1, std::memory_order_relaxed);
        }
    }
    const std::size_t np = c->ports.size();
    for (std::size_t p = 0; p < np; ++p) {
        auto* buf = static_cast<const float*>(jack_port_get_buffer(c->ports[p], n));
        for (jack_nframes_t i = 0; i < n && at + i < c->capacityFrames; ++i) c->data[(at + i) * np + p] = buf[i];
    }
    at = std::min(at + n, c->capacityFrames);
    c->frames.store(at, std::memory_order_release);
    return 0;
}

int onXrun(void* arg) {
    static_cast<Capture*>(arg)->xruns.fetch_add(1);
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> sources;
    double seconds = 5;
    std::string out, server;
    if (const char* s = std::getenv("JACK_DEFAULT_SERVER")) server = s;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i], v = argv[i + 1];
        if (a == "--port") sources.push_back(v);
        else if (a == "--seconds") seconds = std::stod(v);
        else if (a == "--out") out = v;
        else if (a == "--server") server = v;
    }
    if (sources.empty() || out.empty()) {
        std::fprintf(stderr, "usage: cuebox-jack-capture --port P [--port P2] --seconds S --out FILE [--server NAME]\n");
        return 2;
    }
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    Capture c;
    jack_status_t st{};
    const std::string name = "capture_" + std::to_string(getpid());
    c.client = server.empty() ? jack_client_open(name.c_str(), JackNoStartServer, &st)
                              : jack_client_open(name.c_str(), static_cast<jack_options_t>(JackNoStartServer | JackServerName), &st, server.c_str());
    if (!c.client) {
        std::fprintf(stderr, "cuebox-jack-capture: no JACK server\n");
        return 1;
    }
    const int rate = static_cast<int>(jack_get_sample_rate(c.client));
    c.capacityFrames = static_cast<std::size_t>(seconds * rate);
    c.data.assign(c.capacityFrames * sources.size(), 0.0f);
    c.cycleFrames.assign(c.capacityFrames / jack_get_buffer_size(c.client) + 2, 0);
    c.cycleNs.assign(c.cycleFrames.size(), 0);
    for (std::size_t i = 0; i < sources.size(); ++i)
        c.ports.push_back(jack_port_register(c.client, ("in_" + std::to_string(i + 1)).c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0));
    jack_set_process_callback(c.client, process, &c);
    jack_set_xrun_callback(c.client, onXrun, &c);
    if (jack_activate(c.client)) return 1;
    for (std::size_t i = 0; i < sources.size(); ++i)
        if (jack_connect(c.client, sources[i].c_str(), jack_port_name(c.ports[i])) != 0) {
            std::fprintf(stderr, "cuebox-jack-capture: cannot connect %s\n", sources[i].c_str());
            return 1;
        }
    // Recording starts with the first cycle after the connections are made.
    c.frames.store(0);
    c.cycles.store(0);
    c.xruns.store(0);
    c.discontinuities.store(0);
    c.started.store(false);
    while (!c.started.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::printf("ready %llu\n", static_cast<unsigned long long>(c.firstFrame.load()));
    std::fflush(stdout);
    while (!g_stop && c.frames.load(std::memory_order_acquire) < c.capacityFrames)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    jack_deactivate(c.client);
    const std::size_t frames = c.frames.load();
    FILE* f = std::fopen(out.c_str(), "wb");
    if (!f) return 1;
    std::fwrite(c.data.data(), sizeof(float), frames * sources.size(), f);
    std::fclose(f);
    FILE* cy = std::fopen((out + ".cycles").c_str(), "wb");
    for (std::size_t k = 0; k < c.cycles.load(); ++k) {
        std::fwrite(&c.cycleFrames[k], sizeof(std::uint64_t), 1, cy);
        std::fwrite(&c.cycleNs[k], sizeof(std::uint64_t), 1, cy);
    }
    std::fclose(cy);
    FILE* m = std::fopen((out + ".json").c_str(), "w");
    std::fprintf(m, "{\"period\":%u,\"rate\":%d,\"ports\":%zu,\"frames\":%zu,\"first_frame\":%llu,\"discontinuities\":%d,\"xruns\":%d}\n", jack_get_buffer_size(c.client), rate,
                 sources.size(), frames, static_cast<unsigned long long>(c.firstFrame.load()), c.discontinuities.load(), c.xruns.load());
    std::fclose(m);
    jack_client_close(c.client);
    return 0;
}
