#include "model/ShowJson.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

using namespace cuebox;
using namespace cuebox::model;

TEST_GROUP(ShowJson){};

TEST(ShowJson, clipRoundTripsThroughItsRecord) {
    Clip c;
    c.id = 12;
    c.label = "Thunder";
    c.file = "media/thunder.wav";
    c.group = 'C';
    c.levelDb = -6.5;
    c.fadeOutMs = 900;
    c.loop = true;
    auto back = clipFromJson(toJson(c));
    CHECK(back.ok());
    LONGS_EQUAL(12, back->id);
    STRCMP_EQUAL("Thunder", back->label.c_str());
    CHECK_EQUAL('C', back->group);
    DOUBLES_EQUAL(-6.5, back->levelDb, 1e-9);
    LONGS_EQUAL(900, *back->fadeOutMs);
    CHECK_FALSE(back->fadeInMs.has_value());  // not overridden: the show's default
    CHECK(back->loop);
}

TEST(ShowJson, recordWithoutIdIsRefused) {
    auto r = clipFromJson(boost::json::parse(R"({"label":"x","file":"f","group":"A"})"));
    CHECK_FALSE(r.ok());
}

TEST(ShowJson, showHasEightTabsPerPageAndMarksCellsOutsideTheGridHidden) {
    Show s;
    s.id = 1;
    s.name = "Act 1";
    s.pages.push_back(makePage("Page 1"));
    s.pages[0].tabs[0].grid.rows = 2;  // shrunk: row 3 is kept but hidden
    Clip a;
    a.id = 1;
    a.label = "a";
    a.file = "a.wav";
    s.clips.push_back(a);
    s.cells.push_back(Cell{0, 0, 0, 0, 1});
    s.cells.push_back(Cell{0, 0, 3, 1, 1});
    s.cells.push_back(Cell{0, 5, 1, 1, 1});
    auto j = toJson(s, [](const Clip&) { return true; });
    auto& tabs = j.at("pages").as_array()[0].as_object().at("tabs").as_array();
    LONGS_EQUAL(8, tabs.size());
    auto& cells0 = tabs[0].as_object().at("cells").as_array();
    LONGS_EQUAL(2, cells0.size());
    CHECK_FALSE(cells0[0].as_object().contains("hidden"));
    CHECK(cells0[1].as_object().at("hidden").as_bool());
    LONGS_EQUAL(1, tabs[5].as_object().at("cells").as_array().size());
    STRCMP_EQUAL("missing", j.at("clips").as_array()[0].as_object().at("status").as_string().c_str());
    // A clip's record depends on the clip alone (choke and fade defaults are
    // the show's audio), so it can be cached per clip.
    CHECK_FALSE(j.at("clips").as_array()[0].as_object().contains("choke"));
}
