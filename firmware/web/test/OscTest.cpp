#include "web/ControlAccess.h"
#include "web/LogLimiter.h"
#include "web/Osc.h"

#include <CppUTest/TestHarness.h>

#include <cstring>

using namespace cuebox::web;

namespace {
std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::string be32(std::uint32_t n) {
    return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
}

ControlRequest command(const std::string& address, std::vector<OscArg> args = {}) {
    auto r = parseOscCommand(OscMessage{address, std::move(args)});
    if (!r) FAIL((address + ": " + r.error().field + ": " + r.error().reason).c_str());
    return *r;
}

std::string refusal(const std::string& address, std::vector<OscArg> args = {}) {
    auto r = parseOscCommand(OscMessage{address, std::move(args)});
    if (r) FAIL((address + " was accepted").c_str());
    return r.error().field;
}
}  // namespace

TEST_GROUP(OscWire){};

TEST(OscWire, aMessageRoundTripsThroughTheEncoder) {
    const std::string b = encodeOsc("/cuebox/clip/7/stop", {OscArg::integer(1200), OscArg::number(-6.5), OscArg::text("x")});
    // OSC 1.0: the address and ",ifs" padded to 4 bytes, then the arguments.
    CHECK_EQUAL(0u, b.size() % 4);
    CHECK(std::memcmp(b.data(), "/cuebox/clip/7/stop\0", 20) == 0);
    auto m = parseOscPacket(bytes(b));
    CHECK(m.ok());
    LONGS_EQUAL(1, m->size());
    STRCMP_EQUAL("/cuebox/clip/7/stop", (*m)[0].address.c_str());
    LONGS_EQUAL(3, (*m)[0].args.size());
    LONGS_EQUAL(1200, (*m)[0].args[0].i);
    DOUBLES_EQUAL(-6.5, (*m)[0].args[1].f, 1e-6);
    STRCMP_EQUAL("x", (*m)[0].args[2].s.c_str());
}

TEST(OscWire, aBundleYieldsItsMessagesInOrderNestedIncluded) {
    const std::string a = encodeOsc("/a", {OscArg::integer(1)});
    const std::string b = encodeOsc("/b", {});
    const std::string inner = std::string("#bundle\0", 8) + std::string(8, '\0') + be32(static_cast<std::uint32_t>(b.size())) + b;
    const std::string outer = std::string("#bundle\0", 8) + std::string(8, '\1') + be32(static_cast<std::uint32_t>(a.size())) + a +
                              be32(static_cast<std::uint32_t>(inner.size())) + inner;
    auto m = parseOscPacket(bytes(outer));
    CHECK(m.ok());
    LONGS_EQUAL(2, m->size());
    STRCMP_EQUAL("/a", (*m)[0].address.c_str());
    STRCMP_EQUAL("/b", (*m)[1].address.c_str());
}

TEST(OscWire, brokenPacketsAreRefusedNamingThePacket) {
    const std::string good = encodeOsc("/cuebox/panic", {OscArg::integer(5)});
    CHECK_FALSE(parseOscPacket({}).ok());
    CHECK_FALSE(parseOscPacket(bytes(good.substr(0, good.size() - 4))).ok());  // the int32 is missing
    CHECK_FALSE(parseOscPacket(bytes("nope")).ok());                           // no leading '/'
    STRCMP_EQUAL("address", parseOscPacket(bytes(std::string("/abc", 4))).error().field.c_str());  // not terminated
    // A bundle element whose size runs past the end.
    const std::string lying = std::string("#bundle\0", 8) + std::string(8, '\0') + be32(400) + good;
    STRCMP_EQUAL("packet", parseOscPacket(bytes(lying)).error().field.c_str());
    // Nesting deeper than four bundles.
    std::string deep = good;
    for (int i = 0; i < 6; ++i) deep = std::string("#bundle\0", 8) + std::string(8, '\0') + be32(static_cast<std::uint32_t>(deep.size())) + deep;
    CHECK_FALSE(parseOscPacket(bytes(deep)).ok());
    // A type tag liblo does not know.
    std::string odd = std::string("/x\0\0,Q\0\0", 8);
    CHECK_FALSE(parseOscPacket(bytes(odd)).ok());
}

TEST_GROUP(OscCommands){};

TEST(OscCommands, clipsAndCellsByTheirAddresses) {
    auto r = command("/cuebox/clip/12/start");
    CHECK(r.kind == ControlRequest::Kind::clip);
    LONGS_EQUAL(12, r.clip);
    STRCMP_EQUAL("start", r.op.c_str());
    r = command("/cuebox/clip/3/stop", {OscArg::number(1500)});  // Companion sends floats
    LONGS_EQUAL(1500, r.fadeMs);
    r = command("/cuebox/cell/1/2/3/4/toggle");
    CHECK(r.kind == ControlRequest::Kind::cell);
    LONGS_EQUAL(0, r.page);  // 1-based on the wire
    LONGS_EQUAL(1, r.tab);
    LONGS_EQUAL(2, r.row);
    LONGS_EQUAL(3, r.col);
    r = command("/cuebox/clip/5/level", {OscArg::number(-12.5)});
    STRCMP_EQUAL("level", r.op.c_str());
    DOUBLES_EQUAL(-12.5, r.levelDb, 1e-9);
    r = command("/cuebox/group/C/stop");
    LONGS_EQUAL('C', r.group);
    r = command("/cuebox/master/level", {OscArg::text("-3")});
    DOUBLES_EQUAL(-3, r.levelDb, 1e-9);
    r = command("/cuebox/page/2/tab", {OscArg::integer(8)});
    LONGS_EQUAL(1, r.page);
    LONGS_EQUAL(7, r.value);
}

TEST(OscCommands, queriesSubscriptionsAndConnect) {
    auto r = command("/cuebox/query/cells/1/8");
    CHECK(r.kind == ControlRequest::Kind::query);
    STRCMP_EQUAL("cells", r.what.c_str());
    LONGS_EQUAL(7, r.tab);
    r = command("/cuebox/query/cells", {OscArg::integer(2), OscArg::integer(1)});
    LONGS_EQUAL(1, r.page);
    STRCMP_EQUAL("groups", command("/cuebox/query/groups").what.c_str());
    LONGS_EQUAL(0, command("/cuebox/subscribe", {OscArg::integer(0)}).value);
    LONGS_EQUAL(1, command("/cuebox/subscribe").value);
    STRCMP_EQUAL("1234", command("/cuebox/connect", {OscArg::integer(1234)}).passcode.c_str());
}

TEST(OscCommands, theQLabSubsetMapsCuesToClips) {
    CHECK(command("/go").kind == ControlRequest::Kind::go);
    CHECK(command("/go").qlab);
    CHECK(command("/panic").kind == ControlRequest::Kind::panic);
    auto r = command("/cue/4/start");
    CHECK(r.kind == ControlRequest::Kind::clip);
    LONGS_EQUAL(4, r.clip);
    STRCMP_EQUAL("start", r.op.c_str());
    STRCMP_EQUAL("stop", command("/workspace/ABC-123/cue/9/stop").op.c_str());
    LONGS_EQUAL(6, command("/select/6").clip);
    STRCMP_EQUAL("secret", command("/connect", {OscArg::text("secret")}).passcode.c_str());
}

TEST(OscCommands, badCommandsNameWhatIsWrong) {
    STRCMP_EQUAL("address", refusal("/cuebox/clip/7/explode").c_str());
    STRCMP_EQUAL("clip", refusal("/cuebox/clip/0/start").c_str());
    STRCMP_EQUAL("clip", refusal("/cuebox/clip/x/start").c_str());
    STRCMP_EQUAL("args", refusal("/cuebox/clip/7/start", {OscArg::integer(1)}).c_str());
    STRCMP_EQUAL("fade_ms", refusal("/cuebox/clip/7/stop", {OscArg::number(1.5)}).c_str());
    STRCMP_EQUAL("fade_ms", refusal("/cuebox/panic", {OscArg::integer(-1)}).c_str());
    STRCMP_EQUAL("level_db", refusal("/cuebox/master/level", {OscArg::text("loud")}).c_str());
    STRCMP_EQUAL("args", refusal("/cuebox/master/level").c_str());
    STRCMP_EQUAL("tab", refusal("/cuebox/cell/1/9/1/1/start").c_str());
    STRCMP_EQUAL("row", refusal("/cuebox/cell/1/1/17/1/start").c_str());
    STRCMP_EQUAL("group", refusal("/cuebox/group/E/stop").c_str());
    STRCMP_EQUAL("address", refusal("/cuebox//panic").c_str());
    STRCMP_EQUAL("address", refusal("/nothing/here").c_str());
    STRCMP_EQUAL("passcode", refusal("/cuebox/connect").c_str());
    STRCMP_EQUAL("address", refusal("/cuebox/query/everything").c_str());
}

TEST_GROUP(ControlAccessNets){};

TEST(ControlAccessNets, networksMatchByPrefix) {
    auto c = parseCidr("192.168.1.0/24");
    CHECK(c.ok());
    CHECK(c->contains(boost::asio::ip::make_address("192.168.1.77")));
    CHECK_FALSE(c->contains(boost::asio::ip::make_address("192.168.2.1")));
    // IPv4 seen through an IPv6 socket.
    CHECK(c->contains(boost::asio::ip::make_address("::ffff:192.168.1.5")));
    auto one = parseCidr("10.0.0.7");
    CHECK(one->contains(boost::asio::ip::make_address("10.0.0.7")));
    CHECK_FALSE(one->contains(boost::asio::ip::make_address("10.0.0.8")));
    auto odd = parseCidr("10.0.0.0/13");
    CHECK(odd->contains(boost::asio::ip::make_address("10.7.255.255")));
    CHECK_FALSE(odd->contains(boost::asio::ip::make_address("10.8.0.0")));
    CHECK(parseCidr("fd00::/8")->contains(boost::asio::ip::make_address("fd12::1")));
    CHECK_FALSE(parseCidr("300.1.1.1").ok());
    CHECK_FALSE(parseCidr("10.0.0.0/33").ok());
    CHECK_FALSE(parseCidr("10.0.0.0/").ok());
}

TEST_GROUP(LogLimiterGroup){};

TEST(LogLimiterGroup, oneEntryPerKeyAndWindowThenTheCountLeftOut) {
    using namespace std::chrono_literals;
    LogLimiter limiter(10s);
    const auto t0 = std::chrono::steady_clock::now();
    STRCMP_EQUAL("refused", limiter.admit("10.0.0.9|allow", "refused", t0)->c_str());
    for (int i = 1; i <= 3; ++i) CHECK_FALSE(limiter.admit("10.0.0.9|allow", "refused", t0 + std::chrono::seconds(i)).has_value());
    CHECK(limiter.admit("10.0.0.8|allow", "refused", t0 + 1s).has_value());  // another source
    STRCMP_EQUAL("refused (and 3 more not logged)", limiter.admit("10.0.0.9|allow", "refused", t0 + 11s)->c_str());
    CHECK_FALSE(limiter.admit("10.0.0.9|allow", "refused", t0 + 12s).has_value());
    // Too many keys: the table starts again rather than growing.
    LogLimiter small(10s, 2);
    CHECK(small.admit("a", "x", t0).has_value());
    CHECK(small.admit("b", "x", t0).has_value());
    CHECK(small.admit("c", "x", t0).has_value());
    CHECK(small.admit("a", "x", t0).has_value());  // forgotten with the rest
}
