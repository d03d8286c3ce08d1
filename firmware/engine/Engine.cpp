#include "engine/Engine.h"

#include <algorithm>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace cuebox::engine {

const char* refuseReasonText(RefuseReason r) {
    switch (r) {
    case RefuseReason::none: return "";
    case RefuseReason::unknownClip: return "the engine has no clip with this id";
    case RefuseReason::poolFull: return "the voice pool is full";
    case RefuseReason::noMedia: return "the clip's media is not loaded (missing or unreadable)";
    }
    return "";
}

Engine::Engine(const Config& cfg) : cfg_(cfg) {}

Engine::~Engine() {
    delete pending_.exchange(nullptr);
    delete current_;
    for (auto* t : retiring_) delete t;
    ClipTable* t = nullptr;
    while (retired_.pop(t)) delete t;
}

bool Engine::post(const Command& c) { return commands_.push(c); }
bool Engine::popEvent(Event& e) { return events_.pop(e); }

bool Engine::publishTable(ClipTable* t) {
    ClipTable* expected = nullptr;
    return pending_.compare_exchange_strong(expected, t, std::memory_order_acq_rel);
}

ClipTable* Engine::takeRetiredTable() {
    ClipTable* t = nullptr;
    return retired_.pop(t) ? t : nullptr;
}

std::uint32_t Engine::msToFrames(int ms) const {
    return static_cast<std::uint32_t>(static_cast<std::int64_t>(ms) * cfg_.sampleRate / 1000);
}

void Engine::emit(const Event& e) {
    if (!events_.push(e)) droppedEvents_.fetch_add(1, std::memory_order_relaxed);
}

void Engine::process(std::uint32_t nframes, float* const* outs, std::uint64_t blockFrame) {
    const std::int64_t t0 = LoadMeter::nowNs();
    blockStartNs_ = t0;
    blockFrames_ = nframes;
    lastBlockFrame_.store(blockFrame, std::memory_order_release);
#if defined(__SSE__)
    _mm_setcsr(_mm_getcsr() | 0x8040);  // flush denormals to zero (FTZ | DAZ)
#endif
    for (int o = 0; o < kOutputs; ++o) std::fill(outs[o], outs[o] + nframes, 0.0f);

    // Pick up a new clip table if one is offered and the old one has a place
    // to wait until its last voice lets go.
    if (pending_.load(std::memory_order_relaxed) != nullptr) {
        auto slot = std::find(retiring_.begin(), retiring_.end(), nullptr);
        if (current_ == nullptr || slot != retiring_.end()) {
            const ClipTable* next = pending_.exchange(nullptr, std::memory_order_acq_rel);
            if (current_) *slot = current_;
            current_ = next;
        }
    }

    Command c;
    while (commands_.pop(c)) handle(c, blockFrame);

    for (auto& v : voices_)
        if (v.active) render(v, nframes, outs, blockFrame);

    retireTables();
    activeSlots_.store(usedSlots_, std::memory_order_relaxed);
    load_.record(LoadMeter::nowNs() - t0,
                 static_cast<std::int64_t>(nframes) * 1000000000LL / std::max(cfg_.sampleRate, 1));
}

void Engine::handle(const Command& c, std::uint64_t blockFrame) {
    switch (c.type) {
    case Command::Type::start: start(c, blockFrame); break;
    case Command::Type::stop:
        if (stopClip(c.clip, c.fadeFrames, c.req)) emit({Event::Type::stopping, c.clip, c.req, blockFrame});
        else emit({Event::Type::stopped, c.clip, c.req, blockFrame});  // nothing was playing: already stopped
        break;
    case Command::Type::toggle:
        if (stopClip(c.clip, c.fadeFrames, c.req)) emit({Event::Type::stopping, c.clip, c.req, blockFrame});
        else start(c, blockFrame);
        break;
    case Command::Type::panic: panic(c.fadeFrames, blockFrame); emit({Event::Type::panic, 0, c.req, blockFrame}); break;
    }
}

void Engine::start(const Command& c, std::uint64_t blockFrame) {
    auto refuse = [&](RefuseReason r) {
        Event e{Event::Type::refused, c.clip, c.req, blockFrame};
        e.reason = r;
        emit(e);
    };
    const ClipEntry* entry = current_ ? current_->find(c.clip) : nullptr;
    if (!entry) return refuse(RefuseReason::unknownClip);
    if (!entry->media || entry->media->frames <= 0) return refuse(RefuseReason::noMedia);
    const int slots = entry->media->channels >= 2 ? 2 : 1;
    if (usedSlots_ + slots > kVoiceSlots) return refuse(RefuseReason::poolFull);
    auto it = std::find_if(voices_.begin(), voices_.end(), [](const Voice& v) { return !v.active; });
    if (it == voices_.end()) return refuse(RefuseReason::poolFull);

    Voice& v = *it;
    v = Voice{};
    v.active = true;
    v.clip = entry;
    v.table = current_;
    v.clipId = c.clip;
    v.req = c.req;
    v.startFrame = std::max(c.atFrame, blockFrame);
    v.queuedFrame = c.queuedFrame;
    v.postedAfterBlock = c.postedAfterBlock;
    v.postedNs = c.postedNs;
    v.pickedUpBlock = blockFrame;
    v.slots = slots;
    if (entry->fadeInFrames > 0) {
        v.gain = 0.0f;
        v.rampLeft = entry->fadeInFrames;
        v.step = 1.0f / static_cast<float>(entry->fadeInFrames);
    } else {
        v.gain = 1.0f;
    }
    usedSlots_ += slots;
    auto& view = views_[static_cast<std::size_t>(it - voices_.begin())];
    view.position.store(0, std::memory_order_relaxed);
    view.length.store(entry->media->frames, std::memory_order_relaxed);
    view.stopping.store(0, std::memory_order_relaxed);
    view.clip.store(c.clip, std::memory_order_relaxed);
    emit({Event::Type::starting, c.clip, c.req, v.startFrame});
}

void Engine::stopVoice(Voice& v, std::uint32_t fadeFrames) {
    const std::uint32_t minFade = std::max<std::uint32_t>(msToFrames(cfg_.protectionFadeMs), 1);
    const std::uint32_t fade = std::max(fadeFrames, minFade);
    if (v.stopping && v.rampLeft <= fade) return;  // already ending sooner
    v.stopping = true;
    v.rampLeft = fade;
    v.step = -v.gain / static_cast<float>(fade);
}

bool Engine::stopClip(std::uint64_t clip, std::uint32_t fadeFrames, std::uint32_t req) {
    bool any = false;
    for (std::size_t i = 0; i < voices_.size(); ++i) {
        Voice& v = voices_[i];
        if (!v.active || v.clipId != clip || v.stopping) continue;
        any = true;
        if (!v.started) {  // scheduled but silent so far: nothing to fade
            release(v, static_cast<int>(i));
            continue;
        }
        stopVoice(v, fadeFrames ? fadeFrames : v.clip->fadeOutFrames);
        views_[i].stopping.store(1, std::memory_order_relaxed);
    }
    return any;
}

void Engine::panic(std::uint32_t fadeFrames, std::uint64_t blockFrame) {
    std::uint32_t fade = fadeFrames ? fadeFrames : msToFrames(cfg_.panicFadeMs);
    if (blockFrame < panicUntil_) fade = 0;  // second panic: stop now (protection fade)
    panicUntil_ = blockFrame + fade;
    for (std::size_t i = 0; i < voices_.size(); ++i) {
        Voice& v = voices_[i];
        if (!v.active) continue;
        if (!v.started) {
            release(v, static_cast<int>(i));
            continue;
        }
        stopVoice(v, fade);
        views_[i].stopping.store(1, std::memory_order_relaxed);
    }
}

void Engine::render(Voice& v, std::uint32_t nframes, float* const* outs, std::uint64_t blockFrame) {
    const int index = static_cast<int>(&v - voices_.data());
    std::uint32_t begin = 0;
    if (!v.started) {
        if (v.startFrame >= blockFrame + nframes) return;  // scheduled for a later block
        begin = static_cast<std::uint32_t>(v.startFrame > blockFrame ? v.startFrame - blockFrame : 0);
        v.started = true;
        Event e{Event::Type::started, v.clipId, v.req, blockFrame + begin};
        e.latencyFrames = static_cast<std::int64_t>(blockFrame + begin) - static_cast<std::int64_t>(v.queuedFrame);
        if (v.postedAfterBlock > 0 && blockFrames_ > 0 && v.pickedUpBlock > v.postedAfterBlock)
            e.cyclesWaited = static_cast<std::uint32_t>((v.pickedUpBlock - v.postedAfterBlock + blockFrames_ - 1) / blockFrames_);
        if (v.postedNs > 0) e.waitNs = blockStartNs_ - v.postedNs;
        emit(e);
    }
    const MediaBuffer& m = *v.clip->media;
    const int ch = m.channels;
    const float clipGain = v.clip->gain;
    const float* data = m.samples.data();
    float* outL = outs[0];
    float* outR = outs[1];
    bool ended = false;
    for (std::uint32_t i = begin; i < nframes; ++i) {
        if (v.pos >= m.frames) {
            if (!v.clip->loop) {
                ended = true;
                break;
            }
            v.pos = 0;
        }
        const float g = v.gain * clipGain;
        const float* f = data + v.pos * ch;
        if (ch >= 2) {
            outL[i] += f[0] * g;
            outR[i] += f[1] * g;
        } else {
            const float s = f[0] * g * 0.70710678f;  // centre pan, -3 dB
            outL[i] += s;
            outR[i] += s;
        }
        ++v.pos;
        if (v.rampLeft > 0) {
            v.gain += v.step;
            if (--v.rampLeft == 0) {
                if (v.stopping) {
                    ended = true;
                    break;
                }
                v.gain = 1.0f;
            }
        }
    }
    views_[static_cast<std::size_t>(index)].position.store(v.pos, std::memory_order_relaxed);
    if (ended) release(v, index);
}

void Engine::release(Voice& v, int index) {
    emit({Event::Type::stopped, v.clipId, v.req, 0});
    v.active = false;
    usedSlots_ -= v.slots;
    auto& view = views_[static_cast<std::size_t>(index)];
    view.clip.store(0, std::memory_order_relaxed);
    view.stopping.store(0, std::memory_order_relaxed);
}

void Engine::retireTables() {
    for (auto& t : retiring_) {
        if (!t) continue;
        bool used = std::any_of(voices_.begin(), voices_.end(), [t](const Voice& v) { return v.active && v.table == t; });
        if (!used && retired_.push(const_cast<ClipTable*>(t))) t = nullptr;
    }
}

}  // namespace cuebox::engine
