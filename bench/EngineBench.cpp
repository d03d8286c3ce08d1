// process() cost, offline: N voices with fades over 4 groups, the audition
// voice, and the full 10 x 8 routing matrix, 64-frame blocks at 48 kHz.
#include "engine/Engine.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <vector>

using namespace cuebox::engine;

namespace {
std::shared_ptr<MediaBuffer> media(int channels) {
    auto m = std::make_shared<MediaBuffer>();
    m->channels = channels;
    m->frames = m->headFrames = 48000 * 10;
    m->samples.resize(static_cast<std::size_t>(m->frames * channels));
    for (std::size_t i = 0; i < m->samples.size(); ++i) m->samples[i] = static_cast<float>((i % 200) / 200.0 - 0.5);
    return m;
}

void BM_process(benchmark::State& state) {
    const int voices = static_cast<int>(state.range(0));
    const int channels = static_cast<int>(state.range(1));
    Engine e(Config{48000, 5, 1000});
    auto* t = new ClipTable;
    // Voices spread over the four groups, each fading in over 1 s on an
    // equal-power curve, so the fade path is in the measurement.
    for (std::uint64_t g = 0; g < 4; ++g) {
        ClipEntry c;
        c.id = g + 1;
        c.gain = 0.5f;
        c.group = static_cast<std::uint8_t>(g);
        c.fadeIn = {48000, Curve::equalPower};
        c.loops = 0;
        t->add(c, media(channels));
    }
    t->finish();
    e.publishTable(t);
    // Every bus channel routed to every output: the full 10 x 8 matrix works.
    auto* m = new MixConfig(MixConfig::defaults(8));
    for (auto& row : m->matrix) row.fill(0.25f);
    e.publishMix(m);
    std::vector<std::vector<float>> bufs(8 + 2, std::vector<float>(64));
    std::vector<float*> outs;
    for (auto& b : bufs) outs.push_back(b.data());
    std::uint64_t frame = 0;
    for (int i = 0; i < voices; ++i) {
        Command c;
        c.type = Command::Type::start;
        c.clip = static_cast<std::uint64_t>(i % 4) + 1;
        e.post(c);
    }
    Command a;
    a.type = Command::Type::audition;
    a.clip = 1;
    if (voices > 0) e.post(a);
    e.process(64, outs.data(), frame);
    frame += 64;
    for (auto _ : state) {
        e.process(64, outs.data(), frame);
        frame += 64;
        benchmark::DoNotOptimize(outs[0][0]);
    }
    state.counters["voices"] = e.activeSlots() / (channels >= 2 ? 2 : 1);
}
}  // namespace

BENCHMARK(BM_process)->Args({0, 1})->Args({48, 1})->Args({24, 2})->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
