// The immutable table of playable clips the RT thread reads. Built off the
// RT thread, published to the engine by an atomic pointer swap, handed back
// to a control thread to be freed once no voice reads it any more.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace cuebox::engine {

// Decoded audio at the engine's sample rate, interleaved, immutable.
struct MediaBuffer {
    int channels = 0;
    std::int64_t frames = 0;
    std::vector<float> samples;  // frames * channels
};

struct ClipEntry {
    std::uint64_t id = 0;
    const MediaBuffer* media = nullptr;  // owned by the table's keep-alive list
    float gain = 1.0f;                   // linear
    std::uint32_t fadeInFrames = 0;
    std::uint32_t fadeOutFrames = 0;
    bool loop = false;
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
