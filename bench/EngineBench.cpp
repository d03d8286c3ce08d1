// process() cost, offline: N voices with fades running, 64-frame blocks at
// 48 kHz. Reported per call and as a fraction of the 1333 us period.
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
    m->frames = 48000 * 10;
    m->samples.resize(static_cast<std::size_t>(m->frames * channels));
    for (std::size_t i = 0; i < m->samples.size(); ++i) m->samples[i] = static_cast<float>((i % 200) / 200.0 - 0.5);
    return m;
}

void BM_process(benchmark::State& state) {
    const int voices = static_cast<int>(state.range(0));
    const int channels = static_cast<int>(state.range(1));
    Engine e(Config{48000, 5, 1000});
    auto* t = new ClipTable;
    // Every voice fades in over 1 s, so the fade path is in the measurement.
    t->add(ClipEntry{1, nullptr, 0.5f, 48000, 4800, true}, media(channels));
    t->finish();
    e.publishTable(t);
    std::vector<std::vector<float>> bufs(kOutputs, std::vector<float>(64));
    std::vector<float*> outs;
    for (auto& b : bufs) outs.push_back(b.data());
    std::uint64_t frame = 0;
    for (int i = 0; i < voices; ++i) {
        Command c;
        c.type = Command::Type::start;
        c.clip = 1;
        e.post(c);
    }
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
