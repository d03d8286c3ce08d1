#include "ipc/Frame.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

using namespace cuebox;
using namespace cuebox::ipc;

namespace {
std::string header(const char* magic, std::uint16_t version, std::uint16_t type, std::uint32_t len) {
    std::string h(magic, 4);
    h.push_back(static_cast<char>(version >> 8));
    h.push_back(static_cast<char>(version));
    h.push_back(static_cast<char>(type >> 8));
    h.push_back(static_cast<char>(type));
    for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<char>(len >> s));
    return h;
}
std::string errorField(FrameReader& r) {
    auto f = r.next();
    CHECK_FALSE(f.ok());
    return f.ok() ? "" : f.error().field;
}
}  // namespace

TEST_GROUP(IpcFrame){};

TEST(IpcFrame, roundTripsACommandByteByByte) {
    boost::json::object body{{"op", "start"}, {"clip", 42}, {"req", 7}};
    auto bytes = encode(MsgType::command, body);
    CHECK(bytes.ok());
    FrameReader r;
    // Fed one byte at a time, the frame appears exactly once, at the end.
    for (std::size_t i = 0; i < bytes->size(); ++i) {
        r.feed(std::string_view(bytes->data() + i, 1));
        auto f = r.next();
        CHECK(f.ok());
        if (i + 1 < bytes->size()) {
            CHECK_FALSE(f->has_value());
        } else {
            CHECK(f->has_value());
            CHECK((*f)->type == MsgType::command);
            LONGS_EQUAL(42, (*f)->body.at("clip").as_int64());
        }
    }
    LONGS_EQUAL(0, r.buffered());
}

TEST(IpcFrame, decodesTwoFramesFromOneRead) {
    auto a = encode(MsgType::reload, {{"revision", 3}});
    auto b = encode(MsgType::state, {{"voices", 1}});
    FrameReader r;
    r.feed(*a + *b);
    auto f1 = r.next();
    auto f2 = r.next();
    auto f3 = r.next();
    CHECK((*f1)->type == MsgType::reload);
    CHECK((*f2)->type == MsgType::state);
    CHECK_FALSE(f3->has_value());
}

TEST(IpcFrame, rejectsBadMagicBeforeTheHeaderIsComplete) {
    FrameReader r;
    r.feed("GET ");
    STRCMP_EQUAL("magic", errorField(r).c_str());
    // The stream stays failed.
    CHECK_FALSE(r.next().ok());
}

TEST(IpcFrame, rejectsOtherVersion) {
    FrameReader r;
    r.feed(header("CBOX", 2, 1, 2) + "{}");
    STRCMP_EQUAL("version", errorField(r).c_str());
}

TEST(IpcFrame, rejectsUnknownType) {
    FrameReader r;
    r.feed(header("CBOX", 1, 99, 2) + "{}");
    STRCMP_EQUAL("type", errorField(r).c_str());
}

TEST(IpcFrame, rejectsOversizedLengthWithoutWaitingForThePayload) {
    FrameReader r;
    r.feed(header("CBOX", 1, 2, kMaxPayload + 1));
    STRCMP_EQUAL("length", errorField(r).c_str());
}

TEST(IpcFrame, rejectsPayloadThatIsNotJson) {
    FrameReader r;
    r.feed(header("CBOX", 1, 2, 5) + "{oops");
    STRCMP_EQUAL("payload", errorField(r).c_str());
}

TEST(IpcFrame, rejectsJsonThatIsNotAnObject) {
    FrameReader r;
    r.feed(header("CBOX", 1, 2, 3) + "[1]");
    STRCMP_EQUAL("payload", errorField(r).c_str());
}

TEST(IpcFrame, encodeRefusesPayloadOverOneMebibyte) {
    boost::json::object big{{"blob", std::string(kMaxPayload, 'x')}};
    auto bytes = encode(MsgType::state, big);
    CHECK_FALSE(bytes.ok());
    CHECK(bytes.error().code == Errc::payload_too_large);
}
