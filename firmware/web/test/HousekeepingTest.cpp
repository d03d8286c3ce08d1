#include "web/Housekeeping.h"

#include "store/Backup.h"

#include "Fixtures.h"

#include <CppUTest/TestHarness.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace cuebox;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

TEST_GROUP(Housekeeping) {
    std::unique_ptr<LoadedShow> fx;
    std::string dir;
    store::Store* st = nullptr;
    web::ShowService* show = nullptr;
    boost::asio::io_context io;
    void setup() override {
        fx = std::make_unique<LoadedShow>(false);
        dir = fx->dir;
        st = fx->store.get();
        show = fx->show.get();
    }
    void teardown() override { fx.reset(); }
    void set(const char* section, const char* body) { CHECK(show->editSettings(section, json::parse(body)).ok()); }
};

TEST(Housekeeping, logsAreAutoExportedOnScheduleAndOnlyNewEntriesEachTime) {
    set("logging", R"({"auto_export_minutes": 5, "auto_export_format": "csv", "auto_export_path": "exports/log"})");
    web::Housekeeping h(io, *show);
    h.log(store::LogEntry{0, 0, "trigger", "engine", "", "clip 1 'Thunder' started", ""});
    h.flush();
    const auto t0 = std::chrono::steady_clock::now();
    h.tick(t0 + 1min);  // not due yet
    CHECK_FALSE(fs::exists(dir + "/exports/log"));
    h.tick(t0 + 6min);
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir + "/exports/log"))
        if (e.path().filename().string()[0] != '.') files.push_back(e.path());
    LONGS_EQUAL(1, files.size());
    std::stringstream ss;
    ss << std::ifstream(files[0]).rdbuf();
    STRCMP_CONTAINS("\"clip 1 'Thunder' started\"", ss.str().c_str());
    h.log(store::LogEntry{0, 0, "stop", "engine", "", "clip 1 'Thunder' stopped", ""});
    h.flush();
    h.tick(t0 + 12min);
    files.clear();
    for (const auto& e : fs::directory_iterator(dir + "/exports/log"))
        if (e.path().filename().string()[0] != '.') files.push_back(e.path());
    LONGS_EQUAL(2, files.size());
    std::sort(files.begin(), files.end());
    // A restart (a new housekeeper) exports only what came since.
    {
        web::Housekeeping again(io, *show);
        again.tick(std::chrono::steady_clock::now() + 6min);
        std::size_t n = 0;
        for (const auto& e : fs::directory_iterator(dir + "/exports/log")) n += e.path().filename().string()[0] != '.';
        LONGS_EQUAL(2, n);
    }
    std::stringstream second;
    second << std::ifstream(files[1]).rdbuf();
    STRCMP_CONTAINS("stopped", second.str().c_str());
    CHECK(second.str().find("started") == std::string::npos);
}

TEST(Housekeeping, aClockThatSteppedBackDoesNotHideNewEntriesFromTheExport) {
    set("logging", R"({"auto_export_minutes": 1, "auto_export_path": "exports/log"})");
    fs::create_directories(dir + "/exports/log");
    // The last export happened "in the future" (the clock ran ahead then).
    std::ofstream(dir + "/exports/log/.exported-up-to") << "9999999999000000000 0\n";
    web::Housekeeping h(io, *show);
    h.log(store::LogEntry{0, 0, "trigger", "engine", "", "after the clock stepped back", ""});
    h.flush();
    h.tick(std::chrono::steady_clock::now() + 2min);
    std::string all;
    for (const auto& e : fs::directory_iterator(dir + "/exports/log"))
        if (e.path().filename().string()[0] != '.') {
            std::stringstream ss;
            ss << std::ifstream(e.path()).rdbuf();
            all += ss.str();
        }
    STRCMP_CONTAINS("after the clock stepped back", all.c_str());
}

TEST(Housekeeping, anAutomaticRecoveryPointIsTakenOnlyWhileTheShowIsEdited) {
    set("recovery", R"({"auto_minutes": 10, "keep_auto": 2})");
    web::Housekeeping h(io, *show);
    const auto t0 = std::chrono::steady_clock::now();
    h.tick(t0 + 11min);  // edited (the settings edit above): a point
    LONGS_EQUAL(1, st->recoveryPoints(show->show().id)->size());
    h.tick(t0 + 22min);  // nothing edited since: none
    LONGS_EQUAL(1, st->recoveryPoints(show->show().id)->size());
    set("platform", R"({"box_name": "stage left"})");
    h.tick(t0 + 33min);
    auto points = st->recoveryPoints(show->show().id);
    LONGS_EQUAL(2, points->size());
    STRCMP_EQUAL("auto", points->at(0).kind.c_str());
}

TEST(Housekeeping, engineEventsAndLoadChangesBecomeLogEntries) {
    web::Housekeeping h(io, *show);
    h.engineEvent(json::object{{"event", "xrun"}, {"count", 3}});
    h.engineLive(json::parse(R"({"voices": {"load_state": "critical"}})").as_object());
    h.engineLive(json::parse(R"({"voices": {"load_state": "critical"}})").as_object());
    h.flush();
    auto log = st->readLog(0, UINT64_MAX, 100);
    int faults = 0;
    for (const auto& e : *log) faults += e.kind == "fault";
    LONGS_EQUAL(2, faults);  // the xrun and one state change
}

TEST(Housekeeping, aBackupIsTakenOnScheduleWhenTheStoreChanged) {
    set("recovery", R"({"backup_every_hours": 6, "backup_keep": 3, "auto_minutes": 0})");
    web::Housekeeping h(io, *show);
    const auto t0 = std::chrono::steady_clock::now();
    h.tick(t0 + 1h);
    CHECK_FALSE(fs::exists(dir + "/backups"));
    h.tick(t0 + 7h);
    LONGS_EQUAL(1, store::listBackups(dir + "/backups").size());
    CHECK(store::listBackups(dir + "/backups")[0].valid);
    h.tick(t0 + 14h);  // nothing changed since: no new backup
    LONGS_EQUAL(1, store::listBackups(dir + "/backups").size());
}

TEST(Housekeeping, aDamagedBackupIsReportedAsAFaultAtStart) {
    auto b = store::createBackup(*st, dir + "/backups", "test", 5);
    CHECK(b.ok());
    fs::resize_file(b->path + "/data.mdb", b->bytes / 2);
    web::Housekeeping h(io, *show);
    h.start();  // the check runs on its own thread and reports back here
    for (int i = 0; i < 50; ++i) {
        io.run_for(100ms);
        h.flush();
        auto log = st->readLog(0, UINT64_MAX, 100);
        for (const auto& e : *log)
            if (e.kind == "fault" && e.detail.find(b->name) != std::string::npos) {
                STRCMP_CONTAINS("truncated", e.detail.c_str());
                return;
            }
    }
    FAIL("no fault for the damaged backup in the log");
}
