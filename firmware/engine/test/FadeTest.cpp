// Fade curves against their formulas; crossfade power.
#include "engine/Envelope.h"
#include "engine/FadeCurve.h"

#include <CppUTest/TestHarness.h>

#include <cmath>

using namespace cuebox::engine;

TEST_GROUP(Fade){};

TEST(Fade, formulasHaveTheirDefiningValues) {
    DOUBLES_EQUAL(0.5, curveFormula(Curve::linear, 0.5), 1e-12);
    DOUBLES_EQUAL(std::sqrt(0.5), curveFormula(Curve::equalPower, 0.5), 1e-12);
    DOUBLES_EQUAL((std::pow(10.0, -1.5) - 1e-3) / (1 - 1e-3), curveFormula(Curve::exponential, 0.5), 1e-12);
    // dB-linear: each tenth of the fade is 6 dB (60 dB / 10), away from the floor.
    const double a = curveFormula(Curve::exponential, 0.9), b = curveFormula(Curve::exponential, 0.8);
    DOUBLES_EQUAL(6.0, 20 * std::log10(a / b), 0.1);
    DOUBLES_EQUAL(0.5, curveFormula(Curve::sCurve, 0.5), 1e-12);
    for (Curve c : {Curve::linear, Curve::equalPower, Curve::exponential, Curve::sCurve}) {
        DOUBLES_EQUAL(0.0, curveFormula(c, 0.0), 0);
        DOUBLES_EQUAL(1.0, curveFormula(c, 1.0), 0);
    }
}

// Stated tolerance: 1e-4 (the RT tables interpolate 4096 points).
TEST(Fade, everyCurveMatchesItsFormulaWithin1e4) {
    for (Curve c : {Curve::linear, Curve::equalPower, Curve::exponential, Curve::sCurve})
        for (int i = 0; i <= 10000; ++i) {
            const double x = i / 10000.0;
            DOUBLES_EQUAL(curveFormula(c, x), curveGain(c, static_cast<float>(x)), 1e-4);
        }
}

TEST(Fade, envelopeFadeOutFollowsTheCurveAndLastsExactlyItsLength) {
    for (Curve c : {Curve::linear, Curve::equalPower, Curve::exponential, Curve::sCurve}) {
        Envelope e;
        e.setHold(1.0f);
        e.fadeOut(1000, c);
        float g = 0;
        for (int k = 0; k < 1000; ++k) {
            const bool alive = e.next(g);
            DOUBLES_EQUAL(curveFormula(c, 1.0 - k / 1000.0), g, 1e-4);
            CHECK(alive == (k < 999));
        }
    }
}

TEST(Fade, powerCompensatedCrossfadeKeepsPowerWithinHalfADecibel) {
    for (Curve c : {Curve::linear, Curve::equalPower, Curve::exponential, Curve::sCurve}) {
        Envelope out, in;
        out.setHold(1.0f);
        out.xfadeOut(2000, c, true);
        in.xfadeIn(2000, c, true);
        for (int k = 0; k < 2000; ++k) {
            float go, gi;
            out.next(go);
            in.next(gi);
            const double db = 10 * std::log10(static_cast<double>(go) * go + static_cast<double>(gi) * gi);
            CHECK_TEXT(std::fabs(db) < 0.5, curveName(c));
        }
    }
}

TEST(Fade, linearCrossfadeWithoutCompensationDipsInPower) {
    // The reason power compensation exists: -3 dB in the middle.
    float o, i;
    crossfadeGains(Curve::linear, false, 0.5f, o, i);
    DOUBLES_EQUAL(-3.01, 10 * std::log10(o * o + i * i), 0.01);
}
