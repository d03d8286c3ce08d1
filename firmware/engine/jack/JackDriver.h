// JACK adapter: registers the fixed ports (cuebox:out_1..out_N,
// monitor_1/2, rec_a_1/2, rec_b_1/2, ltc_in, and the JACK MIDI ports
// midi_in and midi_out), runs the engine's process() in
// JACK's SCHED_FIFO thread and reports what it got.
// [control] unless stated otherwise.
#pragma once

#include "base/Error.h"
#include "engine/Engine.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace cuebox::engine {

struct JackOptions {
    std::string clientName = "cuebox";
    std::string serverName;     // "" = $JACK_DEFAULT_SERVER or default
    bool connectOutputs = true; // out_1/out_2 to the first two system playback ports
    int outputs = 8;            // physical outputs out_1..out_N
};

struct SchedInfo {
    std::string policy;  // "SCHED_FIFO", "SCHED_RR", "SCHED_OTHER", or "" before the thread ran
    int priority = 0;
    std::vector<int> cpus;  // the CPUs the process thread may run on
};

class JackDriver {
public:
    static Result<std::unique_ptr<JackDriver>> open(const JackOptions& o);
    ~JackDriver();

    int sampleRate() const;
    int bufferSize() const;
    // Starts calling engine.process() from the JACK thread. The engine must
    // outlive the driver (or stop() first).
    Status start(Engine& engine);
    void stop();

    // [any] the estimated current frame time (jack_frame_time)
    std::uint64_t frameTime() const;
    // [any]
    SchedInfo sched() const;
    std::uint64_t xruns() const { return xruns_.load(std::memory_order_relaxed); }
    bool shutDown() const { return shutdown_.load(std::memory_order_relaxed); }
    std::string clientName() const;
    // [control] whether anything is connected to cuebox:midi_in
    bool midiConnected() const;
    // [control] the ports connected to cuebox:midi_in; cuts one of them off.
    std::vector<std::string> midiSources() const;
    bool disconnectMidiSource(const std::string& port);
    // [control] pins the JACK process thread to `cpu` (-1: any CPU); returns
    // what went wrong, "" when done.
    std::string setProcessCpu(int cpu);
    // [control] whether anything is connected to cuebox:sync_in_1..4
    bool syncConnected() const;
    // [control] patches `source` to our input `ownPort` (and nothing else
    // to it); "" = as it is. Returns what went wrong, "" when done.
    std::string patchInput(const std::string& ownPort, const std::string& source);

    struct Impl;

private:
    explicit JackDriver(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    std::atomic<std::uint64_t> xruns_{0};
    std::atomic<bool> shutdown_{false};
    friend struct Impl;
};

}  // namespace cuebox::engine
