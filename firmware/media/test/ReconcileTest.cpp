#include "media/Reconcile.h"

#include "base/Sha256.h"
#include "media/AudioFile.h"

#include <CppUTest/TestHarness.h>

#include <sndfile.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace cuebox;
using namespace cuebox::media;
namespace fs = std::filesystem;

namespace {

void writeBytes(const std::string& path, const std::string& bytes) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}

AudioData tone(int rate, double seconds, double hz) {
    AudioData a;
    a.sampleRate = rate;
    a.channels = 1;
    a.frames = static_cast<std::int64_t>(std::lround(seconds * rate));
    for (std::int64_t i = 0; i < a.frames; ++i)
        a.samples.push_back(static_cast<float>(0.3 * std::sin(2 * M_PI * hz * static_cast<double>(i) / rate)));
    return a;
}

void writeTone(const std::string& path, int rate, double seconds, double hz) {
    fs::create_directories(fs::path(path).parent_path());
    CHECK(writeWav(path, tone(rate, seconds, hz)).ok());
}

// A real re-encode: FLAC at another sample rate.
void writeFlac(const std::string& path, int rate, double seconds) {
    fs::create_directories(fs::path(path).parent_path());
    const AudioData a = tone(rate, seconds, 440.0);
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    CHECK(f != nullptr);
    if (!f) return;
    CHECK_EQUAL(a.frames, sf_writef_float(f, a.samples.data(), a.frames));
    sf_close(f);
}

MissingMedia missingFor(const std::string& path, const std::string& content) {
    MissingMedia m;
    m.path = path;
    m.sha256 = sha256Hex(content);
    m.size = static_cast<std::int64_t>(content.size());
    return m;
}

std::size_t hashMatches(const SearchResult& r) {
    return static_cast<std::size_t>(std::count_if(r.candidates.begin(), r.candidates.end(), [](const Candidate& c) { return c.hashMatch; }));
}

const Candidate* candidateAt(const SearchResult& r, const std::string& path) {
    for (const auto& c : r.candidates)
        if (c.path == path) return &c;
    return nullptr;
}

bool hasReason(const Candidate& c, const std::string& reason) {
    return std::find(c.reasons.begin(), c.reasons.end(), reason) != c.reasons.end();
}

const std::string kThunder(4096, 't');

}  // namespace

TEST_GROUP(Reconcile) {
    std::string dir;  // canonical: the index stores paths with symlinks resolved
    void setup() override {
        char tmpl[] = "/tmp/cuebox-reconcile-XXXXXX";
        dir = fs::canonical(mkdtemp(tmpl)).string();
        fs::create_directories(dir + "/media");
    }
    void teardown() override { fs::remove_all(dir); }
    SearchPlan primaryOnly() const {
        SearchPlan p;
        p.primary = dir + "/media";
        p.proximity = false;
        return p;
    }
};

TEST(Reconcile, fileMovedInsideThePrimaryFolderIsTheSingleHashMatch) {
    writeBytes(dir + "/media/act1/thunder.wav", kThunder);
    writeBytes(dir + "/media/act1/rain.wav", std::string(4096, 'r'));  // same size, other content
    writeBytes(dir + "/media/act2/wind.wav", "wind");
    FileIndex index;
    auto r = findCandidates(index, missingFor(dir + "/media/thunder.wav", kThunder), primaryOnly());
    CHECK(r.ok());
    LONGS_EQUAL(1, hashMatches(*r));
    const Candidate& c = r->candidates.front();
    STRCMP_EQUAL((dir + "/media/act1/thunder.wav").c_str(), c.path.c_str());
    DOUBLES_EQUAL(1.0, c.score, 0.0);
    CHECK(c.hashMatch);
    STRCMP_EQUAL("primary", c.where.c_str());
    STRCMP_EQUAL("same content hash", c.reasons.front().c_str());
    CHECK(candidateAt(*r, dir + "/media/act1/rain.wav") == nullptr);  // same size alone is no candidate
    LONGS_EQUAL(1, r->roots.size());
    STRCMP_EQUAL((dir + "/media").c_str(), r->roots[0].c_str());
    CHECK(r->patterns.front().find("among 2 files of 4096 bytes") != std::string::npos);
}

TEST(Reconcile, renamedFileWithTheSameContentIsAHashMatch) {
    writeBytes(dir + "/media/storm_final.wav", kThunder);
    FileIndex index;
    auto r = findCandidates(index, missingFor(dir + "/media/old/thunder.wav", kThunder), primaryOnly());
    CHECK(r.ok());
    LONGS_EQUAL(1, r->candidates.size());
    STRCMP_EQUAL((dir + "/media/storm_final.wav").c_str(), r->candidates[0].path.c_str());
    CHECK(r->candidates[0].hashMatch);
    DOUBLES_EQUAL(1.0, r->candidates[0].score, 0.0);
}

TEST(Reconcile, hashOfTheOriginalMatchesAFileOfAnotherSize) {
    const std::string original(10000, 'o');
    writeBytes(dir + "/media/sfx/thunder.mp3", original);
    MissingMedia m = missingFor(dir + "/media/thunder.wav", kThunder);  // the converted file, gone
    m.sourceSha256 = sha256Hex(original);
    FileIndex index;
    auto r = findCandidates(index, m, primaryOnly());
    CHECK(r.ok());
    LONGS_EQUAL(1, hashMatches(*r));
    STRCMP_EQUAL((dir + "/media/sfx/thunder.mp3").c_str(), r->candidates[0].path.c_str());
    STRCMP_EQUAL("same content hash", r->candidates[0].reasons[0].c_str());
}

TEST(Reconcile, twoIdenticalCopiesAreTwoHashMatchesInPathOrder) {
    writeBytes(dir + "/media/b/thunder.wav", kThunder);
    writeBytes(dir + "/media/a/thunder copy.wav", kThunder);
    FileIndex index;
    auto r = findCandidates(index, missingFor(dir + "/media/thunder.wav", kThunder), primaryOnly());
    CHECK(r.ok());
    LONGS_EQUAL(2, hashMatches(*r));
    STRCMP_EQUAL((dir + "/media/a/thunder copy.wav").c_str(), r->candidates[0].path.c_str());
    STRCMP_EQUAL((dir + "/media/b/thunder.wav").c_str(), r->candidates[1].path.c_str());
}

TEST(Reconcile, sameNameWithAnotherSizeScoresClearlyBelowSameNameAndSize) {
    writeBytes(dir + "/media/x/thunder.wav", std::string(5000, 't'));  // near miss
    writeBytes(dir + "/media/y/thunder.wav", std::string(4096, 'e'));  // edited in place: same size, new content
    for (bool hashKnown : {true, false}) {
        MissingMedia m = missingFor(dir + "/media/thunder.wav", kThunder);
        if (!hashKnown) m.sha256.clear();
        FileIndex index;
        auto r = findCandidates(index, m, primaryOnly());
        CHECK(r.ok());
        LONGS_EQUAL(0, hashMatches(*r));
        const Candidate* nearMiss = candidateAt(*r, dir + "/media/x/thunder.wav");
        const Candidate* sameSize = candidateAt(*r, dir + "/media/y/thunder.wav");
        CHECK(nearMiss != nullptr && sameSize != nullptr);
        CHECK(nearMiss->score < 1.0 && sameSize->score < 1.0);
        CHECK(nearMiss->score + 0.1 < sameSize->score);
        CHECK(hasReason(*nearMiss, "same name"));
        CHECK_FALSE(hasReason(*nearMiss, "same size"));
        CHECK(hasReason(*sameSize, "same size"));
        STRCMP_EQUAL((dir + "/media/y/thunder.wav").c_str(), r->candidates[0].path.c_str());
    }
}

TEST(Reconcile, fileFoundOnlyThroughAShareMappingIsLabelledShare) {
    writeBytes(dir + "/mnt/sfx/act1/thunder.wav", kThunder);
    SearchPlan plan = primaryOnly();
    plan.proximity = true;
    plan.shareMappings = {{"//fileserver/sfx2", dir + "/mnt/other"}, {"//fileserver/sfx", dir + "/mnt/sfx"}};
    FileIndex index;
    auto r = findCandidates(index, missingFor("//fileserver/sfx/act1/thunder.wav", kThunder), plan);
    CHECK(r.ok());
    LONGS_EQUAL(1, r->candidates.size());
    CHECK(r->candidates[0].hashMatch);
    STRCMP_EQUAL("share", r->candidates[0].where.c_str());
    LONGS_EQUAL(2, r->roots.size());
    STRCMP_EQUAL((dir + "/mnt/sfx/act1").c_str(), r->roots[1].c_str());

    // Without the mapping it is not found.
    plan.shareMappings.clear();
    FileIndex fresh;
    auto none = findCandidates(fresh, missingFor("//fileserver/sfx/act1/thunder.wav", kThunder), plan);
    CHECK(none.ok());
    LONGS_EQUAL(0, none->candidates.size());
}

TEST(Reconcile, fileInASiblingFolderOfTheOldLocationIsFoundByProximity) {
    writeBytes(dir + "/old/show/backup/thunder.wav", kThunder);  // the old cues/ folder is gone
    SearchPlan plan = primaryOnly();
    plan.proximity = true;
    const MissingMedia m = missingFor(dir + "/old/show/cues/thunder.wav", kThunder);
    FileIndex index;
    auto r = findCandidates(index, m, plan);
    CHECK(r.ok());
    LONGS_EQUAL(1, r->candidates.size());
    CHECK(r->candidates[0].hashMatch);
    STRCMP_EQUAL("proximity", r->candidates[0].where.c_str());
    bool listed = false;
    for (const auto& p : r->patterns) listed = listed || p.rfind("proximity: ", 0) == 0;
    CHECK(listed);

    plan.proximity = false;
    FileIndex fresh;
    auto none = findCandidates(fresh, m, plan);
    CHECK(none.ok());
    LONGS_EQUAL(0, none->candidates.size());
}

TEST(Reconcile, reEncodedFileMatchesByStemAndDuration) {
    writeTone(dir + "/media/thunder.wav", 48000, 1.5, 440.0);
    MissingMedia m;
    m.path = dir + "/show/thunder.wav";
    m.durationS = 1.5;
    auto h = sha256File(dir + "/media/thunder.wav");
    CHECK(h.ok());
    m.sha256 = *h;
    m.size = static_cast<std::int64_t>(fs::file_size(dir + "/media/thunder.wav"));
    fs::remove(dir + "/media/thunder.wav");
    writeFlac(dir + "/media/thunder.flac", 44100, 1.5);
    writeFlac(dir + "/media/sub/thunder.ogg.flac", 44100, 2.0);  // unrelated stem
    writeFlac(dir + "/media/sub/thunder.aiff", 44100, 2.0);      // same stem, other duration
    FileIndex index;
    auto r = findCandidates(index, m, primaryOnly());
    CHECK(r.ok());
    LONGS_EQUAL(0, hashMatches(*r));
    LONGS_EQUAL(2, r->candidates.size());
    const Candidate& best = r->candidates[0];
    STRCMP_EQUAL((dir + "/media/thunder.flac").c_str(), best.path.c_str());
    CHECK(hasReason(best, "duration within 10 ms"));
    CHECK(hasReason(best, "same name, other extension"));
    const Candidate& other = r->candidates[1];
    STRCMP_EQUAL((dir + "/media/sub/thunder.aiff").c_str(), other.path.c_str());
    CHECK_FALSE(hasReason(other, "duration within 10 ms"));
    CHECK(other.score < best.score);
    DOUBLES_EQUAL(1.5, index.durationS(best.path), 1e-6);
    DOUBLES_EQUAL(-1.0, index.durationS(dir + "/nothing.wav"), 0.0);
}

TEST(Reconcile, filesOutsideEveryRootAreNeverReturned) {
    writeBytes(dir + "/elsewhere/thunder.wav", kThunder);
    FileIndex index;
    CHECK(index.scan({dir + "/elsewhere"}).ok());  // indexed, but not searched
    LONGS_EQUAL(1, index.withName("thunder.wav").size());
    auto r = findCandidates(index, missingFor(dir + "/media/thunder.wav", kThunder), primaryOnly());
    CHECK(r.ok());
    LONGS_EQUAL(0, r->candidates.size());
}

TEST(Reconcile, rescanAfterAFileIsDeletedDropsIt) {
    writeBytes(dir + "/media/a/thunder.wav", kThunder);
    writeBytes(dir + "/media/b/rain.wav", "rain");
    FileIndex index;
    auto n = index.scan({dir + "/media"});
    CHECK(n.ok());
    LONGS_EQUAL(2, *n);
    LONGS_EQUAL(2, index.size());
    LONGS_EQUAL(1, index.withSize(4096).size());
    LONGS_EQUAL(1, index.withStem("thunder").size());
    fs::remove(dir + "/media/a/thunder.wav");
    n = index.scan({dir + "/media"});
    CHECK(n.ok());
    LONGS_EQUAL(1, *n);
    LONGS_EQUAL(1, index.size());
    LONGS_EQUAL(0, index.withName("thunder.wav").size());
    LONGS_EQUAL(0, index.withSize(4096).size());
    auto r = findCandidates(index, missingFor(dir + "/media/thunder.wav", kThunder), primaryOnly());
    CHECK(r.ok());
    LONGS_EQUAL(0, r->candidates.size());
}

TEST(Reconcile, aStaleIndexEntryIsNotReturned) {
    writeBytes(dir + "/media/a/thunder.wav", kThunder);
    FileIndex index;
    CHECK(index.scan({dir + "/media"}).ok());
    fs::remove(dir + "/media/a/thunder.wav");  // after the scan: the index still lists it
    auto r = findCandidates(index, missingFor(dir + "/media/thunder.wav", kThunder), primaryOnly());
    CHECK(r.ok());
    LONGS_EQUAL(0, r->candidates.size());
    LONGS_EQUAL(0, index.size());
}

TEST(Reconcile, hashCacheIsInvalidatedWhenTheFileChanges) {
    const std::string p = dir + "/media/thunder.wav";
    writeBytes(p, "first");
    FileIndex index;
    auto h1 = index.hash(p);
    CHECK(h1.ok());
    STRCMP_EQUAL(sha256Hex("first").c_str(), h1->c_str());
    // Same size, new content, a later mtime.
    writeBytes(p, "other");
    fs::last_write_time(p, fs::last_write_time(p) + std::chrono::seconds(5));
    auto h2 = index.hash(p);
    CHECK(h2.ok());
    STRCMP_EQUAL(sha256Hex("other").c_str(), h2->c_str());
    // Another size.
    writeBytes(p, "longer content");
    auto h3 = index.hash(p);
    CHECK(h3.ok());
    STRCMP_EQUAL(sha256Hex("longer content").c_str(), h3->c_str());
    fs::remove(p);
    CHECK_FALSE(index.hash(p).ok());
}

TEST(Reconcile, missingRootsAreFine) {
    writeBytes(dir + "/media/thunder.wav", kThunder);
    FileIndex index;
    auto n = index.scan({dir + "/nope", dir + "/media", dir + "/also/nope"});
    CHECK(n.ok());
    LONGS_EQUAL(1, *n);
    CHECK(index.covers(dir + "/media"));
    CHECK_FALSE(index.covers(dir + "/nope"));

    SearchPlan plan;
    plan.primary = dir + "/gone";
    plan.alternates = {dir + "/also/gone"};
    plan.repository = dir + "/repo/gone";
    MissingMedia m = missingFor("/nonexistent/place/x/thunder.wav", kThunder);
    LONGS_EQUAL(0, searchRoots(m, plan).size());
    FileIndex fresh;
    auto r = findCandidates(fresh, m, plan);
    CHECK(r.ok());
    LONGS_EQUAL(0, r->candidates.size());
    LONGS_EQUAL(0, r->roots.size());
}

TEST(Reconcile, searchRootsComeInPlanOrderWithoutDuplicates) {
    for (const char* d : {"/media", "/alt1", "/repo", "/good/act1", "/mnt/sfx/act1", "/old/show"}) fs::create_directories(dir + d);
    SearchPlan plan;
    plan.primary = dir + "/media/";
    plan.alternates = {dir + "/alt1", dir + "/alt2-missing", dir + "/media"};
    plan.repository = dir + "/repo";
    plan.shareMappings = {{"//fs/sfx", dir + "/mnt/sfx"}};
    MissingMedia m;
    m.path = dir + "/old/show/cues/thunder.wav";
    m.lastKnownGood = {dir + "/good/act1/thunder.wav", "//fs/sfx/act1/thunder.wav"};
    const auto roots = searchRoots(m, plan);
    const std::vector<std::pair<std::string, std::string>> expect = {
        {dir + "/media", "primary"},     {dir + "/alt1", "alternate"},        {dir + "/repo", "repository"},
        {dir + "/good/act1", "last_good"}, {dir + "/mnt/sfx/act1", "share"}, {dir + "/old/show", "proximity"},
    };
    LONGS_EQUAL(expect.size(), roots.size());
    for (std::size_t i = 0; i < expect.size() && i < roots.size(); ++i) {
        STRCMP_EQUAL(expect[i].first.c_str(), roots[i].first.c_str());
        STRCMP_EQUAL(expect[i].second.c_str(), roots[i].second.c_str());
    }
}

TEST(Reconcile, hiddenAndSymlinkedFoldersAreNotWalkedAndNestedRootsCountOnce) {
    writeBytes(dir + "/media/a/thunder.wav", kThunder);
    writeBytes(dir + "/media/.Trashes/thunder.wav", kThunder);
    writeBytes(dir + "/outside/rain.wav", "rain");
    fs::create_directory_symlink(dir + "/outside", dir + "/media/link");
    FileIndex index;
    auto n = index.scan({dir + "/media", dir + "/media/a"});
    CHECK(n.ok());
    LONGS_EQUAL(1, *n);
    LONGS_EQUAL(1, index.size());
    CHECK(index.covers(dir + "/media/a"));
    CHECK_FALSE(index.covers(dir + "/outside"));
    LONGS_EQUAL(0, index.withName("rain.wav").size());
}

TEST(Reconcile, noteAddsRefreshesAndDropsOneFile) {
    FileIndex index;
    CHECK(index.scan({dir + "/media"}).ok());
    writeBytes(dir + "/media/new.wav", "abc");
    index.note(dir + "/media/./new.wav");
    LONGS_EQUAL(1, index.withSize(3).size());
    STRCMP_EQUAL((dir + "/media/new.wav").c_str(), index.withName("new.wav")[0]->path.c_str());
    writeBytes(dir + "/media/new.wav", "abcdef");
    index.note(dir + "/media/new.wav");
    LONGS_EQUAL(0, index.withSize(3).size());
    LONGS_EQUAL(1, index.withSize(6).size());
    fs::remove(dir + "/media/new.wav");
    index.note(dir + "/media/new.wav");
    LONGS_EQUAL(0, index.size());
}

TEST(Reconcile, scanReportsProgressAndCanBeCancelled) {
    writeBytes(dir + "/media/a.wav", "a");
    writeBytes(dir + "/other/b.wav", "b");
    FileIndex index;
    auto r = index.scan({dir + "/media", dir + "/other"}, [](double) { return false; });
    CHECK_FALSE(r.ok());
    STRCMP_EQUAL("cancelled", r.error().field.c_str());
    LONGS_EQUAL(0, index.size());
    CHECK_FALSE(index.covers(dir + "/media"));

    std::vector<double> seen;
    r = index.scan({dir + "/media", dir + "/other"}, [&](double f) {
        seen.push_back(f);
        return true;
    });
    CHECK(r.ok());
    LONGS_EQUAL(2, *r);
    CHECK(seen.size() >= 3);
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    DOUBLES_EQUAL(1.0, seen.back(), 0.0);
}
