// The immutable table of playable clips the RT thread reads. Built off the
// RT thread, published to the engine by an atomic pointer swap, handed back
// to a control thread to be freed once no voice reads it any more.
#pragma once

#include "engine/FadeCurve.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cuebox::engine {

// Decoded audio at the engine's sample rate, interleaved, immutable. A long
// clip keeps only its head in RAM (headFrames < frames); the whole of it is
// in streamPath as raw interleaved float32 at the engine's rate.
struct MediaBuffer {
    int channels = 0;
    std::int64_t frames = 0;      // the whole clip
    std::int64_t headFrames = 0;  // frames in `samples`
    std::vector<float> samples;   // headFrames * channels
    std::string streamPath;       // set when headFrames < frames

    bool streamed() const { return headFrames < frames; }
};

// How a press of the clip's cell behaves.
enum class PlayMode : std::uint8_t {
    oneShot,    // plays to its end; a second press does `secondPress`
    toggle,     // a second press fades it out
    retrigger,  // every press restarts it with a crossfade
    gate,       // plays while held: release fades it out
};
enum class SecondPress : std::uint8_t { stop, fadeOut, restart, nothing };

struct FadeSpec {
    std::uint32_t frames = 0;
    Curve curve = Curve::linear;
};

struct ClipEntry {
    std::uint64_t id = 0;
    const MediaBuffer* media = nullptr;  // owned by the table's keep-alive list
    float gain = 1.0f;                   // linear clip level
    FadeSpec fadeIn;
    FadeSpec fadeOut;
    FadeSpec crossfade;
    bool powerComp = false;              // crossfades keep constant power
    std::uint8_t group = 0;              // clip group A-D = 0-3
    PlayMode mode = PlayMode::oneShot;
    SecondPress secondPress = SecondPress::stop;
    std::uint32_t loops = 1;             // times to play: 1 = once, 0 = loop forever
};

class ClipTable {
public:
    // Control thread: adds a clip (entries must be added in increasing id
    // order or sorted with finish()).
    void add(ClipEntry e, std::shared_ptr<const MediaBuffer> media);
    void finish();
    std::size_t size() const { return entries_.size(); }

    // RT-safe: binary search, no allocation.
    const ClipEntry* find(std::uint64_t id) const;

private:
    std::vector<ClipEntry> entries_;
    std::vector<std::shared_ptr<const MediaBuffer>> keepAlive_;
};

}  // namespace cuebox::engine
