// Offline rendering helpers for engine tests: no JACK, no clock, just blocks.
#pragma once

#include "engine/Engine.h"

#include <cmath>
#include <memory>
#include <vector>

namespace cuebox::engine::test {

// A buffer whose samples are easy to recognise: channel c of frame i holds
// (c + 1) * 0.001 * (i % 500 + 1), never zero.
inline std::shared_ptr<MediaBuffer> rampMedia(int channels, std::int64_t frames) {
    auto m = std::make_shared<MediaBuffer>();
    m->channels = channels;
    m->frames = m->headFrames = frames;
    m->samples.resize(static_cast<std::size_t>(frames * channels));
    for (std::int64_t i = 0; i < frames; ++i)
        for (int c = 0; c < channels; ++c)
            m->samples[static_cast<std::size_t>(i * channels + c)] = static_cast<float>((c + 1) * 0.001 * (i % 500 + 1));
    return m;
}

inline std::shared_ptr<MediaBuffer> constantMedia(int channels, std::int64_t frames, float value) {
    auto m = std::make_shared<MediaBuffer>();
    m->channels = channels;
    m->frames = m->headFrames = frames;
    m->samples.assign(static_cast<std::size_t>(frames * channels), value);
    return m;
}

// A clip entry for tests.
inline ClipEntry clip(std::uint64_t id, float gain = 1.0f, std::uint8_t group = 0, std::uint32_t loops = 1) {
    ClipEntry e;
    e.id = id;
    e.gain = gain;
    e.group = group;
    e.loops = loops;
    return e;
}

// Renders blocks and keeps every output sample: out[0..outputs-1] are the
// physical outputs, then the two monitor channels.
class Renderer {
public:
    explicit Renderer(Engine& e, std::uint32_t block = 64) : e_(e), block_(block) {
        const std::size_t n = static_cast<std::size_t>(e.outputs() + 2);
        bufs_.resize(n);
        out.resize(n);
        for (std::size_t o = 0; o < n; ++o) {
            bufs_[o].resize(block);
            ptrs_.push_back(bufs_[o].data());
        }
    }
    void run(int blocks) {
        for (int b = 0; b < blocks; ++b) {
            e_.process(block_, ptrs_.data(), frame_);
            for (std::size_t o = 0; o < bufs_.size(); ++o) out[o].insert(out[o].end(), bufs_[o].begin(), bufs_[o].end());
            frame_ += block_;
        }
    }
    std::uint64_t frame() const { return frame_; }
    std::vector<Event> events() {
        std::vector<Event> v;
        Event ev;
        while (e_.popEvent(ev)) v.push_back(ev);
        return v;
    }
    std::vector<std::vector<float>> out;

private:
    Engine& e_;
    std::uint32_t block_;
    std::uint64_t frame_ = 1000;  // not zero, so frame arithmetic is exercised
    std::vector<std::vector<float>> bufs_;
    std::vector<float*> ptrs_;
};

inline Command cmd(Command::Type t, std::uint64_t clip = 0) {
    Command c;
    c.type = t;
    c.clip = clip;
    return c;
}

inline Command startCmd(std::uint64_t clip, std::uint64_t at = 0) {
    Command c;
    c.type = Command::Type::start;
    c.clip = clip;
    c.atFrame = at;
    return c;
}

inline Command stopCmd(std::uint64_t clip, std::uint32_t fadeFrames = 0) {
    Command c;
    c.type = Command::Type::stop;
    c.clip = clip;
    c.fadeFrames = fadeFrames;
    return c;
}

}  // namespace cuebox::engine::test
