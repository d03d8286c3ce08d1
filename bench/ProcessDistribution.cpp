// Per-call cost distribution of Engine::process() (worst and p99, not the
// mean): 48 mono voices with fades over the four groups, the audition voice,
// the full 10 x 8 routing matrix, 64-frame blocks at 48 kHz, 200,000 calls.
// Prints figures for docs/PERFORMANCE.md. Offline: no JACK, so this is DSP
// cost plus whatever the machine does to this thread.
//
//   process_distribution [--paced SECONDS]
// --paced calls process() once per period on an absolute clock, as an audio
// thread does (run it SCHED_FIFO: `chrt -f 10`); a FIFO thread that never
// sleeps is throttled by the kernel (sched_rt_runtime_us) for 50 ms a second.
#include "engine/Engine.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <memory>
#include <vector>

using namespace cuebox::engine;

namespace {
void sleepUntilNextPeriod(timespec& next) {
    next.tv_nsec += 1333333;  // 64 frames at 48 kHz
    if (next.tv_nsec >= 1000000000) {
        next.tv_nsec -= 1000000000;
        ++next.tv_sec;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
}
}  // namespace

int main(int argc, char** argv) {
    double pacedSeconds = 0;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--paced") pacedSeconds = std::stod(argv[i + 1]);
    Engine e(Config{48000, 5, 1000, 8});
    auto* t = new ClipTable;
    for (std::uint64_t g = 0; g < 4; ++g) {
        auto m = std::make_shared<MediaBuffer>();
        m->channels = 1;
        m->frames = m->headFrames = 48000 * 10;
        m->samples.resize(static_cast<std::size_t>(m->frames));
        for (std::size_t i = 0; i < m->samples.size(); ++i) m->samples[i] = static_cast<float>((i % 200) / 200.0 - 0.5);
        ClipEntry c;
        c.id = g + 1;
        c.gain = 0.5f;
        c.group = static_cast<std::uint8_t>(g);
        c.fadeIn = {480, Curve::equalPower};
        c.fadeOut = {4800, Curve::sCurve};
        c.loops = 0;
        t->add(c, m);
    }
    t->finish();
    e.publishTable(t);
    auto* mix = new MixConfig(MixConfig::defaults(8));
    for (auto& row : mix->matrix) row.fill(0.25f);
    e.publishMix(mix);
    std::vector<std::vector<float>> bufs(10, std::vector<float>(64));
    std::vector<float*> outs;
    for (auto& b : bufs) outs.push_back(b.data());

    const int calls = pacedSeconds > 0 ? static_cast<int>(pacedSeconds * 48000 / 64) : 200000;
    timespec next{};
    clock_gettime(CLOCK_MONOTONIC, &next);
    std::vector<std::int64_t> ns;
    ns.reserve(calls);
    std::uint64_t frame = 0;
    for (int i = 0; i < calls + 1000; ++i) {
        // Keep 48 voices busy with fades: every 50 blocks restart some (the
        // steal and fade paths run too).
        if (i % 50 == 0)
            for (int k = 0; k < 8; ++k) {
                Command c;
                c.type = Command::Type::start;
                c.clip = static_cast<std::uint64_t>((i / 50 + k) % 4) + 1;
                e.post(c);
            }
        if (i == 0) {
            Command a;
            a.type = Command::Type::audition;
            a.clip = 1;
            e.post(a);
        }
        if (pacedSeconds > 0) sleepUntilNextPeriod(next);
        const std::int64_t t0 = LoadMeter::nowNs();
        e.process(64, outs.data(), frame);
        const std::int64_t dt = LoadMeter::nowNs() - t0;
        if (i >= 1000) ns.push_back(dt);  // after warm-up
        frame += 64;
        Event ev;
        while (e.popEvent(ev)) {
        }
    }
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) { return ns[static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1))] / 1000.0; };
    // Control experiment: the same loop timing a fixed computation that
    // allocates nothing and has no branches worth the name. Its tail is what
    // the machine itself adds (on a VM, a vCPU the host took away looks
    // exactly like a slow call).
    std::vector<std::int64_t> ctl;
    ctl.reserve(static_cast<std::size_t>(calls));
    std::vector<float> work(4096, 1.0f);
    volatile float sink = 0;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (int i = 0; i < calls; ++i) {
        if (pacedSeconds > 0) sleepUntilNextPeriod(next);
        const std::int64_t t0 = LoadMeter::nowNs();
        float acc = 0;
        for (int r = 0; r < 4; ++r)
            for (float x : work) acc += x * 0.999f;
        sink = acc;
        ctl.push_back(LoadMeter::nowNs() - t0);
    }
    (void)sink;
    std::sort(ctl.begin(), ctl.end());
    auto ctlAt = [&](double q) { return ctl[static_cast<std::size_t>(q * static_cast<double>(ctl.size() - 1))] / 1000.0; };
    const double period = 64.0 / 48000.0 * 1e6;
    std::printf("process() with %d mono slots in use, 4 groups, audition, 10x8 matrix, 64 frames at 48 kHz, %d calls%s:\n",
                e.activeSlots(), calls, pacedSeconds > 0 ? ", paced one per period" : " back to back");
    std::printf("  p50 %.2f us, p99 %.2f us (%.2f%% of the %.0f us period), worst %.2f us (%.2f%%; budget: worst < 10%%)\n",
                at(0.5), at(0.99), at(0.99) / period * 100, period, at(1.0), at(1.0) / period * 100);
    std::printf("  control (fixed work, same loop): p50 %.2f us, p99 %.2f us, worst %.2f us -- a worst far above its p50 is the "
                "machine, not the engine\n",
                ctlAt(0.5), ctlAt(0.99), ctlAt(1.0));
    return 0;
}
