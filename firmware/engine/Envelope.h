// A voice's gain envelope: a fade in, a fade out (from wherever the gain is
// now), or one side of a crossfade, each on a curve. [RT] only.
#pragma once

#include "engine/FadeCurve.h"

#include <cstdint>

namespace cuebox::engine {

class Envelope {
public:
    enum class Kind : std::uint8_t { hold, in, out, xfadeIn, xfadeOut };

    // Starts at full gain, or silent if a fade in follows.
    void setHold(float g) {
        kind_ = Kind::hold;
        gain_ = g;
    }
    void fadeIn(std::uint32_t frames, Curve c) { begin(Kind::in, frames, c, false); }
    void xfadeIn(std::uint32_t frames, Curve c, bool powerComp) { begin(Kind::xfadeIn, frames, c, powerComp); }
    // A fade out starts from the present gain and reaches 0 after `frames`.
    void fadeOut(std::uint32_t frames, Curve c) { begin(Kind::out, frames, c, false); }
    void xfadeOut(std::uint32_t frames, Curve c, bool powerComp) { begin(Kind::xfadeOut, frames, c, powerComp); }

    bool fadingOut() const { return kind_ == Kind::out || kind_ == Kind::xfadeOut; }
    bool holding() const { return kind_ == Kind::hold; }
    float gain() const { return gain_; }
    std::uint32_t framesLeft() const { return kind_ == Kind::hold ? 0u : len_ - pos_; }

    // Gain for the next sample. A fade of N frames gives N samples at
    // x = 0/N .. (N-1)/N; after a fade out's last one, next() returns false
    // (the voice ends: its next gain would be 0).
    bool next(float& g) {
        const float x_ = static_cast<float>(static_cast<double>(pos_) / len_);
        switch (kind_) {
        case Kind::hold: g = gain_; return true;
        case Kind::in: gain_ = curveGain(curve_, x_); break;
        case Kind::out: gain_ = scale_ * curveGain(curve_, 1.0f - x_); break;
        case Kind::xfadeIn: {
            float o, i;
            crossfadeGains(curve_, powerComp_, x_, o, i);
            gain_ = i;
            break;
        }
        case Kind::xfadeOut: {
            float o, i;
            crossfadeGains(curve_, powerComp_, x_, o, i);
            gain_ = scale_ * o;
            break;
        }
        }
        g = gain_;
        if (++pos_ >= len_) {
            if (fadingOut()) {
                gain_ = 0.0f;
                kind_ = Kind::hold;
                return false;
            }
            gain_ = 1.0f;
            kind_ = Kind::hold;
        }
        return true;
    }

private:
    void begin(Kind k, std::uint32_t frames, Curve c, bool pc) {
        if (frames == 0) frames = 1;
        scale_ = gain_;
        kind_ = k;
        curve_ = c;
        powerComp_ = pc;
        pos_ = 0;
        len_ = frames;
        if (k == Kind::in || k == Kind::xfadeIn) gain_ = 0.0f;
    }

    Kind kind_ = Kind::hold;
    Curve curve_ = Curve::linear;
    bool powerComp_ = false;
    float gain_ = 1.0f;
    float scale_ = 1.0f;  // gain when a fade out began
    std::uint32_t pos_ = 0;  // whole frames: a fade lasts exactly its length
    std::uint32_t len_ = 1;
};

}  // namespace cuebox::engine
