// cuebox-ltc-gen: plays linear timecode (libltc's encoder) into
// cuebox:ltc_in, for tests.
//
//   cuebox-ltc-gen --server NAME --fps 24|25|29.97|30 --start HH:MM:SS:FF --seconds S
// Prints "start <frame_time>": the JACK frame time of the first LTC frame's
// first sample (the frame --start names), then plays S seconds of LTC and
// exits. The sample played at each JACK frame time is the one that many
// frames after the start, so cycles the server skips skip signal too.
// Samples are made before the client starts: the process callback only
// copies.
#include <jack/jack.h>
#include <ltc.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {
struct Gen {
    jack_client_t* client = nullptr;
    jack_port_t* port = nullptr;
    std::vector<float> samples;
    std::atomic<std::size_t> at{0};
    std::atomic<std::uint64_t> first{0};
    std::atomic<bool> armed{false}, started{false};
};

int process(jack_nframes_t n, void* arg) {
    auto* g = static_cast<Gen*>(arg);
    auto* out = static_cast<float*>(jack_port_get_buffer(g->port, n));
    const std::uint64_t now = jack_last_frame_time(g->client);
    if (!g->started.load(std::memory_order_relaxed)) {
        if (!g->armed.load(std::memory_order_acquire)) {
            std::memset(out, 0, n * sizeof(float));
            return 0;
        }
        g->first.store(now);
        g->started.store(true);
    }
    // The sample at a frame time is the one that many frames after the
    // first: when the server skips cycles, those samples are skipped too,
    // so the signal stays where frame time says it is (as a real timecode
    // source against a real clock would).
    const std::size_t at = static_cast<std::size_t>(now - g->first.load(std::memory_order_relaxed));
    const std::size_t k = at < g->samples.size() ? std::min<std::size_t>(n, g->samples.size() - at) : 0;
    if (k) std::memcpy(out, g->samples.data() + at, k * sizeof(float));
    std::memset(out + k, 0, (n - k) * sizeof(float));
    g->at.store(std::min(at + n, g->samples.size()), std::memory_order_relaxed);
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    std::string server, start = "10:00:00:00";
    double fps = 25, seconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--server") server = v;
        else if (a == "--fps") fps = std::stod(v);
        else if (a == "--start") start = v;
        else if (a == "--seconds") seconds = std::stod(v);
    }
    int h = 0, m = 0, s = 0, f = 0;
    if (std::sscanf(start.c_str(), "%d:%d:%d%*c%d", &h, &m, &s, &f) != 4) {
        std::fprintf(stderr, "cuebox-ltc-gen: --start HH:MM:SS:FF\n");
        return 2;
    }
    jack_status_t st;
    Gen g;
    g.client = jack_client_open("ltc-gen", server.empty() ? JackNoStartServer : JackOptions(JackNoStartServer | JackServerName), &st,
                                server.c_str());
    if (!g.client) {
        std::fprintf(stderr, "cuebox-ltc-gen: no JACK server\n");
        return 1;
    }
    const double rate = jack_get_sample_rate(g.client);
    const long round = std::lround(fps);
    LTCEncoder* e = ltc_encoder_create(rate, fps, round == 25 ? LTC_TV_625_50 : round == 24 ? LTC_TV_FILM_24 : LTC_TV_525_60, 0);
    SMPTETimecode tc{};
    tc.hours = static_cast<unsigned char>(h);
    tc.mins = static_cast<unsigned char>(m);
    tc.secs = static_cast<unsigned char>(s);
    tc.frame = static_cast<unsigned char>(f);
    ltc_encoder_set_timecode(e, &tc);
    while (g.samples.size() < seconds * rate) {
        ltc_encoder_encode_frame(e);
        ltcsnd_sample_t* buf = nullptr;
        const int n = ltc_encoder_get_bufferptr(e, &buf, 1);
        for (int k = 0; k < n; ++k) g.samples.push_back((static_cast<float>(buf[k]) - 128.f) / 255.f);
        ltc_encoder_inc_timecode(e);
    }
    ltc_encoder_free(e);
    g.port = jack_port_register(g.client, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    jack_set_process_callback(g.client, process, &g);
    // Silence until connected; then the first cycle after arming plays
    // the first sample.
    const std::size_t all = g.samples.size();
    if (jack_activate(g.client) != 0 || jack_connect(g.client, jack_port_name(g.port), "cuebox:ltc_in") != 0) {
        std::fprintf(stderr, "cuebox-ltc-gen: cannot connect to cuebox:ltc_in\n");
        return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    g.armed.store(true, std::memory_order_release);
    while (!g.started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::printf("start %llu\n", static_cast<unsigned long long>(g.first.load()));
    std::fflush(stdout);
    while (g.at.load() < all) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    jack_client_close(g.client);
    return 0;
}
