// Fade curves. A curve maps the fade position x in [0, 1] to a gain for a
// fade-in; a fade-out uses the same curve mirrored (gain(1 - x)), so a
// crossfade with the same curve is symmetrical.
//   linear       g = x
//   equal-power  g = sin(x * pi/2)                  (in^2 + out^2 = 1)
//   exponential  dB-linear over 60 dB: g = (10^(-3(1-x)) - 10^-3) / (1 - 10^-3)
//   s-curve      g = (1 - cos(x * pi)) / 2
// Power compensation (crossfades): the pair is scaled so that
// in^2 + out^2 = 1 at every x, whatever the curve.
// RT-safe: precomputed tables with linear interpolation (error < 2e-5).
#pragma once

#include <cstdint>
#include <string_view>

namespace cuebox::engine {

enum class Curve : std::uint8_t { linear, equalPower, exponential, sCurve };

// The formula itself (control/tests; uses libm).
double curveFormula(Curve c, double x);
// [RT] table lookup.
float curveGain(Curve c, float x);
// [RT] the two gains of a crossfade at position x (fade-out, fade-in).
void crossfadeGains(Curve c, bool powerComp, float x, float& out, float& in);

bool parseCurve(std::string_view s, Curve& c);
const char* curveName(Curve c);

}  // namespace cuebox::engine
