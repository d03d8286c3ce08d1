// Busses, routing matrix, levels and meters.
//
// Five stereo output busses: clip groups A-D (0-3) and the audition bus (4).
// The routing matrix has a gain per bus channel (10) x physical output (N);
// each output has a level, all outputs share the master level. The monitor
// pair hears the audition bus and every bus on pre-fade listen (PFL), at the
// monitor level. Every gain is smoothed (~10 ms) so a change never zippers.
// Meters: peak and RMS per bus channel (post-fader), per output and monitor.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace cuebox::engine {

inline constexpr int kGroups = 4;
inline constexpr int kAuditionBus = 4;
inline constexpr int kBusses = 5;
inline constexpr int kBusChannels = kBusses * 2;
inline constexpr int kMaxOutputs = 32;
inline constexpr int kMaxBlock = 8192;

// Immutable once published (like the clip table).
struct MixConfig {
    int outputs = 8;
    std::array<float, kBusses> busLevel{1, 1, 1, 1, 1};  // linear
    std::array<bool, kBusses> pfl{};
    float masterLevel = 1.0f;
    float monitorLevel = 1.0f;
    std::array<std::array<float, kMaxOutputs>, kBusChannels> matrix{};  // [bus channel][output]
    std::array<float, kMaxOutputs> outputLevel{};
    std::array<bool, kGroups> choke{};

    // Groups A-D to outputs 1/2, audition to the monitor only.
    static MixConfig defaults(int outputs);
};

struct Meter {
    std::atomic<float> peak{0.0f};
    std::atomic<double> sumsq{0.0};
    std::atomic<std::uint32_t> frames{0};

    // [RT]
    void add(const float* x, std::uint32_t n);
    // [control] peak and RMS since the last read (then starts again).
    void read(float& peakOut, float& rmsOut);
};

class Mixer {
public:
    Mixer(int outputs, int sampleRate);

    int outputs() const { return outputs_; }
    // [RT] bus buffers to render voices into (cleared by beginBlock).
    float* bus(int b, int ch) { return busBuf_[static_cast<std::size_t>(b * 2 + ch)].data(); }
    void beginBlock(std::uint32_t nframes);
    // [control] Sets the current gains to the config's, without smoothing
    // (before the first block).
    void snap(const MixConfig& cfg);
    // [RT] mixes the busses into outs[0..outputs-1] and the monitor pair
    // outs[outputs], outs[outputs+1]; `cfg` gives the targets.
    void mix(const MixConfig& cfg, std::uint32_t nframes, float* const* outs);

    Meter& busMeter(int busChannel) { return busMeters_[static_cast<std::size_t>(busChannel)]; }
    Meter& outputMeter(int o) { return outMeters_[static_cast<std::size_t>(o)]; }
    Meter& monitorMeter(int ch) { return monMeters_[static_cast<std::size_t>(ch)]; }

private:
    float smooth(float cur, float target) const;

    int outputs_;
    float coeff_ = 0.0f;  // per-block smoothing coefficient (set per block size)
    std::uint32_t coeffFrames_ = 0;
    int rate_;
    std::array<std::vector<float>, kBusChannels> busBuf_;
    std::vector<float> scratch_;
    // Current (smoothed) gains.
    std::array<float, kBusses> busLevel_{};
    float master_ = 0.0f, monitor_ = 0.0f;
    std::array<std::array<float, kMaxOutputs>, kBusChannels> matrix_{};
    std::array<float, kMaxOutputs> outLevel_{};
    std::array<float, kBusses> pfl_{};
    std::array<Meter, kBusChannels> busMeters_;
    std::array<Meter, kMaxOutputs> outMeters_;
    std::array<Meter, 2> monMeters_;
};

}  // namespace cuebox::engine
