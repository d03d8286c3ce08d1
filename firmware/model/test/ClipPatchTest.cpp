#include "model/ClipPatch.h"
#include "model/ShowJson.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

using namespace cuebox;
using namespace cuebox::model;

namespace {
std::string fieldOf(const char* body) {
    auto r = parseClipPatch(boost::json::parse(body));
    CHECK_FALSE(r.ok());
    return r.ok() ? "" : r.error().field;
}
}  // namespace

TEST_GROUP(ClipPatch){};

TEST(ClipPatch, appliesOnlyTheNamedMembers) {
    auto p = parseClipPatch(boost::json::parse(R"({"label":"Rain","level_db":-3,"fade_out_ms":2500})"));
    CHECK(p.ok());
    Clip c;
    c.color = "#112233";
    p->applyTo(c);
    STRCMP_EQUAL("Rain", c.label.c_str());
    DOUBLES_EQUAL(-3.0, c.levelDb, 1e-9);
    LONGS_EQUAL(2500, *c.fadeOutMs);
    STRCMP_EQUAL("#112233", c.color.c_str());
}

TEST(ClipPatch, namesTheFieldThatIsOutOfRange) {
    STRCMP_EQUAL("level_db", fieldOf(R"({"level_db":40})").c_str());
    STRCMP_EQUAL("fade_in_ms", fieldOf(R"({"fade_in_ms":3001})").c_str());
    STRCMP_EQUAL("fade_out_ms", fieldOf(R"({"fade_out_ms":-1})").c_str());
    STRCMP_EQUAL("color", fieldOf(R"({"color":"red"})").c_str());
    STRCMP_EQUAL("label", fieldOf(R"({"label":"a\u0007b"})").c_str());
    STRCMP_EQUAL("loop", fieldOf(R"({"loop":"yes"})").c_str());
    STRCMP_EQUAL("id", fieldOf(R"({"id":5})").c_str());
    STRCMP_EQUAL("body", fieldOf(R"({})").c_str());
    STRCMP_EQUAL("body", fieldOf(R"([1,2])").c_str());
}

TEST(ClipPatch, nullReturnsAFadeToTheShowDefault) {
    Clip c;
    c.fadeOutMs = 900;
    c.fadeOutCurve = FadeCurve::sCurve;
    auto p = parseClipPatch(boost::json::parse(R"({"fade_out_ms":null,"fade_out_curve":null})"));
    CHECK(p.ok());
    p->applyTo(c);
    CHECK_FALSE(c.fadeOutMs.has_value());
    FadeDefaults d;
    d.out = {700, FadeCurve::exponential};
    auto f = effectiveFades(c, d);
    LONGS_EQUAL(700, f.out.ms);
    CHECK(f.out.curve == FadeCurve::exponential);
    c.fadeInMs = 20;
    LONGS_EQUAL(20, effectiveFades(c, d).in.ms);  // an override wins
}

TEST(ClipPatch, tempoSyncIsAFlagAndRoundTripsThroughTheRecord) {
    auto p = parseClipPatch(boost::json::parse(R"({"tempo_sync": true})"));
    CHECK(p.ok());
    Clip c;
    p->applyTo(c);
    CHECK(c.tempoSync);
    auto back = clipFromJson(boost::json::value(toJson(c)));
    CHECK(back->tempoSync);
    auto bad = parseClipPatch(boost::json::parse(R"({"tempo_sync": "yes"})"));
    CHECK_FALSE(bad.ok());
    STRCMP_EQUAL("tempo_sync", bad.error().field.c_str());
}
