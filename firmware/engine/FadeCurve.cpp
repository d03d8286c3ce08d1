#include "engine/FadeCurve.h"

#include <array>
#include <cmath>

namespace cuebox::engine {
namespace {

constexpr int kTable = 4096;

struct Tables {
    std::array<std::array<float, kTable + 1>, 4> t{};
    Tables() {
        for (int c = 0; c < 4; ++c)
            for (int i = 0; i <= kTable; ++i)
                t[static_cast<std::size_t>(c)][static_cast<std::size_t>(i)] =
                    static_cast<float>(curveFormula(static_cast<Curve>(c), static_cast<double>(i) / kTable));
    }
};
// Built during static initialisation, before any RT thread exists.
const Tables g_tables;

}  // namespace

double curveFormula(Curve c, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    constexpr double kPi = 3.14159265358979323846;
    switch (c) {
    case Curve::linear: return x;
    case Curve::equalPower: return std::sin(x * kPi / 2);
    case Curve::exponential: return (std::pow(10.0, -3.0 * (1.0 - x)) - 1e-3) / (1.0 - 1e-3);
    case Curve::sCurve: return (1.0 - std::cos(x * kPi)) / 2;
    }
    return x;
}

float curveGain(Curve c, float x) {
    if (x <= 0.0f) return 0.0f;
    if (x >= 1.0f) return 1.0f;
    const float pos = x * kTable;
    const int i = static_cast<int>(pos);
    const float frac = pos - static_cast<float>(i);
    const auto& t = g_tables.t[static_cast<std::size_t>(c)];
    return t[static_cast<std::size_t>(i)] + (t[static_cast<std::size_t>(i) + 1] - t[static_cast<std::size_t>(i)]) * frac;
}

void crossfadeGains(Curve c, bool powerComp, float x, float& out, float& in) {
    in = curveGain(c, x);
    out = curveGain(c, 1.0f - x);
    if (powerComp) {
        const float p = in * in + out * out;
        if (p > 1e-12f) {
            const float k = 1.0f / std::sqrt(p);
            in *= k;
            out *= k;
        }
    }
}

bool parseCurve(std::string_view s, Curve& c) {
    if (s == "linear") c = Curve::linear;
    else if (s == "equal_power") c = Curve::equalPower;
    else if (s == "exponential") c = Curve::exponential;
    else if (s == "s_curve") c = Curve::sCurve;
    else return false;
    return true;
}

const char* curveName(Curve c) {
    switch (c) {
    case Curve::linear: return "linear";
    case Curve::equalPower: return "equal_power";
    case Curve::exponential: return "exponential";
    case Curve::sCurve: return "s_curve";
    }
    return "linear";
}

}  // namespace cuebox::engine
