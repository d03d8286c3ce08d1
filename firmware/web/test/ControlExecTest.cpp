// The QLab-style playhead (ControlExec): /go starts the clip at the
// playhead and moves it on; a newly loaded show starts at its first clip.
#include "web/ControlExec.h"

#include "web/Api.h"

#include "Fixtures.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

using namespace cuebox;
using namespace cuebox::web;
namespace json = boost::json;

TEST_GROUP(Playhead) {
    std::unique_ptr<LoadedShow> fx;
    AcceptingSink sink;
    std::unique_ptr<Api> api;
    std::unique_ptr<ControlExec> exec;
    void setup() override {
        fx = std::make_unique<LoadedShow>(true);
        api = std::make_unique<Api>(*fx->show, sink, [](json::object) {});
        exec = std::make_unique<ControlExec>(*api, *fx->show);
    }
    void teardown() override {
        exec.reset();
        api.reset();
        fx.reset();
    }
    int run(ControlRequest::Kind kind, std::uint64_t clip = 0) {
        ControlRequest r;
        r.kind = kind;
        r.clip = clip;
        int status = 0;
        CHECK(exec->run(r, "unit test", [&](int s, std::string) { status = s; }));
        return status;
    }
};

TEST(Playhead, goAdvancesAndANewShowStartsAtItsFirstClip) {
    const model::ClipId first = fx->show->show().clips[0].id;
    LONGS_EQUAL(202, run(ControlRequest::Kind::go));
    LONGS_EQUAL(first + 1, exec->playhead());
    LONGS_EQUAL(409, run(ControlRequest::Kind::go));  // past the last clip
    // Another show, loaded: its first clip is next.
    model::Show other;
    other.name = "other";
    other.pages.push_back(model::makePage("p"));
    model::Clip c;
    c.label = "two";
    c.file = "media/two.wav";
    other.clips.push_back(c);
    auto id = fx->store->createShow(other, true);
    CHECK(id.ok());
    const model::ShowId firstShow = fx->show->show().id;
    CHECK(fx->show->load().ok());
    const model::ClipId two = fx->show->show().clips[0].id;
    LONGS_EQUAL(202, run(ControlRequest::Kind::go));
    LONGS_EQUAL(two + 1, exec->playhead());
    // And back: the first show's first clip again (the other show's
    // playhead is past every clip of this one).
    CHECK(fx->store->setLoadedShow(firstShow).ok());
    CHECK(fx->show->load().ok());
    LONGS_EQUAL(202, run(ControlRequest::Kind::go));
    LONGS_EQUAL(first + 1, exec->playhead());
}
