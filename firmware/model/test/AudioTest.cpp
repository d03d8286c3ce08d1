#include "model/Audio.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

using namespace cuebox;
using namespace cuebox::model;
namespace json = boost::json;

namespace {
std::string refusedField(Status st) {
    CHECK_FALSE(st.ok());
    return st.ok() ? "" : st.error().field;
}
}  // namespace

TEST_GROUP(Audio){};

TEST(Audio, defaultsRouteGroupsToTheFirstPairAndRoundTrip) {
    AudioConfig a = AudioConfig::defaults(8);
    LONGS_EQUAL(8, a.outputs.size());
    LONGS_EQUAL(8, a.routing.size());
    auto back = audioFromJson(toJson(a));
    CHECK(back.ok());
    LONGS_EQUAL(8, back->routing.size());
    LONGS_EQUAL(1, back->routing[1].output);
}

TEST(Audio, badEditsNameTheFieldAndChangeNothing) {
    AudioConfig a = AudioConfig::defaults(8);
    const std::string before = json::serialize(toJson(a));
    STRCMP_EQUAL("level_db", refusedField(patchBus(a, 0, json::parse(R"({"level_db": 20})"))).c_str());
    STRCMP_EQUAL("choke", refusedField(patchBus(a, 4, json::parse(R"({"choke": true})"))).c_str());
    STRCMP_EQUAL("bus", refusedField(patchBus(a, 5, json::parse(R"({"pfl": true})"))).c_str());  // a 5th group
    STRCMP_EQUAL("output", refusedField(patchOutput(a, 8, json::parse(R"({"level_db": 0})"))).c_str());
    STRCMP_EQUAL("format", refusedField(patchOutput(a, 0, json::parse(R"({"format": "5.1"})"))).c_str());
    STRCMP_EQUAL("bus", refusedField(setCrosspoint(a, json::parse(R"({"bus":"E","channel":"L","output":1,"gain_db":0})"))).c_str());
    STRCMP_EQUAL("output", refusedField(setCrosspoint(a, json::parse(R"({"bus":"A","channel":"L","output":9,"gain_db":0})"))).c_str());
    STRCMP_EQUAL("gain_db", refusedField(setCrosspoint(a, json::parse(R"({"bus":"A","channel":"L","output":2,"gain_db":-200})"))).c_str());
    // A bus edit with one good and one bad member applies neither.
    STRCMP_EQUAL("pfl", refusedField(patchBus(a, 1, json::parse(R"({"level_db": -6, "pfl": "yes"})"))).c_str());
    STRCMP_EQUAL(before.c_str(), json::serialize(toJson(a)).c_str());
}

TEST(Audio, crosspointsAreSetReplacedAndRemoved) {
    AudioConfig a = AudioConfig::defaults(8);
    CHECK(setCrosspoint(a, json::parse(R"({"bus":"audition","channel":"R","output":8,"gain_db":-3})")).ok());
    LONGS_EQUAL(9, a.routing.size());
    CHECK(setCrosspoint(a, json::parse(R"({"bus":"audition","channel":"R","output":8,"gain_db":-6})")).ok());
    LONGS_EQUAL(9, a.routing.size());
    DOUBLES_EQUAL(-6.0, a.routing.back().gainDb, 0);
    CHECK(setCrosspoint(a, json::parse(R"({"bus":"audition","channel":"R","output":8,"gain_db":null})")).ok());
    LONGS_EQUAL(8, a.routing.size());
}

TEST(Audio, fadeDefaultsAreEditedWithValidationAndRoundTrip) {
    AudioConfig a = AudioConfig::defaults(8);
    CHECK(patchAudio(a, json::parse(R"({"fade_defaults":{"out":{"ms":400,"curve":"s_curve","power_comp":false},"crossfade":{"ms":250}}})")).ok());
    LONGS_EQUAL(400, a.fades.out.ms);
    CHECK_FALSE(a.fades.outPowerComp);
    LONGS_EQUAL(250, a.fades.crossfade.ms);
    STRCMP_EQUAL("fade_defaults.in.ms", refusedField(patchAudio(a, json::parse(R"({"fade_defaults":{"in":{"ms":3001}}})"))).c_str());
    STRCMP_EQUAL("fade_defaults.crossfade.power_comp",
                 refusedField(patchAudio(a, json::parse(R"({"fade_defaults":{"crossfade":{"power_comp":true}}})"))).c_str());
    auto back = audioFromJson(toJson(a));
    CHECK(back.ok());
    LONGS_EQUAL(400, back->fades.out.ms);
    CHECK(back->fades.out.curve == FadeCurve::sCurve);
}
