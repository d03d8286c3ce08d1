#include "engine/Streamer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace cuebox::engine {

Streamer::Streamer(int sampleRate, double ringSeconds)
    : rate_(sampleRate), capacity_(static_cast<std::int64_t>(ringSeconds * sampleRate)) {
    for (auto& r : rings_) r.buf.assign(static_cast<std::size_t>(capacity_) * 2, 0.0f);
    scratch_.assign(8192 * 8, 0.0f);
}

Streamer::~Streamer() {
    for (auto& r : rings_)
        if (r.fd >= 0) ::close(r.fd);
}

int Streamer::claim(const MediaBuffer* media, std::int64_t from) {
    for (int i = 0; i < kStreams; ++i) {
        Ring& r = rings_[static_cast<std::size_t>(i)];
        if (r.state.load(std::memory_order_acquire) != freeSlot) continue;
        r.media = media;
        r.readFrame.store(from, std::memory_order_relaxed);
        r.writeFrame.store(from, std::memory_order_relaxed);
        r.state.store(requested, std::memory_order_release);
        return i;
    }
    return -1;
}

std::int64_t Streamer::available(int slot, std::int64_t v) const {
    const Ring& r = rings_[static_cast<std::size_t>(slot)];
    return r.writeFrame.load(std::memory_order_acquire) - v;
}

const float* Streamer::frameAt(int slot, std::int64_t v) const {
    const Ring& r = rings_[static_cast<std::size_t>(slot)];
    return r.buf.data() + static_cast<std::size_t>(v % capacity_) * 2;
}

void Streamer::advance(int slot, std::int64_t v) {
    rings_[static_cast<std::size_t>(slot)].readFrame.store(v, std::memory_order_release);
}

void Streamer::release(int slot) { rings_[static_cast<std::size_t>(slot)].state.store(releasing, std::memory_order_release); }

int Streamer::active() const {
    int n = 0;
    for (const auto& r : rings_) n += r.state.load(std::memory_order_relaxed) != freeSlot;
    return n;
}

bool Streamer::service() {
    if (stalled_.load()) return false;
    bool did = false;
    for (auto& r : rings_) {
        const int s = r.state.load(std::memory_order_acquire);
        if (s == releasing) {
            if (r.fd >= 0) ::close(r.fd);
            r.fd = -1;
            r.state.store(freeSlot, std::memory_order_release);
            did = true;
        } else if (s == requested) {
            r.fd = ::open(r.media->streamPath.c_str(), O_RDONLY | O_CLOEXEC);
            r.fileChannels = r.media->channels;
            r.state.store(streaming, std::memory_order_release);
            did = true;
        }
        if (r.state.load(std::memory_order_acquire) == streaming) did |= fill(r);
    }
    return did;
}

// Reads ahead until the ring is full. A file that cannot be read leaves the
// ring dry: the voice underruns (silence, faded), playback elsewhere goes on.
bool Streamer::fill(Ring& r) {
    if (r.fd < 0) return false;
    const MediaBuffer& m = *r.media;
    const int ch = r.fileChannels;
    bool did = false;
    for (;;) {
        const std::int64_t read = r.readFrame.load(std::memory_order_acquire);
        std::int64_t write = r.writeFrame.load(std::memory_order_relaxed);
        if (write < read) write = read;  // the voice ran past what we had: skip ahead
        const std::int64_t room = capacity_ - (write - read);
        if (room < 1024) break;
        // One chunk: up to the end of the file (a loop wraps to frame 0) and
        // up to the end of the ring's storage.
        const std::int64_t mediaFrame = write % m.frames;
        std::int64_t n = std::min<std::int64_t>({8192, room, m.frames - mediaFrame, capacity_ - write % capacity_});
        const ssize_t got = ::pread(r.fd, scratch_.data(), static_cast<std::size_t>(n * ch) * sizeof(float),
                                    static_cast<off_t>(mediaFrame * ch) * static_cast<off_t>(sizeof(float)));
        if (got <= 0) break;
        n = got / static_cast<ssize_t>(sizeof(float) * static_cast<std::size_t>(ch));
        float* dst = r.buf.data() + static_cast<std::size_t>(write % capacity_) * 2;
        for (std::int64_t i = 0; i < n; ++i) {
            dst[i * 2] = scratch_[static_cast<std::size_t>(i * ch)];
            dst[i * 2 + 1] = ch >= 2 ? scratch_[static_cast<std::size_t>(i * ch + 1)] : scratch_[static_cast<std::size_t>(i * ch)];
        }
        r.writeFrame.store(write + n, std::memory_order_release);
        did = true;
    }
    return did;
}

}  // namespace cuebox::engine
