#include "engine/Engine.h"

#include <algorithm>
#include <cmath>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace cuebox::engine {

const char* refuseReasonText(RefuseReason r) {
    switch (r) {
    case RefuseReason::none: return "";
    case RefuseReason::unknownClip: return "the engine has no clip with this id";
    case RefuseReason::poolFull: return "no voice is free and none may be taken";
    case RefuseReason::noMedia: return "the clip's media is not loaded (missing or unreadable)";
    case RefuseReason::overload: return "DSP load is critical (90%): new voices are refused until it falls below 70%";
    case RefuseReason::notPlaying: return "the clip is not playing";
    case RefuseReason::noStream: return "every streaming slot is busy (long clips stream from disk)";
    }
    return "";
}

const char* loadStateName(LoadState s) {
    switch (s) {
    case LoadState::normal: return "normal";
    case LoadState::warning: return "warning";
    case LoadState::critical: return "critical";
    }
    return "normal";
}

Engine::Engine(const Config& cfg)
    : cfg_(cfg), mixer_(cfg.outputs, cfg.sampleRate), streamer_(cfg.sampleRate), recorder_(cfg.sampleRate) {
    mix_ = new MixConfig(MixConfig::defaults(cfg.outputs));
    mixer_.snap(*mix_);
}

Engine::~Engine() {
    delete pendingTable_.exchange(nullptr);
    delete pendingMix_.exchange(nullptr);
    delete current_;
    delete mix_;
    for (auto* t : retiring_) delete t;
    while (ClipTable* t = takeRetiredTable()) delete t;
    while (MixConfig* m = takeRetiredMix()) delete m;
}

bool Engine::post(const Command& c) { return commands_.push(c); }
bool Engine::popEvent(Event& e) { return events_.pop(e); }

bool Engine::publishTable(ClipTable* t) {
    ClipTable* expected = nullptr;
    return pendingTable_.compare_exchange_strong(expected, t, std::memory_order_acq_rel);
}

bool Engine::publishMix(MixConfig* m) {
    MixConfig* expected = nullptr;
    return pendingMix_.compare_exchange_strong(expected, m, std::memory_order_acq_rel);
}

ClipTable* Engine::takeRetiredTable() {
    ClipTable* t = nullptr;
    return retiredTables_.pop(t) ? t : nullptr;
}

MixConfig* Engine::takeRetiredMix() {
    MixConfig* m = nullptr;
    return retiredMix_.pop(m) ? m : nullptr;
}

VoiceUsage Engine::usage() const {
    VoiceUsage u;
    u.stereo = usage_.stereo.load(std::memory_order_relaxed);
    u.mono = usage_.mono.load(std::memory_order_relaxed);
    u.slots = usage_.slots.load(std::memory_order_relaxed);
    u.reserved = usage_.reserved.load(std::memory_order_relaxed);
    u.audition = usage_.audition.load(std::memory_order_relaxed);
    u.load = overload_.state();
    return u;
}

std::uint32_t Engine::msToFrames(int ms) const {
    return static_cast<std::uint32_t>(static_cast<std::int64_t>(ms) * cfg_.sampleRate / 1000);
}

std::uint32_t Engine::protectionFrames() const { return std::max<std::uint32_t>(msToFrames(cfg_.protectionFadeMs), 1); }

void Engine::emit(const Event& e) {
    if (!events_.push(e)) droppedEvents_.fetch_add(1, std::memory_order_relaxed);
}

void Engine::emit(Event::Type t, const Voice& v, std::uint64_t frame) { emit({t, v.clipId, v.req, frame}); }

// ---------------------------------------------------------------- process

void Engine::process(std::uint32_t nframes, const float* const* ins, float* const* outs, std::uint64_t blockFrame) {
    const std::int64_t t0 = LoadMeter::nowNs();
    blockStartNs_ = t0;
    blockFrames_ = nframes;
    lastBlockFrame_.store(blockFrame, std::memory_order_release);
#if defined(__SSE__)
    _mm_setcsr(_mm_getcsr() | 0x8040);  // flush denormals to zero (FTZ | DAZ)
#endif
    if (nframes > kMaxBlock) nframes = kMaxBlock;  // never happens with JACK's sizes

    if (pendingMix_.load(std::memory_order_relaxed) != nullptr && retiredMix_.write_available() > 0) {
        MixConfig* next = pendingMix_.exchange(nullptr, std::memory_order_acq_rel);
        retiredMix_.push(mix_);
        mix_ = next;
    }
    if (pendingTable_.load(std::memory_order_relaxed) != nullptr) {
        auto slot = std::find(retiring_.begin(), retiring_.end(), nullptr);
        if (current_ == nullptr || slot != retiring_.end()) swapTable(pendingTable_.exchange(nullptr, std::memory_order_acq_rel));
    }

    Command c;
    while (commands_.pop(c)) handle(c, blockFrame);

    mixer_.beginBlock(nframes);
    for (auto& v : voices_)
        if (v.active) render(v, nframes, blockFrame);
    mixer_.mix(*mix_, nframes, outs);
    recorder_.process(nframes, ins);
    if (ins && ins[4]) ltc_.write(ins[4], nframes, blockFrame);

    retire();
    publishUsage();
    if (const std::int64_t ballast = ballastNs_.load(std::memory_order_relaxed); ballast > 0)
        while (LoadMeter::nowNs() - t0 < ballast) {
        }
    load_.record(LoadMeter::nowNs() - t0,
                 static_cast<std::int64_t>(nframes) * 1000000000LL / std::max(cfg_.sampleRate, 1));
    overload_.update(load_.average());  // sustained load, not one stalled call
}

void Engine::swapTable(const ClipTable* next) {
    // Voices follow their clip into the new table when its media is the
    // same, so level and fade edits apply to what is playing and the old
    // table can go sooner.
    for (auto& v : voices_) {
        if (!v.active || v.table != current_ || !next) continue;
        const ClipEntry* e = next->find(v.clipId);
        if (e && e->media == v.clip->media) {
            v.clip = e;
            v.table = next;
        }
    }
    if (current_) *std::find(retiring_.begin(), retiring_.end(), nullptr) = current_;
    current_ = next;
}

void Engine::retire() {
    for (auto& t : retiring_) {
        if (!t) continue;
        bool used = std::any_of(voices_.begin(), voices_.end(), [t](const Voice& v) { return v.active && v.table == t; });
        if (!used && retiredTables_.push(const_cast<ClipTable*>(t))) t = nullptr;
    }
}

void Engine::publishUsage() {
    int stereo = 0, mono = 0, slots = 0;
    bool audition = false;
    for (std::size_t i = 0; i < voices_.size(); ++i) {
        const Voice& v = voices_[i];
        if (!v.active) continue;
        if (v.audition) audition = true;
        if (v.counted) {
            slots += v.slots;
            (v.slots == 2 ? stereo : mono) += 1;
        }
    }
    int reserved = 0;
    for (int g = 0; g < kGroups; ++g) reserved += mix_->choke[static_cast<std::size_t>(g)] ? kChokeReserve : 0;
    usage_.stereo.store(stereo, std::memory_order_relaxed);
    usage_.mono.store(mono, std::memory_order_relaxed);
    usage_.slots.store(slots, std::memory_order_relaxed);
    usage_.reserved.store(reserved, std::memory_order_relaxed);
    usage_.audition.store(audition, std::memory_order_relaxed);
}

// ---------------------------------------------------------------- commands

void Engine::handle(const Command& c, std::uint64_t blockFrame) {
    using T = Command::Type;
    auto refuse = [&](RefuseReason r) {
        Event e{Event::Type::refused, c.clip, c.req, blockFrame};
        e.reason = r;
        emit(e);
    };
    switch (c.type) {
    case T::start: start(c, blockFrame, false); break;
    case T::press: press(c, blockFrame); break;
    case T::release: {
        bool any = false;
        for (auto& v : voices_)
            if (v.active && !v.audition && v.clipId == c.clip && v.counted && !v.env.fadingOut() &&
                v.clip->mode == PlayMode::gate) {
                fadeOut(v, v.clip->fadeOut.frames, v.clip->fadeOut.curve);
                any = true;
            }
        emit({any ? Event::Type::stopping : Event::Type::done, c.clip, c.req, blockFrame});
        break;
    }
    case T::stop:
        if (stopClip(c.clip, c.fadeFrames, c.fadeFrames == 0)) emit({Event::Type::stopping, c.clip, c.req, blockFrame});
        else emit({Event::Type::stopped, c.clip, c.req, blockFrame});  // nothing was playing: already stopped
        break;
    case T::toggle:
        if (stopClip(c.clip, c.fadeFrames, c.fadeFrames == 0)) emit({Event::Type::stopping, c.clip, c.req, blockFrame});
        else start(c, blockFrame, false);
        break;
    case T::pause: {
        bool any = false;
        for (auto& v : voices_)
            if (v.active && !v.audition && v.clipId == c.clip && v.counted && !v.paused && !v.pausing &&
                !v.env.fadingOut()) {
                v.pausing = true;
                v.env.fadeOut(protectionFrames(), Curve::linear);
                any = true;
            }
        if (any) emit({Event::Type::paused, c.clip, c.req, blockFrame});
        else refuse(RefuseReason::notPlaying);
        break;
    }
    case T::resume: {
        bool any = false;
        for (auto& v : voices_)
            if (v.active && v.clipId == c.clip && (v.paused || v.pausing)) {
                v.paused = v.pausing = false;
                v.env.fadeIn(protectionFrames(), Curve::linear);
                any = true;
            }
        if (any) emit({Event::Type::resumed, c.clip, c.req, blockFrame});
        else refuse(RefuseReason::notPlaying);
        break;
    }
    case T::stopGroup:
        for (auto& v : voices_)
            if (v.active && !v.audition && v.bus == c.group && !v.env.fadingOut()) {
                if (!v.started || v.paused) release(v);
                else fadeOut(v, c.fadeFrames ? c.fadeFrames : v.clip->fadeOut.frames, v.clip->fadeOut.curve);
            }
        emit({Event::Type::done, 0, c.req, blockFrame});
        break;
    case T::panic:
        panic(c.fadeFrames, blockFrame);
        emit({Event::Type::panic, 0, c.req, blockFrame});
        break;
    case T::audition:
        for (auto& v : voices_)
            if (v.active && v.audition && !v.env.fadingOut()) fadeOut(v, protectionFrames(), Curve::linear);
        start(c, blockFrame, true);
        break;
    case T::stopAudition: {
        for (auto& v : voices_)
            if (v.active && v.audition && !v.env.fadingOut()) fadeOut(v, v.clip->fadeOut.frames, v.clip->fadeOut.curve);
        emit({Event::Type::done, 0, c.req, blockFrame});
        break;
    }
    }
}

void Engine::press(const Command& c, std::uint64_t blockFrame) {
    const ClipEntry* e = current_ ? current_->find(c.clip) : nullptr;
    if (!e) return start(c, blockFrame, false), void();  // start() refuses with the reason
    // The newest voice of this clip that is still playing (not fading away).
    Voice* live = nullptr;
    for (auto& v : voices_)
        if (v.active && !v.audition && v.clipId == c.clip && v.counted && !v.env.fadingOut() && !v.pausing &&
            (!live || v.seq > live->seq))
            live = &v;
    if (!live) {
        start(c, blockFrame, false);
        return;
    }
    auto stopAll = [&](bool clipFade) {
        stopClip(c.clip, clipFade ? 0 : protectionFrames(), clipFade);
        emit({Event::Type::stopping, c.clip, c.req, blockFrame});
    };
    switch (e->mode) {
    case PlayMode::toggle: stopAll(true); break;
    case PlayMode::retrigger:
    case PlayMode::gate: restart(*live, c, blockFrame); break;
    case PlayMode::oneShot:
        switch (e->secondPress) {
        case SecondPress::stop: stopAll(false); break;
        case SecondPress::fadeOut: stopAll(true); break;
        case SecondPress::restart: restart(*live, c, blockFrame); break;
        case SecondPress::nothing: emit({Event::Type::ignored, c.clip, c.req, blockFrame}); break;
        }
        break;
    }
}

void Engine::restart(Voice& old, const Command& c, std::uint64_t blockFrame) {
    const ClipEntry& e = *old.clip;
    const bool xfade = e.crossfade.frames > 0;
    uncount(old);
    if (xfade) old.env.xfadeOut(e.crossfade.frames, e.crossfade.curve, e.powerComp);
    else fadeOut(old, protectionFrames(), Curve::linear);
    if (Voice* v = start(c, blockFrame, false); v && xfade) v->env.xfadeIn(e.crossfade.frames, e.crossfade.curve, e.powerComp);
}

Engine::Voice* Engine::freeVoice() {
    for (auto& v : voices_)
        if (!v.active) return &v;
    return nullptr;
}

Engine::Voice* Engine::oldestCounted(int group) {
    Voice* best = nullptr;
    for (auto& v : voices_) {
        if (!v.active || !v.counted || v.audition) continue;
        const bool inChokeGroup = mix_->choke[v.bus];
        if (group >= 0 ? v.bus != group : inChokeGroup) continue;
        if (!best || v.seq < best->seq) best = &v;
    }
    return best;
}

void Engine::uncount(Voice& v) {
    v.counted = false;
    views_[static_cast<std::size_t>(index(v))].counted.store(0, std::memory_order_relaxed);
}

bool Engine::makeRoom(const ClipEntry& e, int slots, std::uint64_t blockFrame) {
    auto takeAway = [&](Voice& v, Event::Type why) {
        uncount(v);
        if (!v.started || v.paused) release(v);
        else fadeOut(v, protectionFrames(), Curve::linear);
        emit(why, v, blockFrame);
    };
    if (mix_->choke[e.group]) {
        // A choke group holds at most 3 voices, inside its reservation.
        for (;;) {
            int n = 0;
            for (auto& v : voices_) n += (v.active && v.counted && !v.audition && v.bus == e.group) ? 1 : 0;
            if (n < kChokeVoices) return true;
            takeAway(*oldestCounted(e.group), Event::Type::choked);
        }
    }
    int reserved = 0;
    for (int g = 0; g < kGroups; ++g) reserved += mix_->choke[static_cast<std::size_t>(g)] ? kChokeReserve : 0;
    const int capacity = kVoiceSlots - reserved;
    if (slots > capacity) return false;
    for (;;) {
        int used = 0;
        for (auto& v : voices_) used += (v.active && v.counted && !v.audition && !mix_->choke[v.bus]) ? v.slots : 0;
        if (used + slots <= capacity) return true;
        Voice* oldest = oldestCounted(-1);
        if (!oldest) return false;
        takeAway(*oldest, Event::Type::stolen);
    }
}

Engine::Voice* Engine::start(const Command& c, std::uint64_t blockFrame, bool audition) {
    auto refuse = [&](RefuseReason r) -> Voice* {
        Event e{Event::Type::refused, c.clip, c.req, blockFrame};
        e.reason = r;
        emit(e);
        return nullptr;
    };
    const ClipEntry* entry = current_ ? current_->find(c.clip) : nullptr;
    if (!entry) return refuse(RefuseReason::unknownClip);
    if (!entry->media || entry->media->frames <= 0) return refuse(RefuseReason::noMedia);
    if (!audition && overload_.state() == LoadState::critical) return refuse(RefuseReason::overload);
    const int slots = entry->media->channels >= 2 ? 2 : 1;
    if (!audition && !makeRoom(*entry, slots, blockFrame)) return refuse(RefuseReason::poolFull);
    Voice* pv = freeVoice();
    if (!pv) return refuse(RefuseReason::poolFull);
    int stream = -1;
    if (entry->media->streamed()) {
        stream = streamer_.claim(entry->media, entry->media->headFrames);
        if (stream < 0) return refuse(RefuseReason::noStream);
    }

    Voice& v = *pv;
    v = Voice{};
    v.active = true;
    v.audition = audition;
    v.counted = !audition;
    v.clip = entry;
    v.table = current_;
    v.clipId = c.clip;
    v.req = c.req;
    v.seq = nextSeq_++;
    v.startFrame = std::max(c.atFrame, blockFrame);
    v.queuedFrame = c.queuedFrame;
    v.postedAfterBlock = c.postedAfterBlock;
    v.postedNs = c.postedNs;
    v.pickedUpBlock = blockFrame;
    v.slots = slots;
    v.bus = audition ? static_cast<std::uint8_t>(kAuditionBus) : entry->group;
    v.startGain = audition ? 1.0f : std::clamp(c.gain, 0.0f, 1.0f);
    v.clipGain = entry->gain * v.startGain;
    v.stream = stream;
    if (entry->fadeIn.frames > 0) v.env.fadeIn(entry->fadeIn.frames, entry->fadeIn.curve);
    else v.env.setHold(1.0f);
    auto& view = views_[static_cast<std::size_t>(index(v))];
    view.position.store(0, std::memory_order_relaxed);
    view.length.store(entry->media->frames, std::memory_order_relaxed);
    view.state.store(VoiceState::playing, std::memory_order_relaxed);
    view.bus.store(v.bus, std::memory_order_relaxed);
    view.slots.store(static_cast<std::uint8_t>(slots), std::memory_order_relaxed);
    view.counted.store(v.counted ? 1 : 0, std::memory_order_relaxed);
    view.clip.store(c.clip, std::memory_order_relaxed);
    emit({Event::Type::starting, c.clip, c.req, v.startFrame});
    return &v;
}

void Engine::fadeOut(Voice& v, std::uint32_t frames, Curve c) {
    v.pausing = false;
    const std::uint32_t f = std::max(frames, protectionFrames());
    if (v.env.fadingOut() && v.env.framesLeft() <= f) return;  // already ending sooner
    v.env.fadeOut(f, c);
    views_[static_cast<std::size_t>(index(v))].state.store(VoiceState::fading, std::memory_order_relaxed);
}

bool Engine::stopClip(std::uint64_t clip, std::uint32_t fadeFrames, bool useClipFade) {
    bool any = false;
    for (auto& v : voices_) {
        if (!v.active || v.audition || v.clipId != clip) continue;
        if (v.env.fadingOut() && !v.pausing) continue;
        any = true;
        if (!v.started || v.paused) {  // silent: nothing to fade
            release(v);
            continue;
        }
        fadeOut(v, useClipFade ? v.clip->fadeOut.frames : fadeFrames, useClipFade ? v.clip->fadeOut.curve : Curve::linear);
    }
    return any;
}

void Engine::panic(std::uint32_t fadeFrames, std::uint64_t blockFrame) {
    std::uint32_t fade = fadeFrames ? fadeFrames : msToFrames(cfg_.panicFadeMs);
    if (blockFrame < panicUntil_) fade = 0;  // second panic: stop now (protection fade)
    panicUntil_ = blockFrame + fade;
    for (auto& v : voices_) {
        if (!v.active) continue;
        if (!v.started || v.paused) {
            release(v);
            continue;
        }
        fadeOut(v, fade, Curve::linear);
    }
}

// ---------------------------------------------------------------- rendering

namespace {
// One frame of a voice into its bus: stereo as it is (channels beyond two
// are not heard), mono centred at -3 dB.
inline void addFrame(float* busL, float* busR, std::uint32_t i, const float* f, int ch, float g) {
    if (ch >= 2) {
        busL[i] += f[0] * g;
        busR[i] += f[1] * g;
    } else {
        const float s = f[0] * g * 0.70710678f;
        busL[i] += s;
        busR[i] += s;
    }
}
}  // namespace

// The voice's fade out reached zero: a pause holds it, anything else ends it.
bool Engine::envelopeEnded(Voice& v) {
    if (!v.pausing) return true;
    v.pausing = false;
    v.paused = true;
    return false;
}

void Engine::render(Voice& v, std::uint32_t nframes, std::uint64_t blockFrame) {
    auto& view = views_[static_cast<std::size_t>(index(v))];
    if (v.paused) {
        view.state.store(VoiceState::paused, std::memory_order_relaxed);
        return;
    }
    std::uint32_t begin = 0;
    if (!v.started) {
        if (v.startFrame >= blockFrame + nframes) return;  // scheduled for a later block
        begin = static_cast<std::uint32_t>(v.startFrame > blockFrame ? v.startFrame - blockFrame : 0);
        v.started = true;
        Event e{Event::Type::started, v.clipId, v.req, blockFrame + begin};
        e.bus = v.bus;
        e.latencyFrames = static_cast<std::int64_t>(blockFrame + begin) - static_cast<std::int64_t>(v.queuedFrame);
        if (v.postedAfterBlock > 0 && blockFrames_ > 0 && v.pickedUpBlock > v.postedAfterBlock)
            e.cyclesWaited = static_cast<std::uint32_t>((v.pickedUpBlock - v.postedAfterBlock + blockFrames_ - 1) / blockFrames_);
        if (v.postedNs > 0) e.waitNs = blockStartNs_ - v.postedNs;
        emit(e);
    }
    const MediaBuffer& m = *v.clip->media;
    const int ch = m.channels;
    const float* data = m.samples.data();
    float* busL = mixer_.bus(v.bus, 0);
    float* busR = mixer_.bus(v.bus, 1);
    // Clip level changes glide: at most full scale per 10 ms.
    const float target = v.clip->gain * v.startGain;
    const float maxStep = static_cast<float>(nframes) / (0.010f * static_cast<float>(cfg_.sampleRate));
    const float g0 = v.clipGain;
    const float g1 = g0 + std::clamp(target - g0, -maxStep, maxStep);
    const float gStep = (g1 - g0) / static_cast<float>(nframes);
    if (v.stream >= 0) {
        const bool ended = renderStreamed(v, begin, nframes, busL, busR, g0, gStep);
        v.clipGain = g1;
        view.position.store(v.pos % m.frames, std::memory_order_relaxed);
        if (ended) return release(v);
        view.state.store(v.paused ? VoiceState::paused : v.env.fadingOut() ? VoiceState::fading : VoiceState::playing,
                         std::memory_order_relaxed);
        return;
    }
    float cg = g0 + gStep * static_cast<float>(begin);
    const std::uint32_t loops = v.clip->loops;
    bool ended = false;
    for (std::uint32_t i = begin; i < nframes; ++i, cg += gStep) {
        if (v.pos >= m.frames) {
            ++v.loopsDone;
            if (loops != 0 && v.loopsDone >= loops) {
                ended = true;
                break;
            }
            v.pos = 0;
        }
        float eg;
        const bool alive = v.env.next(eg);
        const float g = eg * cg;
        addFrame(busL, busR, i, data + v.pos * ch, ch, g);
        ++v.pos;
        if (!alive) {
            ended = envelopeEnded(v);
            break;
        }
    }
    v.clipGain = g1;
    view.position.store(v.pos, std::memory_order_relaxed);
    if (ended) return release(v);
    view.state.store(v.paused ? VoiceState::paused : v.env.fadingOut() ? VoiceState::fading : VoiceState::playing,
                     std::memory_order_relaxed);
}

// A long clip: v.pos counts virtual frames (a loop keeps counting; frame v
// plays media frame v % frames); the first pass's head comes from RAM, the
// rest from the voice's stream ring. Returns true when the voice ended.
bool Engine::renderStreamed(Voice& v, std::uint32_t begin, std::uint32_t nframes, float* busL, float* busR, float g0,
                            float gStep) {
    const MediaBuffer& m = *v.clip->media;
    const int ch = m.channels;
    const std::uint32_t loops = v.clip->loops;
    const std::int64_t end = loops == 0 ? INT64_MAX : m.frames * static_cast<std::int64_t>(loops);
    const std::uint32_t prot = protectionFrames();
    // Frames we can play from here on without waiting.
    const std::int64_t fromRing = v.pos < m.headFrames ? streamer_.available(v.stream, m.headFrames) + (m.headFrames - v.pos)
                                                       : streamer_.available(v.stream, v.pos);
    const std::int64_t need = static_cast<std::int64_t>(nframes - begin);
    if (!v.starved && v.gateStep >= 0.0f && fromRing < need + prot && v.pos + fromRing < end) {
        // Running dry: fade the data gate out over what is left (at most the
        // protection fade); then silence while time runs on.
        const std::int64_t left = std::max<std::int64_t>(std::min<std::int64_t>(fromRing, prot), 1);
        v.gateStep = -v.gate / static_cast<float>(left);
        streamer_.countUnderrun();
        emit(Event::Type::underrun, v, 0);
    } else if (v.starved && fromRing >= need + 4 * static_cast<std::int64_t>(prot)) {
        v.starved = false;  // data is back with a margin: fade in again
        v.gateStep = 1.0f / static_cast<float>(prot);
    }
    float cg = g0 + gStep * static_cast<float>(begin);
    bool ended = false;
    for (std::uint32_t i = begin; i < nframes; ++i, cg += gStep) {
        if (v.pos >= end) {
            ended = true;
            break;
        }
        float eg;
        const bool alive = v.env.next(eg);
        v.gate += v.gateStep;
        if (v.gate <= 0.0f) {
            v.gate = 0.0f;
            v.gateStep = 0.0f;
            v.starved = true;
        } else if (v.gate >= 1.0f) {
            v.gate = 1.0f;
            if (v.gateStep > 0.0f) v.gateStep = 0.0f;
        }
        if (!v.starved && v.gate > 0.0f) {
            const float g = eg * cg * v.gate;
            // RAM head: interleaved as the file; ring: always two channels
            // (mono duplicated), so f[0] (and f[1]) read the same either way.
            addFrame(busL, busR, i, v.pos < m.headFrames ? m.samples.data() + v.pos * ch : streamer_.frameAt(v.stream, v.pos),
                     ch, g);
        }
        ++v.pos;
        if (!alive) {
            ended = envelopeEnded(v);
            break;
        }
    }
    if (v.pos >= m.headFrames) streamer_.advance(v.stream, v.pos);
    return ended;
}

void Engine::release(Voice& v) {
    if (v.stream >= 0) {
        streamer_.release(v.stream);
        v.stream = -1;
    }
    emit(Event::Type::stopped, v, 0);
    v.active = false;
    v.counted = false;
    auto& view = views_[static_cast<std::size_t>(index(v))];
    view.clip.store(0, std::memory_order_relaxed);
    view.state.store(VoiceState::free, std::memory_order_relaxed);
    view.counted.store(0, std::memory_order_relaxed);
}

}  // namespace cuebox::engine
