#include "web/Command.h"
#include "web/Midi.h"

#include <boost/json.hpp>
#include <CppUTest/TestHarness.h>

#include <vector>

using namespace cuebox::web;

namespace {
using Bytes = std::vector<std::uint8_t>;
}

TEST_GROUP(MidiChannel){};

TEST(MidiChannel, notesControllersAndPrograms) {
    auto n = parseMidiChannel(Bytes{0x92, 60, 100});
    CHECK(n.ok());
    CHECK(n->type == MidiChannelMessage::Type::noteOn);
    LONGS_EQUAL(3, n->channel);
    LONGS_EQUAL(60, n->number);
    LONGS_EQUAL(100, n->value);
    CHECK(parseMidiChannel(Bytes{0x90, 60, 0})->type == MidiChannelMessage::Type::noteOff);  // velocity 0
    CHECK(parseMidiChannel(Bytes{0xB0, 7, 64})->type == MidiChannelMessage::Type::controlChange);
    auto p = parseMidiChannel(Bytes{0xCF, 5});
    CHECK(p->type == MidiChannelMessage::Type::programChange);
    LONGS_EQUAL(16, p->channel);
    CHECK_FALSE(parseMidiChannel(Bytes{0xC0, 5, 1}).ok());   // program change is 2 bytes
    CHECK_FALSE(parseMidiChannel(Bytes{0x90, 60}).ok());     // short
    CHECK_FALSE(parseMidiChannel(Bytes{0x90, 0x80, 1}).ok());  // data byte with the top bit
    CHECK_FALSE(parseMidiChannel(Bytes{0xE0, 0, 64}).ok());  // pitch bend is no control message
    CHECK_FALSE(parseMidiChannel(Bytes{60, 1}).ok());
}

TEST_GROUP(Msc){};

TEST(Msc, goWithCueListAndPath) {
    // GO cue 12.5 in list 3 to device 1, sound general.
    auto m = parseMsc(Bytes{0xF0, 0x7F, 0x01, 0x02, 0x10, 0x01, '1', '2', '.', '5', 0x00, '3', 0xF7});
    CHECK(m.ok());
    LONGS_EQUAL(1, m->deviceId);
    LONGS_EQUAL(0x10, m->commandFormat);
    CHECK(m->command == MscCommand::go);
    STRCMP_EQUAL("12.5", m->cue.c_str());
    STRCMP_EQUAL("3", m->list.c_str());
    STRCMP_EQUAL("", m->path.c_str());
    auto bare = parseMsc(Bytes{0xF0, 0x7F, 0x7F, 0x02, 0x7F, 0x01, 0xF7});  // GO with no cue: the next one
    CHECK(bare.ok());
    STRCMP_EQUAL("", bare->cue.c_str());
}

TEST(Msc, fireAllOffAndTimedGo) {
    auto f = parseMsc(Bytes{0xF0, 0x7F, 0x00, 0x02, 0x10, 0x07, 42, 0xF7});
    CHECK(f->command == MscCommand::fire);
    LONGS_EQUAL(42, f->macro);
    CHECK(parseMsc(Bytes{0xF0, 0x7F, 0x00, 0x02, 0x10, 0x08, 0xF7})->command == MscCommand::allOff);
    auto t = parseMsc(Bytes{0xF0, 0x7F, 0x00, 0x02, 0x10, 0x04, 1, 2, 3, 4, 0, '7', 0xF7});
    CHECK(t.ok());
    STRCMP_EQUAL("7", t->cue.c_str());
}

TEST(Msc, brokenMessagesAreRefused) {
    CHECK_FALSE(parseMsc(Bytes{0xF0, 0x7F, 0x01, 0x02, 0x10, 0x01}).ok());          // no F7
    CHECK_FALSE(parseMsc(Bytes{0xF0, 0x7E, 0x01, 0x02, 0x10, 0x01, 0xF7}).ok());    // non-real-time
    CHECK_FALSE(parseMsc(Bytes{0xF0, 0x7F, 0x01, 0x01, 0x10, 0x01, 0xF7}).ok());    // MTC, not MSC
    CHECK_FALSE(parseMsc(Bytes{0xF0, 0x7F, 0x01, 0x02, 0x10, 0x30, 0xF7}).ok());    // unknown command
    CHECK_FALSE(parseMsc(Bytes{0xF0, 0x7F, 0x01, 0x02, 0x10, 0x01, 'x', 0xF7}).ok());  // not a cue number
    CHECK_FALSE(parseMsc(Bytes{0xF0, 0x7F, 0x01, 0x02, 0x10, 0x01, '1', 0, '2', 0, '3', 0, '4', 0xF7}).ok());
    CHECK_FALSE(parseMsc(Bytes{0xF0, 0x7F, 0x01, 0x02, 0x10, 0x07, 0xF7}).ok());    // FIRE without a macro
    CHECK_FALSE(parseMsc(Bytes{0xF0, 0x7F, 0x81, 0x02, 0x10, 0x01, 0xF7}).ok());    // data byte > 127
}

TEST(Msc, deviceIdAndCommandFormatFiltering) {
    MscMessage m;
    m.deviceId = 5;
    m.commandFormat = 0x10;
    CHECK(mscForUs(m, 5, -1, 0x10));
    CHECK_FALSE(mscForUs(m, 6, -1, 0x10));
    m.deviceId = 0x7F;  // all-call
    CHECK(mscForUs(m, 6, -1, 0x10));
    m.deviceId = 0x71;  // group
    CHECK(mscForUs(m, 6, 0x71, 0x10));
    CHECK_FALSE(mscForUs(m, 6, 0x72, 0x10));
    m.deviceId = 6;
    m.commandFormat = 0x01;  // lighting: not for a sound box
    CHECK_FALSE(mscForUs(m, 6, -1, 0x10));
    m.commandFormat = 0x7F;
    CHECK(mscForUs(m, 6, -1, 0x10));
    m.commandFormat = 0x10;  // sound general reaches a more specific sound format
    CHECK(mscForUs(m, 6, -1, 0x11));
}

TEST_GROUP(WsCommand){};

TEST(WsCommand, parsesAndChecksTheSharedCommandSet) {
    namespace json = boost::json;
    auto r = parseWsCommand(json::parse(R"({"cmd":"stop","clip":7,"fade_ms":200,"req":3})"));
    CHECK(r.ok());
    STRCMP_EQUAL("stop", r->op.c_str());
    LONGS_EQUAL(7, r->target.to_number<long>());
    CHECK(engineArgs(r->op, r->args).ok());
    STRCMP_EQUAL("fade_ms", engineArgs("stop", json::object{{"fade_ms", 5000}}).error().field.c_str());
    STRCMP_EQUAL("at_frame", engineArgs("stop", json::object{{"at_frame", 1}}).error().field.c_str());
    STRCMP_EQUAL("clip", parseWsCommand(json::parse(R"({"cmd":"start"})")).error().field.c_str());
    STRCMP_EQUAL("clip", parseWsCommand(json::parse(R"({"cmd":"start","clip":-1})")).error().field.c_str());
    STRCMP_EQUAL("group", parseWsCommand(json::parse(R"({"cmd":"stop_group","group":"audition"})")).error().field.c_str());
    STRCMP_EQUAL("cmd", parseWsCommand(json::parse(R"({"cmd":"explode"})")).error().field.c_str());
    STRCMP_EQUAL("body", parseWsCommand(json::parse("[1]")).error().field.c_str());
    auto g = parseWsCommand(json::parse(R"({"cmd":"stop_group","group":"B"})"));
    STRCMP_EQUAL("B", g->target.as_string().c_str());
    CHECK(g->args.empty());
}
