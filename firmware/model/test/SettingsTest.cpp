#include "model/Settings.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

using namespace cuebox::model;
namespace json = boost::json;

TEST_GROUP(Settings){};

TEST(Settings, everySectionHasItsDefaultsAndEditsAreCheckedPerMember) {
    auto d = defaultSettings();
    LONGS_EQUAL(settingsSections().size(), d.size());
    LONGS_EQUAL(1000, d.at("emergency").at("panic_fade_ms").as_int64());
    json::object t = d.at("transport");
    auto bad = patchSection("transport", t, json::parse(R"({"tempo_bpm": 96, "tempo_source": "gps"})"));
    CHECK_FALSE(bad.ok());
    STRCMP_EQUAL("transport.tempo_source", bad.error().field.c_str());
    DOUBLES_EQUAL(120.0, t.at("tempo_bpm").as_double(), 0);  // nothing applied
    json::object m = d.at("media");
    for (const char* bad : {R"({"library_path": "./"})", R"({"library_path": "a/../b"})", R"({"library_path": "a//b"})",
                            R"({"library_path": "/"})", R"({"library_path": "a\b"})"})
        CHECK_FALSE_TEXT(patchSection("media", m, json::parse(bad)).ok(), bad);
    CHECK(patchSection("media", m, json::parse(R"({"export_path": "/media/usb/"})")).ok());
    STRCMP_EQUAL("/media/usb", m.at("export_path").as_string().c_str());
    // Lists of search paths and share mappings: every entry checked, the
    // error names it.
    auto e = patchSection("media", m, json::parse(R"({"search_paths": ["/mnt/a", "b/../c"]})"));
    CHECK_FALSE(e.ok());
    STRCMP_EQUAL("media.search_paths[1]", e.error().field.c_str());
    e = patchSection("media", m, json::parse(R"({"share_mappings": [{"from": "//srv/sfx", "to": "mnt/sfx"}]})"));
    CHECK_FALSE(e.ok());
    STRCMP_EQUAL("media.share_mappings[0].to", e.error().field.c_str());
    CHECK(patchSection("media", m, json::parse(R"({"search_paths": ["/mnt/a/"], "share_mappings": [{"from": "//srv/sfx", "to": "/mnt/sfx"}]})")).ok());
    STRCMP_EQUAL("/mnt/a", m.at("search_paths").as_array()[0].as_string().c_str());
    STRCMP_EQUAL("/mnt/sfx", m.at("share_mappings").as_array()[0].at("to").as_string().c_str());
}

TEST(Settings, aStoredValueOutsideANarrowedRangeIsClampedNotReset) {
    auto logging = completeSection("logging", json::parse(R"({"retention_mb": 1024, "retention_days": 30, "level": "loud"})").as_object());
    LONGS_EQUAL(256, logging.at("retention_mb").as_int64());
    LONGS_EQUAL(30, logging.at("retention_days").as_int64());
    STRCMP_EQUAL("info", logging.at("level").as_string().c_str());  // not a number: the default
}

TEST(Settings, timeSourcesTakeAnOrderAllowListsAndFourMidiPorts) {
    json::object t = defaultSettings().at("time_sources");
    LONGS_EQUAL(5, t.at("order").as_array().size());
    // The four MIDI ports are complete objects even by default.
    LONGS_EQUAL(4, t.at("midi_sources").as_array().size());
    DOUBLES_EQUAL(2000.0, t.at("midi_sources").as_array()[3].at("max_jitter_us").as_double(), 0);
    const std::pair<const char*, const char*> bad[] = {
        {R"({"order": ["ltc", "ltc"]})", "time_sources.order[1]"},
        {R"({"order": ["gps"]})", "time_sources.order[0]"},
        {R"({"order": []})", "time_sources.order"},
        {R"({"ptp_allowed_grandmasters": ["00112.fffe.334455"]})", "time_sources.ptp_allowed_grandmasters[0]"},
        {R"({"ptp_allowed_domains": [0, 128]})", "time_sources.ptp_allowed_domains[1]"},
        {R"({"midi_sources": [{}, {}, {}]})", "time_sources.midi_sources"},
        {R"({"midi_sources": [{}, {"max_jitter_us": -1}, {}, {}]})", "time_sources.midi_sources[1].max_jitter_us"},
        {R"({"midi_sources": [{}, {}, {"speed": 1}, {}]})", "time_sources.midi_sources[2].speed"},
    };
    for (const auto& [body, field] : bad) {
        auto e = patchSection("time_sources", t, json::parse(body));
        CHECK_FALSE_TEXT(e.ok(), body);
        STRCMP_EQUAL_TEXT(field, e.error().field.c_str(), body);
    }
    LONGS_EQUAL(5, t.at("order").as_array().size());  // nothing applied
    CHECK(patchSection("time_sources", t, json::parse(R"({"order": ["ltc", "internal"],
        "ptp_allowed_grandmasters": ["00AABB.FFFE.334455"], "midi_sources": [{"port": "a2j:desk"}, {}, {}, {"enabled": false}]})")).ok());
    STRCMP_EQUAL("ltc", t.at("order").as_array()[0].as_string().c_str());
    STRCMP_EQUAL("00aabb.fffe.334455", t.at("ptp_allowed_grandmasters").as_array()[0].as_string().c_str());
    STRCMP_EQUAL("a2j:desk", t.at("midi_sources").as_array()[0].at("port").as_string().c_str());
    CHECK_FALSE(t.at("midi_sources").as_array()[3].at("enabled").as_bool());
    DOUBLES_EQUAL(50.0, t.at("midi_sources").as_array()[0].at("max_instability_ppm").as_double(), 0);
}
