// Change history and undo/redo, recovery points, backups, migrations, the
// event log, search, shows management and the newer layout edits.
#include "store/Backup.h"
#include "store/Store.h"

#include "Fixtures.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>
#include <lmdb.h>

#include <filesystem>
#include <fstream>

using namespace cuebox;
using namespace cuebox::model;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {
ClipPatch patch(const char* text) { return *parseClipPatch(json::parse(text)); }
std::string label(store::Store& s, ShowId id, ClipId clip) { return s.loadShow(id)->findClip(clip)->label; }

// Makes the store at `dir` look written by firmware of format `version`:
// its format version rewritten and the tables in `drop` removed.
void rewriteFormat(const std::string& dir, std::uint8_t version, std::initializer_list<const char*> drop) {
    MDB_env* env = nullptr;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 24);
    LONGS_EQUAL(0, mdb_env_open(env, dir.c_str(), 0, 0660));
    MDB_txn* t = nullptr;
    mdb_txn_begin(env, nullptr, 0, &t);
    for (const char* name : drop) {
        MDB_dbi dbi;
        mdb_dbi_open(t, name, 0, &dbi);
        mdb_drop(t, dbi, 1);
    }
    MDB_dbi meta;
    mdb_dbi_open(t, "meta", 0, &meta);
    std::string v(8, '\0');
    v[7] = static_cast<char>(version);
    MDB_val k{14, const_cast<char*>("format_version")}, val{8, v.data()};
    mdb_put(t, meta, &k, &val, 0);
    LONGS_EQUAL(0, mdb_txn_commit(t));
    mdb_env_close(env);
}
}  // namespace

TEST_GROUP(History) {
    StoreDir d;
    std::unique_ptr<store::Store> s;
    ShowId id = 0;
    ClipId clip = 0;
    void setup() override {
        s = d.open();
        id = *s->createShow(twoClipShow(), true);
        clip = s->loadShow(id)->clips[0].id;
    }
    void teardown() override { s.reset(); }
};

TEST(History, undoAndRedoWorkAcrossARestart) {
    CHECK(s->updateClip(id, clip, patch(R"({"label":"one"})"), {"tablet 1", "label one"}).ok());
    CHECK(s->updateClip(id, clip, patch(R"({"label":"two"})"), {"tablet 2", "label two"}).ok());
    s.reset();
    s = d.open();
    auto h = s->history(id, 10);
    CHECK(h.ok());
    // one, two (newest first), with who and what; the show's creation is
    // not an undoable entry.
    LONGS_EQUAL(2, h->size());
    STRCMP_EQUAL("tablet 2", (*h)[0].client.c_str());
    STRCMP_EQUAL("label two", (*h)[0].what.c_str());
    CHECK_FALSE((*h)[0].undone);
    const auto rev = *s->revision();
    auto u = s->undo(id, {"tablet 1", ""});
    CHECK(u.ok());
    CHECK(*u > rev);
    STRCMP_EQUAL("one", label(*s, id, clip).c_str());
    s.reset();
    s = d.open();
    CHECK(s->history(id, 10)->at(0).undone);
    CHECK(s->undo(id).ok());
    STRCMP_EQUAL("clip 0", label(*s, id, clip).c_str());
    // Nothing before the show's creation: the show stays.
    CHECK(s->undo(id).error().code == Errc::conflict);
    CHECK(s->loadShow(id).ok());
    CHECK(s->redo(id).ok());
    CHECK(s->redo(id).ok());
    STRCMP_EQUAL("two", label(*s, id, clip).c_str());
    auto none = s->redo(id);
    CHECK_FALSE(none.ok());
    CHECK(none.error().code == Errc::conflict);
}

TEST(History, aNewEditAfterUndoDropsTheRedoBranch) {
    CHECK(s->updateClip(id, clip, patch(R"({"label":"one"})")).ok());
    CHECK(s->undo(id).ok());
    CHECK(s->updateClip(id, clip, patch(R"({"label":"other"})")).ok());
    CHECK_FALSE(s->redo(id).ok());
    CHECK(s->undo(id).ok());
    STRCMP_EQUAL("clip 0", label(*s, id, clip).c_str());
}

TEST(History, undoRestoresTheSearchIndexAndLayoutEditsToo) {
    CHECK(s->updateClip(id, clip, patch(R"({"label":"Thunder roll"})")).ok());
    LONGS_EQUAL(1, s->search(id, "thun", 10)->size());
    LONGS_EQUAL(1, s->search(id, "clip", 10)->size());  // the other clip
    CHECK(s->undo(id).ok());
    LONGS_EQUAL(0, s->search(id, "thun", 10)->size());
    Cell from{0, 0, 0, 0, 0}, to{0, 3, 1, 2, 0};
    CHECK(s->moveCell(id, from, to).ok());  // occupied target: swap
    auto show = s->loadShow(id);
    LONGS_EQUAL(2, show->cells.size());
    LONGS_EQUAL(show->clips[1].id, show->cells[0].clip);
    CHECK(s->undo(id).ok());
    LONGS_EQUAL(show->clips[0].id, s->loadShow(id)->cells[0].clip);
}

TEST(History, deletingAPageMovesLaterPagesUpAndUndoBringsItBack) {
    CHECK(s->addPage(id, makePage("Page 2")).ok());
    CHECK(s->addPage(id, makePage("Page 3")).ok());
    CHECK(s->setCell(id, 2, 1, 0, 0, clip).ok());
    CHECK(s->deletePage(id, 1).ok());
    auto show = s->loadShow(id);
    LONGS_EQUAL(2, show->pages.size());
    STRCMP_EQUAL("Page 3", show->pages[1].name.c_str());
    CHECK(std::any_of(show->cells.begin(), show->cells.end(), [](const Cell& c) { return c.page == 1 && c.tab == 1; }));
    CHECK(s->undo(id).ok());
    show = s->loadShow(id);
    LONGS_EQUAL(3, show->pages.size());
    STRCMP_EQUAL("Page 2", show->pages[1].name.c_str());
    CHECK(s->deletePage(id, 0).ok());
    CHECK(s->deletePage(id, 0).ok());
    auto last = s->deletePage(id, 0);
    CHECK(last.error().code == Errc::conflict);
    CHECK(s->deletePage(id, 9).error().code == Errc::not_found);
    CHECK(s->deletePage(id, -1).error().code == Errc::not_found);
    CHECK(s->loadShow(id).ok());
}

TEST(History, settingsAndMappingsAreStoredPerShow) {
    json::object t = s->loadShow(id)->settings.at("transport");
    DOUBLES_EQUAL(120.0, t.at("tempo_bpm").as_double(), 0);
    CHECK(patchSection("transport", t, json::parse(R"({"tempo_bpm": 96.5})")).ok());
    CHECK(s->updateSettings(id, "transport", t).ok());
    auto bad = patchSection("transport", t, json::parse(R"({"tempo_bpm": 900})"));
    CHECK_FALSE(bad.ok());
    STRCMP_EQUAL("transport.tempo_bpm", bad.error().field.c_str());
    auto m = parseMapping(json::parse(R"({"source":"osc","address":"/go/1","action":"toggle","clip":1})"));
    CHECK(m.ok());
    auto put = s->putMapping(id, 0, *m);
    CHECK(put.ok());
    LONGS_EQUAL(1, put->first);
    s.reset();
    s = d.open();
    auto show = s->loadShow(id);
    DOUBLES_EQUAL(96.5, show->settings.at("transport").at("tempo_bpm").as_double(), 0);
    LONGS_EQUAL(1, show->mappings.size());
    CHECK(s->deleteMapping(id, 1).ok());
    CHECK(s->deleteMapping(id, 1).error().code == Errc::not_found);
}

TEST(History, showsCanBeDuplicatedListedAndDeletedButNotTheLoadedOne) {
    auto copy = s->duplicateShow(id, "Act 2 (matinee)");
    CHECK(copy.ok());
    auto shows = s->listShows();
    LONGS_EQUAL(2, shows->size());
    CHECK((*shows)[0].loaded);
    STRCMP_EQUAL("Act 2 (matinee)", (*shows)[1].name.c_str());
    LONGS_EQUAL(2, (*shows)[1].clips);
    // The copy is independent and searchable.
    CHECK(s->updateClip(*copy, clip, patch(R"({"label":"matinee only"})")).ok());
    STRCMP_EQUAL("clip 0", label(*s, id, clip).c_str());
    LONGS_EQUAL(1, s->search(*copy, "matinee", 5)->size());
    CHECK(s->deleteShow(id).error().code == Errc::conflict);
    CHECK(s->setLoadedShow(*copy).ok());
    // Loading another show kept the outgoing one as a recovery point.
    LONGS_EQUAL(1, s->recoveryPoints(id)->size());
    STRCMP_EQUAL("before_load", s->recoveryPoints(id)->at(0).kind.c_str());
    CHECK(s->deleteShow(id).ok());
    LONGS_EQUAL(1, s->listShows()->size());
    CHECK(s->loadShow(id).error().code == Errc::not_found);
}

TEST(History, aRecoveryPointRestoresTheShowAndTheRestoreCanBeUndone) {
    CHECK(s->updateClip(id, clip, patch(R"({"label":"before"})")).ok());
    auto p = s->createRecoveryPoint(id, "half hour call", "named");
    CHECK(p.ok());
    CHECK(s->updateClip(id, clip, patch(R"({"label":"after"})")).ok());
    CHECK(s->setCell(id, 0, 0, 0, 0, std::nullopt).ok());
    CHECK(s->restoreRecoveryPoint(id, p->id).ok());
    STRCMP_EQUAL("before", label(*s, id, clip).c_str());
    LONGS_EQUAL(2, s->loadShow(id)->cells.size());
    LONGS_EQUAL(1, s->search(id, "before", 5)->size());
    LONGS_EQUAL(0, s->search(id, "after", 5)->size());
    CHECK(s->undo(id).ok());
    STRCMP_EQUAL("after", label(*s, id, clip).c_str());
    LONGS_EQUAL(1, s->loadShow(id)->cells.size());
    CHECK(s->restoreRecoveryPoint(id, 999).error().code == Errc::not_found);
    // Automatic points rotate, each kind on its own; named ones stay.
    for (int i = 0; i < 5; ++i) CHECK(s->createRecoveryPoint(id, "auto", "auto", 3).ok());
    CHECK(s->createRecoveryPoint(id, "load", "before_load", 1).ok());
    CHECK(s->createRecoveryPoint(id, "load", "before_load", 1).ok());
    auto all = s->recoveryPoints(id);
    LONGS_EQUAL(5, all->size());
    LONGS_EQUAL(1, std::count_if(all->begin(), all->end(), [](auto& r) { return r.kind == "named"; }));
    LONGS_EQUAL(3, std::count_if(all->begin(), all->end(), [](auto& r) { return r.kind == "auto"; }));
}

TEST(History, restoringABackupKeepsTheBoxsShowLockNotTheBackups) {
    const std::string root = d.dir + "/bk";
    // A backup taken while locked, restored after unlocking: still unlocked.
    CHECK(s->putLockRecord(R"({"locked":true,"hash":"h1"})", "locked").ok());
    auto locked = store::createBackup(*s, root, "locked", 10);
    CHECK(locked.ok());
    CHECK(s->putLockRecord(R"({"locked":false})", "unlocked").ok());
    CHECK(store::restoreBackup(*s, root, locked->name, {}).ok());
    STRCMP_EQUAL(R"({"locked":false})", s->lockRecord()->c_str());
    // A backup with no lock restored while locked: still locked.
    CHECK(s->putLockRecord("", "cleared").ok());
    auto none = store::createBackup(*s, root, "none", 10);
    CHECK(s->putLockRecord(R"({"locked":true,"hash":"h2"})", "locked").ok());
    CHECK(store::restoreBackup(*s, root, none->name, {}).ok());
    STRCMP_EQUAL(R"({"locked":true,"hash":"h2"})", s->lockRecord()->c_str());
}

TEST(History, aBackupWithAFlippedByteOrTruncatedIsRefusedAndAGoodOneRestores) {
    CHECK(s->updateClip(id, clip, patch(R"({"label":"backed up"})")).ok());
    const std::string root = d.dir + "/bk";
    auto b = store::createBackup(*s, root, "test", 10);
    CHECK(b.ok());
    CHECK(store::inspectBackup(b->path).valid);
    CHECK(s->updateClip(id, clip, patch(R"({"label":"later"})")).ok());
    auto r = store::restoreBackup(*s, root, b->name, {});
    CHECK_TEXT(r.ok(), r.ok() ? "" : r.error().reason.c_str());
    STRCMP_EQUAL("backed up", label(*s, id, clip).c_str());
    // A flipped byte in the middle of the copy.
    auto c = store::createBackup(*s, root, "to damage", 10);
    {
        std::fstream f(c->path + "/data.mdb", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(c->bytes / 2));
        char x = 0;
        f.seekg(static_cast<std::streamoff>(c->bytes / 2));
        f.get(x);
        f.seekp(static_cast<std::streamoff>(c->bytes / 2));
        f.put(static_cast<char>(x ^ 0x01));
    }
    auto bad = store::inspectBackup(c->path);
    CHECK_FALSE(bad.valid);
    STRCMP_CONTAINS("checksum", bad.problem.c_str());
    CHECK(s->updateClip(id, clip, patch(R"({"label":"kept"})")).ok());
    auto refused = store::restoreBackup(*s, root, c->name, {});
    CHECK_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::conflict);
    STRCMP_EQUAL("kept", label(*s, id, clip).c_str());
    // Truncated.
    fs::resize_file(b->path + "/data.mdb", b->bytes - 4096);
    STRCMP_CONTAINS("truncated", store::inspectBackup(b->path).problem.c_str());
    CHECK_FALSE(store::restoreBackup(*s, root, b->name, {}).ok());
    CHECK_FALSE(store::restoreBackup(*s, root, "../store", {}).ok());
    // A manifest with nonsense numbers is damaged, not a crash.
    {
        std::ofstream(c->path + "/manifest.json") << R"({"format":"cuebox-backup","revision":1.5,"store_format":-2,"files":[{"path":"data.mdb","bytes":1e30,"sha256":"x"}]})";
    }
    CHECK_FALSE(store::inspectBackup(c->path).valid);
    // Rotation keeps the newest N backups, and touches nothing else in the
    // location (a USB stick may hold other folders, even ones named alike).
    fs::create_directories(root + "/2019 tour");
    fs::create_directories(root + "/00000000T000000000Z-r1");
    for (int i = 0; i < 4; ++i) CHECK(store::createBackup(*s, root, "rot", 3).ok());
    LONGS_EQUAL(3, store::listBackups(root).size() - 1);  // the look-alike is listed (damaged), not removed
    CHECK(fs::exists(root + "/2019 tour"));
    CHECK(fs::exists(root + "/00000000T000000000Z-r1"));
}

TEST(History, theEventLogKeepsEditsAndEntriesAndIsPrunedBySize) {
    std::vector<store::LogEntry> es;
    const std::string pad(100, '.');
    for (int i = 0; i < 3000; ++i)
        es.push_back(store::LogEntry{0, 0, "trigger", "engine", "", "clip " + std::to_string(i) + " " + pad, ""});
    CHECK(s->appendLog(es).ok());
    auto all = s->readLog(0, UINT64_MAX, 10000);
    CHECK(all->size() >= 3001);  // the show's creation (an edit line) and the 3000
    STRCMP_EQUAL("edit", all->at(0).kind.c_str());
    STRCMP_CONTAINS("clip 2999 ", all->back().detail.c_str());
    CHECK(all->front().timeNs <= all->back().timeNs);
    CHECK(*s->pruneLog(86400, 4000000) == 0);  // within age and size: nothing goes
    auto dropped = s->pruneLog(86400, 64 * 1024);
    CHECK(*dropped > 0);
    auto left = s->readLog(0, UINT64_MAX, 10000);
    CHECK(left->size() < all->size() && !left->empty());
    CHECK(left->size() * 150 < 64 * 1024 * 2);  // roughly the 64 KiB asked for
    STRCMP_CONTAINS("clip 2999 ", left->back().detail.c_str());  // the newest stay
    CHECK(*s->pruneLog(0, 4000000) > 0);  // by age: everything older than now
    LONGS_EQUAL(0, s->readLog(0, UINT64_MAX, 10).value().size());
}

TEST(History, theNewestLogEntriesComeFirstAndAKindIsFilteredBeforeTheLimit) {
    std::vector<store::LogEntry> es;
    for (int i = 0; i < 500; ++i) es.push_back(store::LogEntry{0, 0, "trigger", "engine", "", "t" + std::to_string(i), ""});
    es.push_back(store::LogEntry{0, 0, "fault", "engine", "", "the only fault", ""});
    for (int i = 500; i < 1000; ++i) es.push_back(store::LogEntry{0, 0, "trigger", "engine", "", "t" + std::to_string(i), ""});
    CHECK(s->appendLog(es).ok());
    auto newest = s->readLog(0, UINT64_MAX, 3, true, "");
    LONGS_EQUAL(3, newest->size());
    STRCMP_EQUAL("t999", newest->at(0).detail.c_str());
    STRCMP_EQUAL("t997", newest->at(2).detail.c_str());
    // The one fault, found though 500 newer entries come after it.
    auto faults = s->readLog(0, UINT64_MAX, 10, true, "fault");
    LONGS_EQUAL(1, faults->size());
    STRCMP_EQUAL("the only fault", faults->at(0).detail.c_str());
    // Up to a time: nothing after it.
    auto upTo = s->readLog(0, faults->at(0).timeNs, 1, true, "trigger");
    LONGS_EQUAL(1, upTo->size());
    CHECK(upTo->at(0).timeNs <= faults->at(0).timeNs);
    // Oldest first with a kind: the first trigger.
    auto oldest = s->readLog(0, UINT64_MAX, 1, false, "trigger");
    STRCMP_EQUAL("t0", oldest->at(0).detail.c_str());
}

// A store written by firmware format 1 (before history and search).
TEST(History, aFormat1StoreIsMigratedAfterABackupInOneTransaction) {
    const auto before = *s->revision();
    s.reset();
    rewriteFormat(d.dir + "/store", 1, {"settings", "mappings", "search", "history", "recovery", "log"});
    s = d.open();
    LONGS_EQUAL(store::kFormatVersion, s->formatVersion());
    auto m = s->migrations();
    LONGS_EQUAL(1, m->size());
    LONGS_EQUAL(1, m->at(0).from);
    LONGS_EQUAL(store::kFormatVersion, m->at(0).to);
    // The search index was built from the existing clips.
    LONGS_EQUAL(2, s->search(id, "clip", 10)->size());
    // And the old store was kept, whole, first.
    auto backups = store::listBackups(d.dir + "/backups");
    LONGS_EQUAL(1, backups.size());
    CHECK(backups[0].valid);
    LONGS_EQUAL(1, backups[0].formatVersion);
    LONGS_EQUAL(before, backups[0].revision);
    STRCMP_EQUAL(m->at(0).backup.c_str(), backups[0].name.c_str());
}

TEST(History, aStoreFromNewerFirmwareOpensReadOnlyWithTheReason) {
    s.reset();
    rewriteFormat(d.dir + "/store", 9, {});
    s = d.open();
    STRCMP_CONTAINS("newer firmware", s->readOnlyReason().c_str());
    STRCMP_EQUAL("Act 2", s->loadShow(id)->name.c_str());  // readable
    auto e = s->updateClip(id, clip, patch(R"({"label":"x"})"));
    CHECK_FALSE(e.ok());
    CHECK(e.error().code == Errc::conflict);
    STRCMP_CONTAINS("read-only", e.error().reason.c_str());
}

// After a rollback: the backup taken before the newer firmware migrated is
// restored over the newer store, which becomes ours again.
TEST(History, aBackupOfOurFormatReplacesAStoreFromNewerFirmware) {
    CHECK(s->updateClip(id, clip, patch(R"({"label":"before the update"})")).ok());
    auto b = store::createBackup(*s, d.dir + "/bk", "before update", 5);
    CHECK(b.ok());
    CHECK(s->updateClip(id, clip, patch(R"({"label":"written by the update"})")).ok());
    s.reset();
    rewriteFormat(d.dir + "/store", 9, {});
    s = d.open();
    CHECK_FALSE(s->readOnlyReason().empty());
    auto r = store::restoreBackup(*s, d.dir + "/bk", b->name, {});
    CHECK_TEXT(r.ok(), r.ok() ? "" : r.error().reason.c_str());
    CHECK(s->readOnlyReason().empty());
    LONGS_EQUAL(store::kFormatVersion, s->formatVersion());
    STRCMP_EQUAL("before the update", label(*s, id, clip).c_str());
    CHECK(s->updateClip(id, clip, patch(R"({"label":"writable again"})")).ok());
    s.reset();
    s = d.open();
    LONGS_EQUAL(store::kFormatVersion, s->formatVersion());
    STRCMP_EQUAL("writable again", label(*s, id, clip).c_str());
}

namespace {
MediaRecord mediaRecord(char fill) {
    MediaRecord m;
    m.id = std::string(64, fill);
    m.name = "thunder.flac";
    m.file = "media/show-1/thunder.wav";
    m.original = "media/show-1/originals/thunder.flac";
    m.analysis = json::object{{"duration_s", 2.5}, {"loudness_lufs", -18.0}, {"tempo", json::object{{"bpm", 120.0}}}};
    m.waveform = json::object{{"min", json::array{-3, -100}}, {"max", json::array{3, 100}}};
    return m;
}
}  // namespace

TEST(History, mediaRecordsAndChecksAreKeptOutOfTheHistoryButARelinkIsUndoable) {
    const auto entries = s->history(id, 100)->size();
    CHECK(s->putMedia(id, mediaRecord('a')).ok());
    CHECK_FALSE(s->putMedia(id, [] { auto m = mediaRecord('a'); m.id = "x"; return m; }()).ok());
    auto show = s->loadShow(id);
    LONGS_EQUAL(1, show->media.size());
    DOUBLES_EQUAL(120.0, show->media[0].bpm(), 1e-9);
    CHECK(show->media[0].waveform.empty());  // the show carries no waveforms
    LONGS_EQUAL(2, (*s->media(id, std::string(64, 'a')))->waveform.at("max").as_array().size());
    CHECK_FALSE(s->media(id, std::string(64, 'b'))->has_value());

    MediaCheck missing;
    missing.clip = clip;
    missing.status = "missing";
    missing.path = "/gone/thunder.wav";
    missing.candidates.push_back(json::object{{"path", "/found/thunder.wav"}, {"score", 1.0}});
    auto clipFile = s->loadShow(id)->findClip(clip)->file;
    auto wrote = s->putMediaChecks(id, {{missing, clipFile}});
    CHECK(wrote.ok());
    LONGS_EQUAL(1, wrote->second);
    // A check that saw another file (the clip was relinked meanwhile) or a
    // deleted clip writes nothing.
    MediaCheck stale = missing;
    stale.status = "unreadable";
    LONGS_EQUAL(0, s->putMediaChecks(id, {{stale, "media/elsewhere.wav"}})->second);
    MediaCheck ghost = missing;
    ghost.clip = 9999;
    LONGS_EQUAL(0, s->putMediaChecks(id, {{ghost, clipFile}})->second);
    LONGS_EQUAL(entries, s->history(id, 100)->size());
    LONGS_EQUAL(1, s->loadShow(id)->checks.size());
    STRCMP_EQUAL("missing", s->loadShow(id)->findCheck(clip)->status.c_str());

    // A clip that plays the media keeps it from being deleted.
    MediaCheck relinked = missing;
    relinked.status = "ok";
    relinked.path = "/found/thunder.wav";
    relinked.history.push_back(json::object{{"from", "/gone/thunder.wav"}, {"to", "/found/thunder.wav"}, {"how", "auto"}});
    auto conflict = s->relinkClip(id, clip, "/found/thunder.wav", std::string(64, 'a'), relinked, {"box", "relinked"}, "media/other.wav");
    CHECK(!conflict.ok() && conflict.error().code == Errc::conflict);
    CHECK(s->relinkClip(id, clip, "/found/thunder.wav", std::string(64, 'a'), relinked, {"box", "relinked"}, clipFile).ok());
    LONGS_EQUAL(entries + 1, s->history(id, 100)->size());
    show = s->loadShow(id);
    STRCMP_EQUAL("/found/thunder.wav", show->findClip(clip)->file.c_str());
    STRCMP_EQUAL("ok", show->findCheck(clip)->status.c_str());
    auto refused = s->deleteMedia(id, std::string(64, 'a'));
    CHECK(!refused.ok() && refused.error().code == Errc::conflict);
    // Undo puts the file and the check back as they were.
    CHECK(s->undo(id).ok());
    show = s->loadShow(id);
    STRCMP_EQUAL("missing", show->findCheck(clip)->status.c_str());
    CHECK(show->findClip(clip)->media.empty());
    CHECK(s->deleteMedia(id, std::string(64, 'a')).ok());
    LONGS_EQUAL(0, s->loadShow(id)->media.size());
    // A deleted clip takes its check record along; undo brings both back.
    CHECK(s->deleteClip(id, clip).ok());
    CHECK(s->loadShow(id)->findCheck(clip) == nullptr);
    CHECK(s->undo(id).ok());
    CHECK(s->loadShow(id)->findCheck(clip) != nullptr);
    // Copies of the show (duplicate, recovery points) carry both tables.
    CHECK(s->putMedia(id, mediaRecord('c')).ok());
    auto dup = s->duplicateShow(id, "copy");
    CHECK(dup.ok());
    LONGS_EQUAL(1, s->loadShow(*dup)->media.size());
    LONGS_EQUAL(1, s->loadShow(*dup)->checks.size());
}

TEST(History, aFormat2StoreGetsTheMediaTables) {
    s.reset();
    rewriteFormat(d.dir + "/store", 2, {"media", "media_checks"});
    s = d.open();
    LONGS_EQUAL(store::kFormatVersion, s->formatVersion());
    CHECK(s->putMedia(id, mediaRecord('d')).ok());
    LONGS_EQUAL(1, s->loadShow(id)->media.size());
    STRCMP_EQUAL("clip 0", label(*s, id, clip).c_str());
}
