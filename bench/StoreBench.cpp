// Server-side cost of the show API on a big show (issue 4's budgets): a show
// of 8 pages x 8 tabs x 8x8 cells = 4096 clips in a real LMDB environment on
// disk, driven through the API layer exactly as HTTP requests are (routing,
// store, JSON serialisation; no sockets).
//   - start-up load of the show
//   - GET /api/show (budget < 20 ms) and GET /api/show/stats (< 5 ms)
//   - PATCH /api/clips/{id}: p50/p99 including the synced commit (< 5 ms)
//   - side by side, the seed's anti-pattern: the same information one item
//     per request (4096 x GET /api/clips/{id})
#include "web/Api.h"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

using namespace cuebox;
using Clock = std::chrono::steady_clock;

namespace {
class NullEngine : public web::CommandSink {
public:
    void send(boost::json::object, std::function<void(Result<boost::json::object>)> done) override {
        done(boost::json::object{{"ok", true}});
    }
    void reload(std::uint64_t) override {}
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double pct(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

web::HttpResponse call(web::Api& api, const std::string& method, const std::string& target, const std::string& body = "") {
    web::HttpResponse out;
    api.handle(web::HttpRequest{method, target, "application/json", body, "bench"}, [&](web::HttpResponse r) { out = std::move(r); });
    return out;
}
}  // namespace

// store_bench [--make DIR]: with --make, only writes the big show into DIR
// (for the HTTP comparison in bench/snapshot_http.py) and exits.
int main(int argc, char** argv) {
    const bool makeOnly = argc > 2 && std::string(argv[1]) == "--make";
    char tmpl[] = "/tmp/cuebox-storebench-XXXXXX";
    const std::string dir = makeOnly ? std::string(argv[2]) : std::string(mkdtemp(tmpl));
    {
        auto st = store::Store::open(store::Options{dir + "/store"});
        if (!st) return std::fprintf(stderr, "%s\n", st.error().reason.c_str()), 1;
        model::Show s;
        s.name = "Big show";
        for (int p = 0; p < 8; ++p) {
            s.pages.push_back(model::makePage("Page " + std::to_string(p + 1)));
            for (auto& t : s.pages.back().tabs) t.grid.rows = t.grid.cols = t.grid.prevRows = t.grid.prevCols = 8;
        }
        for (int p = 0; p < 8; ++p)
            for (int t = 0; t < 8; ++t)
                for (int r = 0; r < 8; ++r)
                    for (int c = 0; c < 8; ++c) {
                        model::Clip clip;
                        clip.label = "Cue " + std::to_string(p + 1) + "." + std::to_string(t + 1) + "." + std::to_string(r * 8 + c + 1);
                        clip.file = "media/cue_" + std::to_string(s.clips.size()) + ".wav";
                        clip.group = static_cast<char>('A' + (r % 4));
                        clip.durationS = 3.5 + (c % 7);
                        clip.channels = 2;
                        s.cells.push_back(model::Cell{p, t, r, c, s.clips.size()});
                        s.clips.push_back(clip);
                    }
        if (auto id = (*st)->createShow(std::move(s), true); !id) return 1;
    }
    if (makeOnly) return 0;

    auto t0 = Clock::now();
    auto st = store::Store::open(store::Options{dir + "/store"});
    web::ShowService show(**st, dir);
    if (!show.load()) return 1;
    const double loadMs = ms(Clock::now() - t0);
    NullEngine engine;
    web::Api api(show, engine, [](boost::json::object) {});

    std::vector<double> snap, stats, edit, snapAfterEdit;
    std::size_t snapBytes = 0;
    for (int i = 0; i < 50; ++i) {
        auto a = Clock::now();
        auto r = call(api, "GET", "/api/show");
        snap.push_back(ms(Clock::now() - a));
        snapBytes = r.body.size();
        a = Clock::now();
        call(api, "GET", "/api/show/stats");
        stats.push_back(ms(Clock::now() - a));
    }
    const auto& clips = show.show().clips;
    for (int i = 0; i < 300; ++i) {
        const auto id = clips[static_cast<std::size_t>(i * 13) % clips.size()].id;
        auto a = Clock::now();
        auto r = call(api, "PATCH", "/api/clips/" + std::to_string(id), R"({"level_db":)" + std::to_string(-(i % 30)) + "}");
        edit.push_back(ms(Clock::now() - a));
        if (r.status != 200) return std::fprintf(stderr, "edit failed: %s\n", r.body.c_str()), 1;
        if (i % 10 == 0) {
            a = Clock::now();
            call(api, "GET", "/api/show");
            snapAfterEdit.push_back(ms(Clock::now() - a));
        }
    }
    auto a = Clock::now();
    for (const auto& c : clips) call(api, "GET", "/api/clips/" + std::to_string(c.id));
    const double perItem = ms(Clock::now() - a);

    // Undo/redo of single edits, each a synced transaction plus a reload.
    std::vector<double> undo;
    for (int i = 0; i < 50; ++i) {
        auto b = Clock::now();
        auto r = call(api, "POST", i % 2 ? "/api/redo" : "/api/undo");
        undo.push_back(ms(Clock::now() - b));
        if (r.status != 200) return std::fprintf(stderr, "undo failed: %s\n", r.body.c_str()), 1;
    }
    // Recovery point of the whole show, and its restore (an undoable edit).
    a = Clock::now();
    auto point = call(api, "POST", "/api/recovery", R"({"name":"bench"})");
    const double pointMs = ms(Clock::now() - a);
    const auto pointId = boost::json::parse(point.body).at("id").to_number<std::uint64_t>();
    call(api, "PATCH", "/api/clips/" + std::to_string(clips[0].id), R"({"label":"changed"})");
    a = Clock::now();
    auto restored = call(api, "POST", "/api/recovery/" + std::to_string(pointId) + "/restore");
    const double restoreMs = ms(Clock::now() - a);
    if (restored.status != 200) return std::fprintf(stderr, "restore failed: %s\n", restored.body.c_str()), 1;
    // A compact backup with its checksum manifest, and its validation.
    a = Clock::now();
    auto backup = call(api, "POST", "/api/backups");
    const double backupMs = ms(Clock::now() - a);
    const auto backupBytes = boost::json::parse(backup.body).at("bytes").to_number<std::uint64_t>();
    a = Clock::now();
    call(api, "GET", "/api/backups");
    const double validateMs = ms(Clock::now() - a);
    const std::string backupName(boost::json::parse(backup.body).at("name").as_string());
    a = Clock::now();
    auto restoredBackup = call(api, "POST", "/api/backups/" + backupName + "/restore");
    const double restoreBackupMs = ms(Clock::now() - a);
    if (restoredBackup.status != 200) return std::fprintf(stderr, "backup restore failed: %s\n", restoredBackup.body.c_str()), 1;
    a = Clock::now();
    auto found = call(api, "GET", "/api/search?q=cue%203.4");
    const double searchMs = ms(Clock::now() - a);

    std::printf("show: 8 pages x 8 tabs x 8x8 cells = %zu clips, LMDB on disk (%s)\n", clips.size(), dir.c_str());
    std::printf("start-up load of the show, snapshot cache warmed: %.1f ms\n", loadMs);
    std::printf("GET /api/show server time: p50 %.2f ms, max %.2f ms, %zu bytes (budget: under 20 ms)\n", pct(snap, 0.5),
                pct(snap, 1.0), snapBytes);
    std::printf("GET /api/show right after an edit (one clip re-serialised): p50 %.2f ms, max %.2f ms\n", pct(snapAfterEdit, 0.5),
                pct(snapAfterEdit, 1.0));
    std::printf("GET /api/show/stats server time: p50 %.3f ms, max %.3f ms (budget: under 5 ms)\n", pct(stats, 0.5), pct(stats, 1.0));
    std::printf("PATCH /api/clips/{id} incl. synced commit: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %zu edits (budget: p99 under 5 ms)\n",
                pct(edit, 0.5), pct(edit, 0.99), pct(edit, 1.0), edit.size());
    std::printf("the same show one clip per request (4096 x GET /api/clips/{id}): %.1f ms server time alone, before 4096 "
                "network round trips (vs %.2f ms for one GET /api/show)\n",
                perItem, pct(snap, 0.5));
    std::printf("POST /api/undo and /api/redo (synced, show reloaded): p50 %.2f ms, max %.2f ms over %zu\n", pct(undo, 0.5),
                pct(undo, 1.0), undo.size());
    std::printf("recovery point of the whole show: %.1f ms; restoring it (one undoable transaction): %.1f ms\n", pointMs,
                restoreMs);
    std::printf("compact backup with checksum manifest: %.1f ms, %llu bytes; listing and validating it: %.1f ms\n", backupMs,
                static_cast<unsigned long long>(backupBytes), validateMs);
    std::printf("restoring that backup (validated, one transaction, show reloaded): %.1f ms\n", restoreBackupMs);
    std::printf("GET /api/search?q=cue 3.4 (prefix index): %.2f ms, %zu bytes\n", searchMs, found.body.size());
    std::filesystem::remove_all(dir);
    return 0;
}
