#include "web/Api.h"

#include "media/AudioFile.h"

#include "Fixtures.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

using namespace cuebox;
using namespace cuebox::web;
namespace json = boost::json;

namespace {
// Records what would go to the engine and answers like it does.
class RecordingSink : public CommandSink {
public:
    void send(json::object cmd, std::function<void(Result<json::object>)> done) override {
        sent.push_back(cmd);
        if (!up) return done(makeError(Errc::unavailable, "engine", "the audio engine is not running"));
        done(json::object{{"req", 1}, {"ok", true}, {"action", cmd.at("op")}});
    }
    void reload(std::uint64_t revision) override { reloads.push_back(revision); }
    std::vector<json::object> sent;
    std::vector<std::uint64_t> reloads;
    bool up = true;
};
}  // namespace

TEST_GROUP(Api) {
    std::unique_ptr<LoadedShow> fx;
    std::string dir;
    store::Store* store = nullptr;
    ShowService* show = nullptr;
    RecordingSink sink;
    std::unique_ptr<Api> api;
    std::vector<json::object> broadcasts;
    model::ClipId clip = 0;

    void setup() override {
        fx = std::make_unique<LoadedShow>(true);
        dir = fx->dir;
        store = fx->store.get();
        show = fx->show.get();
        clip = show->show().clips[0].id;
        api = std::make_unique<Api>(*show, sink, [this](json::object o) { broadcasts.push_back(o); });
    }
    void teardown() override {
        api.reset();
        fx.reset();
    }
    HttpResponse call(const std::string& method, const std::string& target, const std::string& body = "",
                      const std::string& type = "application/json") {
        HttpResponse out;
        out.status = 0;
        api->handle(HttpRequest{method, target, type, body, "unit test"}, [&](HttpResponse r) { out = std::move(r); });
        CHECK(out.status != 0);  // answered synchronously in these tests
        return out;
    }
    json::object errorOf(const HttpResponse& r) { return json::parse(r.body).as_object().at("error").as_object(); }
};

TEST(Api, showSnapshotHasRevisionShowAndLiveInOneResponse) {
    auto r = call("GET", "/api/show");
    LONGS_EQUAL(200, r.status);
    auto o = json::parse(r.body).as_object();
    LONGS_EQUAL(1, o.at("revision").to_number<std::uint64_t>());
    CHECK(o.contains("show") && o.contains("live"));
    LONGS_EQUAL(8, o.at("show").at("pages").at(0).at("tabs").as_array().size());
    // The media file does not exist: the clip says so.
    STRCMP_EQUAL("missing", o.at("show").at("clips").at(0).at("status").as_string().c_str());
}

TEST(Api, startGoesToTheEngineAndIsAccepted) {
    auto r = call("POST", "/api/clips/" + std::to_string(clip) + "/start");
    LONGS_EQUAL(202, r.status);
    LONGS_EQUAL(1, sink.sent.size());
    STRCMP_EQUAL("start", sink.sent[0].at("op").as_string().c_str());
    LONGS_EQUAL(clip, sink.sent[0].at("clip").to_number<std::uint64_t>());
}

TEST(Api, unknownClipIs404NamingTheIdAndNothingIsSent) {
    auto r = call("POST", "/api/clips/999/start");
    LONGS_EQUAL(404, r.status);
    STRCMP_EQUAL("id", errorOf(r).at("field").as_string().c_str());
    LONGS_EQUAL(0, sink.sent.size());
}

TEST(Api, badIdIs400) {
    LONGS_EQUAL(400, call("POST", "/api/clips/abc/start").status);
    LONGS_EQUAL(400, call("POST", "/api/clips/0/start").status);
}

TEST(Api, malformedJsonIs400AndChangesNothing) {
    const std::string before = call("GET", "/api/show").body;
    auto r = call("PATCH", "/api/clips/" + std::to_string(clip), "{\"label\": ");
    LONGS_EQUAL(400, r.status);
    STRCMP_EQUAL("body", errorOf(r).at("field").as_string().c_str());
    STRCMP_EQUAL(before.c_str(), call("GET", "/api/show").body.c_str());
}

TEST(Api, editIsCommittedThenBroadcastAndTheEngineToldToReload) {
    auto r = call("PATCH", "/api/clips/" + std::to_string(clip), R"({"label":"Rain","fade_out_ms":800})");
    LONGS_EQUAL(200, r.status);
    auto o = json::parse(r.body).as_object();
    LONGS_EQUAL(2, o.at("revision").to_number<std::uint64_t>());
    LONGS_EQUAL(2, *store->revision());
    LONGS_EQUAL(1, broadcasts.size());
    STRCMP_EQUAL("edit", broadcasts[0].at("type").as_string().c_str());
    LONGS_EQUAL(1, sink.reloads.size());
    LONGS_EQUAL(2, sink.reloads[0]);
}

TEST(Api, invalidEditNamesTheFieldAndKeepsTheRevision) {
    auto r = call("PATCH", "/api/clips/" + std::to_string(clip), R"({"fade_in_ms":99999})");
    LONGS_EQUAL(400, r.status);
    STRCMP_EQUAL("fade_in_ms", errorOf(r).at("field").as_string().c_str());
    LONGS_EQUAL(1, *store->revision());
}

TEST(Api, nonJsonBodyIsRefused) {
    auto r = call("POST", "/api/clips/" + std::to_string(clip) + "/start", "at_frame=3", "text/plain");
    LONGS_EQUAL(400, r.status);
    STRCMP_EQUAL("content-type", errorOf(r).at("field").as_string().c_str());
}

TEST(Api, unknownStartArgumentIsRefused) {
    auto r = call("POST", "/api/clips/" + std::to_string(clip) + "/start", R"({"speed":2})");
    LONGS_EQUAL(400, r.status);
    STRCMP_EQUAL("speed", errorOf(r).at("field").as_string().c_str());
}

TEST(Api, engineDownIs503) {
    sink.up = false;
    LONGS_EQUAL(503, call("POST", "/api/panic").status);
}

TEST(Api, wrongMethodIs405AndUnknownPathIs404) {
    LONGS_EQUAL(405, call("DELETE", "/api/show").status);
    LONGS_EQUAL(404, call("GET", "/api/nothing").status);
}

TEST(Api, webSocketToggleIsAckedWithTheAction) {
    json::object reply;
    api->command(json::parse(R"({"cmd":"toggle","clip":)" + std::to_string(clip) + R"(,"req":7})"),
                 [&](json::object o) { reply = o; });
    STRCMP_EQUAL("ack", reply.at("type").as_string().c_str());
    LONGS_EQUAL(7, reply.at("req").as_int64());
    STRCMP_EQUAL("toggle", reply.at("action").as_string().c_str());
}

TEST(Api, webSocketUnknownCommandIsAnError) {
    json::object reply;
    api->command(json::parse(R"({"cmd":"explode","req":8})"), [&](json::object o) { reply = o; });
    STRCMP_EQUAL("error", reply.at("type").as_string().c_str());
    STRCMP_EQUAL("cmd", reply.at("error").at("field").as_string().c_str());
}

TEST(Api, shrinkingAGridKeepsItsCellsHiddenAndGrowingBringsThemBack) {
    // The fixture's clip sits at row 0, col 0 of page 0, tab 0 (a 4x4 grid).
    auto put = call("PUT", "/api/pages/0/tabs/0/cells/3/3", "{\"clip\":" + std::to_string(clip) + "}");
    LONGS_EQUAL(200, put.status);
    LONGS_EQUAL(200, call("PATCH", "/api/pages/0/tabs/0", R"({"rows":2})").status);
    auto o = json::parse(call("GET", "/api/show").body).as_object();
    const auto& tab = o.at("show").at("pages").at(0).at("tabs").at(0).as_object();
    LONGS_EQUAL(2, tab.at("grid").at("rows").as_int64());
    LONGS_EQUAL(4, tab.at("grid").at("prev_rows").as_int64());
    LONGS_EQUAL(2, tab.at("grid").at("layout_version").as_int64());
    CHECK(tab.at("grid").at("resized_at").as_string().size() == 20);
    const auto& cells = tab.at("cells").as_array();
    LONGS_EQUAL(2, cells.size());  // kept
    CHECK(cells[1].as_object().at("hidden").as_bool());
    LONGS_EQUAL(200, call("PATCH", "/api/pages/0/tabs/0", R"({"rows":4})").status);
    auto o2 = json::parse(call("GET", "/api/show").body).as_object();
    CHECK_FALSE(o2.at("show").at("pages").at(0).at("tabs").at(0).at("cells").at(1).as_object().contains("hidden"));
}

TEST(Api, layoutEditsOutsideThePageOrGridAreRefusedAndChangeNothing) {
    const auto before = *store->revision();
    auto r = call("PATCH", "/api/pages/0/tabs/8", R"({"name":"Ninth"})");  // a 9th tab
    LONGS_EQUAL(404, r.status);
    STRCMP_EQUAL("tab", errorOf(r).at("field").as_string().c_str());
    r = call("PUT", "/api/pages/0/tabs/0/cells/4/0", "{\"clip\":" + std::to_string(clip) + "}");  // outside 4x4
    LONGS_EQUAL(400, r.status);
    STRCMP_EQUAL("row", errorOf(r).at("field").as_string().c_str());
    r = call("PUT", "/api/pages/0/tabs/0/cells/1/1", R"({"clip":424242})");
    LONGS_EQUAL(404, r.status);
    STRCMP_EQUAL("clip", errorOf(r).at("field").as_string().c_str());
    r = call("PATCH", "/api/pages/0/tabs/0", R"({"cols":17})");
    LONGS_EQUAL(400, r.status);
    STRCMP_EQUAL("cols", errorOf(r).at("field").as_string().c_str());
    r = call("PATCH", "/api/pages/3", R"({"name":"x"})");
    LONGS_EQUAL(404, r.status);
    STRCMP_EQUAL("page", errorOf(r).at("field").as_string().c_str());
    r = call("PATCH", "/api/show", R"({"view_mode":"triple"})");
    LONGS_EQUAL(400, r.status);
    STRCMP_EQUAL("view_mode", errorOf(r).at("field").as_string().c_str());
    LONGS_EQUAL(before, *store->revision());
}

TEST(Api, aCellCanBeClearedAndTheShowRenamed) {
    LONGS_EQUAL(200, call("PUT", "/api/pages/0/tabs/0/cells/0/0", R"({"clip":null})").status);
    LONGS_EQUAL(200, call("PATCH", "/api/show", R"({"name":"Act 3","view_mode":"dual"})").status);
    auto o = json::parse(call("GET", "/api/show").body).as_object();
    LONGS_EQUAL(0, o.at("show").at("pages").at(0).at("tabs").at(0).at("cells").as_array().size());
    STRCMP_EQUAL("Act 3", o.at("show").at("name").as_string().c_str());
    STRCMP_EQUAL("dual", o.at("show").at("view_mode").as_string().c_str());
    // And it is in the store, not only in the cache.
    web::ShowService fresh(*store, dir);
    CHECK(fresh.load().ok());
    STRCMP_EQUAL("Act 3", fresh.show().name.c_str());
    LONGS_EQUAL(0, fresh.show().cells.size());
}

TEST(Api, undoAndRedoOverHttpAreRecordedWithTheClient) {
    LONGS_EQUAL(200, call("PATCH", "/api/clips/" + std::to_string(clip), R"({"label":"two"})").status);
    auto h = json::parse(call("GET", "/api/history?limit=5").body).as_object();
    STRCMP_EQUAL("unit test", h.at("entries").at(0).at("client").as_string().c_str());
    STRCMP_EQUAL(("clip " + std::to_string(clip) + ": label").c_str(), h.at("entries").at(0).at("what").as_string().c_str());
    CHECK_FALSE(h.at("entries").at(0).at("undone").as_bool());
    call("GET", "/api/show");  // the snapshot cache now holds "two"
    LONGS_EQUAL(200, call("POST", "/api/undo").status);
    STRCMP_EQUAL("one", show->show().findClip(clip)->label.c_str());
    // The reload after undo refreshed exactly what changed in the snapshot.
    auto snap = json::parse(call("GET", "/api/show").body);
    STRCMP_EQUAL("one", snap.at("show").at("clips").at(0).at("label").as_string().c_str());
    LONGS_EQUAL(200, call("POST", "/api/redo").status);
    STRCMP_EQUAL("two", show->show().findClip(clip)->label.c_str());
    auto none = call("POST", "/api/redo");
    LONGS_EQUAL(409, none.status);
    STRCMP_EQUAL("redo", errorOf(none).at("field").as_string().c_str());
    LONGS_EQUAL(405, call("GET", "/api/undo").status);
}

TEST(Api, settingsEditsAreValidatedPerMemberAndNothingChangesOnError) {
    const auto rev = show->revision();
    auto r = call("PATCH", "/api/settings/emergency", R"({"panic_fade_ms": 5000})");
    LONGS_EQUAL(400, r.status);
    STRCMP_EQUAL("emergency.panic_fade_ms", errorOf(r).at("field").as_string().c_str());
    r = call("PATCH", "/api/settings/transport", R"({"tempo_source": "gps"})");
    LONGS_EQUAL(400, r.status);
    r = call("PATCH", "/api/settings/media", R"({"library_path": "../../etc"})");
    LONGS_EQUAL(400, r.status);
    STRCMP_CONTAINS("..", errorOf(r).at("reason").as_string().c_str());
    LONGS_EQUAL(404, call("PATCH", "/api/settings/nosuch", R"({"a": 1})").status);
    LONGS_EQUAL(rev, show->revision());
    r = call("PATCH", "/api/settings/time_division", R"({"beats_per_bar": 3, "quantize": "bar"})");
    LONGS_EQUAL(200, r.status);
    auto snap = json::parse(call("GET", "/api/show").body).as_object();
    LONGS_EQUAL(3, snap.at("show").at("settings").at("time_division").at("beats_per_bar").as_int64());
    CHECK(snap.at("store").at("last_save").as_string().size() > 0);
}

TEST(Api, mappingsNeedAKnownClipAndAValidSource) {
    auto r = call("POST", "/api/mappings", R"({"source":"smoke","address":"/x","action":"start","clip":1})");
    LONGS_EQUAL(400, r.status);
    STRCMP_EQUAL("source", errorOf(r).at("field").as_string().c_str());
    r = call("POST", "/api/mappings", R"({"source":"osc","address":"/x","action":"start","clip":999})");
    LONGS_EQUAL(404, r.status);
    r = call("POST", "/api/mappings", R"({"source":"midi","address":"note_on 1 60","action":"start","clip":1})");
    LONGS_EQUAL(400, r.status);
    STRCMP_EQUAL("address", errorOf(r).at("field").as_string().c_str());
    r = call("POST", "/api/mappings", R"({"source":"midi","address":"note/1/60","action":"master_level"})");
    STRCMP_EQUAL("action", errorOf(r).at("field").as_string().c_str());  // levels follow a CC
    r = call("POST", "/api/mappings", R"({"source":"msc","address":"go/1.5.x","action":"start","clip":1})");
    STRCMP_EQUAL("address", errorOf(r).at("field").as_string().c_str());
    r = call("POST", "/api/mappings", (R"({"source":"midi","address":"note/1/60","action":"toggle","page":0,"tab":2,"clip":)" + std::to_string(clip) + "}").c_str());
    LONGS_EQUAL(201, r.status);
    LONGS_EQUAL(1, show->show().mappings.size());
    LONGS_EQUAL(404, call("DELETE", "/api/mappings/7").status);
    LONGS_EQUAL(200, call("DELETE", "/api/mappings/1").status);
    LONGS_EQUAL(0, show->show().mappings.size());
}

TEST(Api, showsAreCreatedDuplicatedLoadedAndTheLoadedOneIsNotDeleted) {
    auto r = call("POST", "/api/shows", R"({"name":"Act 3"})");
    LONGS_EQUAL(201, r.status);
    const auto act3 = json::parse(r.body).at("id").to_number<std::uint64_t>();
    LONGS_EQUAL(400, call("POST", "/api/shows", R"({"name":""})").status);
    LONGS_EQUAL(400, call("POST", "/api/shows", R"({"name":"x","extra":1})").status);
    LONGS_EQUAL(201, call("POST", "/api/shows/" + std::to_string(show->show().id) + "/duplicate", R"({"name":"copy"})").status);
    LONGS_EQUAL(404, call("POST", "/api/shows/99/load").status);
    LONGS_EQUAL(409, call("DELETE", "/api/shows/" + std::to_string(show->show().id)).status);
    LONGS_EQUAL(200, call("POST", "/api/shows/" + std::to_string(act3) + "/load").status);
    STRCMP_EQUAL("Act 3", show->show().name.c_str());
    auto list = json::parse(call("GET", "/api/shows").body).at("shows").as_array();
    LONGS_EQUAL(3, list.size());
    // The outgoing show was kept as a recovery point of its own, not of Act 3.
    LONGS_EQUAL(0, json::parse(call("GET", "/api/recovery").body).at("points").as_array().size());
}

TEST(Api, cellMovesAndPagesAreCheckedAgainstTheLayout) {
    auto r = call("POST", "/api/cells/move", R"({"from":{"page":0,"tab":0,"row":0,"col":0},"to":{"page":0,"tab":0,"row":9,"col":0}})");
    LONGS_EQUAL(400, r.status);
    r = call("POST", "/api/cells/move", R"({"from":{"page":0,"tab":8,"row":0,"col":0},"to":{"page":0,"tab":0,"row":1,"col":0}})");
    LONGS_EQUAL(400, r.status);
    STRCMP_EQUAL("from.tab", errorOf(r).at("field").as_string().c_str());
    r = call("POST", "/api/cells/move", R"({"from":{"page":0,"tab":0,"row":0,"col":0},"to":{"page":0,"tab":1,"row":1,"col":1}})");
    LONGS_EQUAL(200, r.status);
    LONGS_EQUAL(1, show->show().cells[0].tab);
    LONGS_EQUAL(200, call("POST", "/api/pages", R"({"name":"Page 2"})").status);
    LONGS_EQUAL(2, show->show().pages.size());
    LONGS_EQUAL(404, call("DELETE", "/api/pages/5").status);
    LONGS_EQUAL(404, call("DELETE", "/api/pages/4294967295").status);
    LONGS_EQUAL(200, call("DELETE", "/api/pages/1").status);
    LONGS_EQUAL(409, call("DELETE", "/api/pages/0").status);
}

TEST(Api, theLogExportsAsCsvJsonAndXml) {
    call("PATCH", "/api/clips/" + std::to_string(clip), R"({"label":"a, \"quoted\" <label>"})");
    auto csv = call("GET", "/api/log?format=csv");
    LONGS_EQUAL(200, csv.status);
    STRCMP_CONTAINS("time,kind,source,client,detail,time_source", csv.body.c_str());
    STRCMP_CONTAINS("\"edit\"", csv.body.c_str());
    auto xml = call("GET", "/api/log?format=xml&kind=edit");
    STRCMP_CONTAINS("<entry ", xml.body.c_str());
    auto js = json::parse(call("GET", "/api/log?format=json&limit=1").body).as_object();
    LONGS_EQUAL(1, js.at("entries").as_array().size());
    LONGS_EQUAL(400, call("GET", "/api/log?format=pdf").status);
    LONGS_EQUAL(400, call("GET", "/api/log?limit=abc").status);
}

TEST(Api, aPanicWithoutItsOwnFadeUsesTheShowsPanicFadeSetting) {
    LONGS_EQUAL(202, call("POST", "/api/panic").status);
    LONGS_EQUAL(1000, sink.sent.back().at("fade_ms").to_number<int>());
    LONGS_EQUAL(200, call("PATCH", "/api/settings/emergency", R"({"panic_fade_ms": 2500})").status);
    LONGS_EQUAL(202, call("POST", "/api/panic").status);
    LONGS_EQUAL(2500, sink.sent.back().at("fade_ms").to_number<int>());
    LONGS_EQUAL(202, call("POST", "/api/panic", R"({"fade_ms": 40})").status);
    LONGS_EQUAL(40, sink.sent.back().at("fade_ms").to_number<int>());
}

TEST(Api, platformDataNamesTheSystemAndItsLimits) {
    auto r = call("GET", "/api/platform");
    LONGS_EQUAL(200, r.status);
    auto o = json::parse(r.body).as_object();
    STRCMP_EQUAL("Linux", o.at("os").at("system").as_string().c_str());
    CHECK(o.at("hardware").at("cpus").to_number<int>() >= 1);
    CHECK(o.at("limits").as_object().contains("rtprio"));
    STRCMP_EQUAL("cuebox", o.at("settings").at("box_name").as_string().c_str());
}

TEST(Api, clipsAreAddedFromReadableMediaIntoEmptyCellsAndDeletedWithTheirCells) {
    media::AudioData a;
    a.sampleRate = 48000;
    a.channels = 2;
    a.frames = 4800;
    a.samples.assign(9600, 0.25f);
    std::filesystem::create_directories(dir + "/media");
    CHECK(media::writeWav(dir + "/media/Door slam.wav", a).ok());
    {
        std::ofstream(dir + "/media/notes.wav") << "this is not audio";
    }
    const auto rev = show->revision();
    struct Case {
        const char* body;
        int status;
        const char* field;
    } bad[] = {
        {R"({"file": "../secret.wav"})", 400, "file"},
        {R"({"file": "/etc/passwd"})", 400, "file"},
        {R"({"file": "media/./x.wav"})", 400, "file"},
        {R"({"file": "media/none.wav"})", 400, "file"},
        {R"({"file": "media/notes.wav"})", 400, "file"},
        {R"({"file": "media/Door slam.wav", "cell": {"page": 0, "tab": 0, "row": 0, "col": 0}})", 409, "cell"},
        {R"({"file": "media/Door slam.wav", "cell": {"page": 0, "tab": 0, "row": 9, "col": 0}})", 400, "cell"},
        {R"({"file": "media/Door slam.wav", "cell": {"page": 0, "tab": 9, "row": 0, "col": 0}})", 400, "cell.tab"},
        {R"({"file": "media/Door slam.wav", "volume": 3})", 400, "volume"},
    };
    for (const auto& c : bad) {
        auto r = call("POST", "/api/clips", c.body);
        LONGS_EQUAL_TEXT(c.status, r.status, c.body);
        STRCMP_EQUAL_TEXT(c.field, errorOf(r).at("field").as_string().c_str(), c.body);
    }
    LONGS_EQUAL(rev, show->revision());
    auto r = call("POST", "/api/clips", R"({"file": "media/Door slam.wav", "group": "C", "cell": {"page": 0, "tab": 2, "row": 1, "col": 1}})");
    LONGS_EQUAL(201, r.status);
    auto clipJson = json::parse(r.body).at("clip").as_object();
    const auto added = clipJson.at("id").to_number<model::ClipId>();
    STRCMP_EQUAL("Door slam", clipJson.at("label").as_string().c_str());
    LONGS_EQUAL(2, clipJson.at("channels").to_number<int>());
    LONGS_EQUAL(2, show->show().clips.size());
    LONGS_EQUAL(2, show->show().cells.size());
    LONGS_EQUAL(200, call("DELETE", "/api/clips/" + std::to_string(added)).status);
    STRCMP_EQUAL("stop", sink.sent.back().at("op").as_string().c_str());  // faded out first
    LONGS_EQUAL(1, show->show().clips.size());
    LONGS_EQUAL(1, show->show().cells.size());
    LONGS_EQUAL(404, call("DELETE", "/api/clips/" + std::to_string(added)).status);
    LONGS_EQUAL(200, call("POST", "/api/undo").status);  // the clip and its cell come back
    LONGS_EQUAL(2, show->show().cells.size());
    CHECK(show->show().findClip(added) != nullptr);
}

TEST(Api, aLockedShowRefusesEditsWith423ChangesNothingAndStillPlays) {
    LONGS_EQUAL(400, call("POST", "/api/lock", R"({"pin":"12a4"})").status);  // digits only
    auto r = call("POST", "/api/lock", R"({"pin":"2468"})");
    LONGS_EQUAL(200, r.status);
    CHECK(json::parse(r.body).at("lock").at("locked").as_bool());
    STRCMP_EQUAL("lock", broadcasts.back().at("event").as_string().c_str());
    const auto rev = *store->revision();
    // Edits: refused naming the lock, nothing stored.
    auto e = call("PATCH", "/api/clips/" + std::to_string(clip), R"({"label":"Rain"})");
    LONGS_EQUAL(423, e.status);
    STRCMP_EQUAL("lock", errorOf(e).at("field").as_string().c_str());
    LONGS_EQUAL(423, call("PATCH", "/api/pages/0/tabs/0", R"({"rows":2})").status);
    LONGS_EQUAL(423, call("POST", "/api/undo").status);
    LONGS_EQUAL(423, call("PATCH", "/api/audio", R"({"master_db":-3,"fade_defaults":{}})").status);
    LONGS_EQUAL(423, call("PATCH", "/api/settings/perform", R"({"double_tap_ms":0})").status);
    LONGS_EQUAL(rev, *store->revision());
    // Performing still works: a start, a fader.
    LONGS_EQUAL(202, call("POST", "/api/clips/" + std::to_string(clip) + "/start").status);
    LONGS_EQUAL(200, call("PATCH", "/api/audio", R"({"master_db":-3})").status);
    // The snapshot says it is locked; uploads are refused before their body is read.
    CHECK(json::parse(call("GET", "/api/show").body).at("lock").at("locked").as_bool());
    CHECK(!api->uploadAllowed().ok());
    LONGS_EQUAL(423, httpStatus(api->uploadAllowed().error().code));
}

TEST(Api, onlyTheRightPinUnlocksAndFiveWrongOnesHoldOffFurtherTries) {
    LONGS_EQUAL(200, call("POST", "/api/lock", R"({"pin":"2468"})").status);
    LONGS_EQUAL(409, call("POST", "/api/lock", R"({"pin":"1111"})").status);  // already locked
    for (int i = 0; i < 5; ++i) {
        auto r = call("POST", "/api/unlock", R"({"pin":"1357"})");
        LONGS_EQUAL(403, r.status);
        STRCMP_EQUAL("pin", errorOf(r).at("field").as_string().c_str());
    }
    // Held off now, even with the right PIN.
    LONGS_EQUAL(409, call("POST", "/api/unlock", R"({"pin":"2468"})").status);
    CHECK(show->lock().locked());
}

TEST(Api, theLockSurvivesARestartOfTheWebProcessAndTheRightPinUnlocks) {
    LONGS_EQUAL(200, call("POST", "/api/lock", R"({"pin":"2468"})").status);
    // A new ShowService over the same store (cuebox-web restarted).
    ShowService again(*store, dir);
    CHECK(again.load().ok());
    CHECK(again.lock().locked());
    CHECK(again.lock().unlock("2468", store::Origin{"unit test", ""}).ok());
    ShowService third(*store, dir);
    CHECK(third.load().ok());
    CHECK(!third.lock().locked());
    // And the log has who locked and unlocked.
    auto log = store->readLog(0, ~0ull, 100);
    int lockEntries = 0;
    for (const auto& l : *log) lockEntries += l.kind == "lock";
    LONGS_EQUAL(2, lockEntries);
}
