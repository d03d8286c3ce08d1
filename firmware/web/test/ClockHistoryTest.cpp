#include "web/ClockHistory.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

using namespace cuebox::web;
namespace json = boost::json;

namespace {
json::object clock(double offset) {
    return json::object{{"sources", json::array{json::object{{"name", "ltc"}, {"state", "locked"}, {"quality", 0.9}, {"offset_ns", offset}},
                                                json::object{{"name", "ptp"}, {"state", "absent"}, {"quality", 0}}}}};
}
}  // namespace

TEST_GROUP(ClockHistory){};

TEST(ClockHistory, oneSampleASecondPerSourceForTenMinutesAndTheLastSwitches) {
    ClockHistory h;
    // 30 Hz live states for 700 s: one sample a second kept, the last 600.
    for (std::int64_t ms = 0; ms < 700'000; ms += 33) h.record(clock(static_cast<double>(ms)), 1'000'000 + ms);
    const auto j = h.json();
    const auto& ltc = j.at("sources").at("ltc").as_array();
    // Samples 1023 ms apart (31 states of 33 ms): ~586 in the last 600 s.
    CHECK(ltc.size() <= ClockHistory::kSamples && ltc.size() >= 580);
    CHECK(ltc.back().at("t").as_int64() >= 1'000'000 + 699'000);
    CHECK(ltc.front().at("t").as_int64() >= 1'000'000 + 99'000);  // older than 10 minutes: gone
    CHECK(ltc[1].at("t").as_int64() - ltc[0].at("t").as_int64() >= 1000);
    STRCMP_EQUAL("locked", ltc.back().at("state").as_string().c_str());
    CHECK(!j.at("sources").at("ptp").as_array().back().as_object().contains("offset_ns"));
    for (int i = 0; i < 60; ++i) h.switched(json::object{{"type", "event"}, {"event", "clock_switch_done"}, {"from", "ltc"}, {"to", "internal"}, {"n", i}}, i);
    const auto j2 = h.json();
    const auto& sw = j2.at("switches").as_array();
    LONGS_EQUAL(ClockHistory::kSwitches, sw.size());
    LONGS_EQUAL(59, sw.back().at("n").as_int64());
    CHECK(!sw.back().as_object().contains("event"));
}
