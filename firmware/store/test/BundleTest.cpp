// Show bundles: a round trip between two stores, and every kind of bad
// bundle refused with nothing changed.
#include "store/Bundle.h"

#include "base/Sha256.h"
#include "Fixtures.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace cuebox;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {
void writeFile(const std::string& path, const std::string& bytes) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}
std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
std::string be(std::uint64_t v, int bytes) {
    std::string s;
    for (int i = bytes - 1; i >= 0; --i) s.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
    return s;
}
std::string entry(const std::string& name, const std::string& bytes) { return be(name.size(), 4) + name + be(bytes.size(), 8) + bytes; }

// A hand-made bundle: the manifest lists `entries` as given.
std::string craft(const json::object& manifest, const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string out = "CUEBOXB1" + entry("manifest.json", json::serialize(manifest));
    for (const auto& [n, b] : entries) out += entry(n, b);
    return out;
}
}  // namespace

TEST_GROUP(Bundle) {
    StoreDir a, b;
    std::unique_ptr<store::Store> src, dst;
    model::ShowId show = 0;
    std::string bundle;
    void setup() override {
        src = a.open();
        dst = b.open();
        writeFile(a.dir + "/media/0.wav", std::string(5000, 'a'));
        writeFile(a.dir + "/media/1.wav", std::string(7000, 'b'));
        show = *src->createShow(twoClipShow(), true);
        bundle = a.dir + "/exports/act2.cuebox";
    }
    void teardown() override {
        src.reset();
        dst.reset();
    }
    std::size_t showsIn(store::Store& s) { return s.listShows()->size(); }
    void refused(const std::string& path, const char* reason) {
        auto r = store::importBundle(*dst, path, b.dir, "", {});
        CHECK_FALSE(r.ok());
        STRCMP_CONTAINS(reason, r.error().reason.c_str());
        LONGS_EQUAL(0, showsIn(*dst));
        CHECK_FALSE(fs::exists(b.dir + "/media/imported"));
    }
};

TEST(Bundle, clipsAddedAfterAnImportNeverTakeAnImportedClipsId) {
    // The source show's clips are 9 and 10; this box has used 1-8, so its
    // next new clip would be 9.
    for (int i = 0; i < 3; ++i) src->createShow(twoClipShow(), false);
    CHECK(store::exportBundle(*src, *src->createShow(twoClipShow(), false), a.dir, bundle).ok());
    for (int i = 0; i < 4; ++i) dst->createShow(twoClipShow(), false);
    auto r = store::importBundle(*dst, bundle, b.dir, "", {});
    CHECK(r.ok());
    const auto imported = dst->loadShow(r->show)->clips;
    LONGS_EQUAL(9, imported[0].id);
    model::Clip c;
    c.label = "new";
    auto added = dst->addClip(r->show, c, std::nullopt);
    CHECK(added.ok());
    for (const auto& x : imported) CHECK(x.id != added->clip.id);
    LONGS_EQUAL(3, dst->loadShow(r->show)->clips.size());
}

TEST(Bundle, aShowTravelsWithItsMediaToAnotherBox) {
    auto e = store::exportBundle(*src, show, a.dir, bundle);
    CHECK_TEXT(e.ok(), e.ok() ? "" : e.error().reason.c_str());
    LONGS_EQUAL(2, e->mediaFiles);
    STRCMP_EQUAL(sha256File(bundle)->c_str(), e->sha256.c_str());
    auto r = store::importBundle(*dst, bundle, b.dir, "Act 2 (tour)", {"test", ""});
    CHECK_TEXT(r.ok(), r.ok() ? "" : r.error().reason.c_str());
    auto s = dst->loadShow(r->show);
    STRCMP_EQUAL("Act 2 (tour)", s->name.c_str());
    LONGS_EQUAL(2, s->clips.size());
    LONGS_EQUAL(2, s->cells.size());
    for (const auto& c : s->clips) {
        STRCMP_CONTAINS("media/imported/", c.file.c_str());
        CHECK(fs::exists(b.dir + "/" + c.file));
    }
    STRCMP_EQUAL(std::string(7000, 'b').c_str(), readFile(b.dir + "/" + s->clips[1].file).c_str());
    LONGS_EQUAL(2, dst->search(r->show, "clip", 5)->size());
}

TEST(Bundle, aFlippedByteTruncationOrNotABundleIsRefused) {
    CHECK(store::exportBundle(*src, show, a.dir, bundle).ok());
    std::string bytes = readFile(bundle);
    std::string flipped = bytes;
    flipped[flipped.size() - 100] ^= 0x01;  // inside the last media entry
    writeFile(b.dir + "/in/flipped.cuebox", flipped);
    refused(b.dir + "/in/flipped.cuebox", "SHA-256");
    writeFile(b.dir + "/in/short.cuebox", bytes.substr(0, bytes.size() - 3000));
    refused(b.dir + "/in/short.cuebox", "truncated");
    writeFile(b.dir + "/in/cut.cuebox", bytes.substr(0, bytes.size() - 7000 - 20));
    refused(b.dir + "/in/cut.cuebox", "truncated");
    writeFile(b.dir + "/in/text.cuebox", "hello, I am not a bundle");
    refused(b.dir + "/in/text.cuebox", "not a cuebox");
    CHECK(store::importBundle(*dst, b.dir + "/in/none.cuebox", b.dir, "", {}).error().code == Errc::not_found);
}

TEST(Bundle, entryNamesThatEscapeTheMediaFolderAreRefused) {
    auto records = *src->showRecords(show);
    for (const char* evil : {"media/../../etc/passwd", "/etc/passwd", "media/a/../../x", "media\\..\\x", "show.records/../x"}) {
        const std::string payload = "x";
        json::object m{{"format", "cuebox-bundle"}, {"bundle_version", 1}, {"store_format", 2},
                       {"entries", json::array{json::object{{"name", "show.records"}, {"bytes", records.size()}, {"sha256", sha256Hex(records)}},
                                               json::object{{"name", evil}, {"bytes", 1}, {"sha256", sha256Hex(payload)}}}}};
        writeFile(b.dir + "/in/evil.cuebox", craft(m, {{"show.records", records}, {evil, payload}}));
        refused(b.dir + "/in/evil.cuebox", "not allowed");
    }
    // An entry the manifest does not list, with a traversal name.
    json::object m{{"format", "cuebox-bundle"}, {"bundle_version", 1}, {"store_format", 2},
                   {"entries", json::array{json::object{{"name", "show.records"}, {"bytes", records.size()}, {"sha256", sha256Hex(records)}}}}};
    writeFile(b.dir + "/in/extra.cuebox", craft(m, {{"show.records", records}, {"media/../../../tmp/x", "x"}}));
    refused(b.dir + "/in/extra.cuebox", "not allowed");
}

TEST(Bundle, aBundleFromNewerFirmwareIsRefusedWithTheReason) {
    auto records = *src->showRecords(show);
    json::object m{{"format", "cuebox-bundle"}, {"bundle_version", 7}, {"store_format", 2},
                   {"entries", json::array{json::object{{"name", "show.records"}, {"bytes", records.size()}, {"sha256", sha256Hex(records)}}}}};
    writeFile(b.dir + "/in/new.cuebox", craft(m, {{"show.records", records}}));
    auto r = store::importBundle(*dst, b.dir + "/in/new.cuebox", b.dir, "", {});
    CHECK(r.error().code == Errc::conflict);
    STRCMP_CONTAINS("newer firmware", r.error().reason.c_str());
    m["bundle_version"] = 1;
    m["store_format"] = 99;
    writeFile(b.dir + "/in/new.cuebox", craft(m, {{"show.records", records}}));
    refused(b.dir + "/in/new.cuebox", "newer firmware");
    // And the same bundle at our version imports.
    m["store_format"] = 2;
    writeFile(b.dir + "/in/ok.cuebox", craft(m, {{"show.records", records}}));
    CHECK(store::importBundle(*dst, b.dir + "/in/ok.cuebox", b.dir, "", {}).ok());
    LONGS_EQUAL(1, showsIn(*dst));
}

TEST(Bundle, clipsThatPointOutsideTheBundleStayInsideTheDataFolderAndHugeRecordsAreRefused) {
    for (const char* file : {"/etc/passwd", "../../secret.wav", "media/../../x.wav"}) {
        model::Show evil = twoClipShow();
        evil.clips[0].file = file;
        const auto other = *src->createShow(evil, false);
        auto records = *src->showRecords(other);
        json::object m{{"format", "cuebox-bundle"}, {"bundle_version", 1}, {"store_format", 2},
                       {"entries", json::array{json::object{{"name", "show.records"}, {"bytes", records.size()}, {"sha256", sha256Hex(records)}}}}};
        writeFile(b.dir + "/in/evil.cuebox", craft(m, {{"show.records", records}}));
        auto r = store::importBundle(*dst, b.dir + "/in/evil.cuebox", b.dir, "", {});
        CHECK_TEXT(r.ok(), file);
        const std::string now = dst->loadShow(r->show)->clips[0].file;
        STRCMP_EQUAL_TEXT(("media/" + fs::path(file).filename().string()).c_str(), now.c_str(), file);
    }
    json::object m{{"format", "cuebox-bundle"}, {"bundle_version", 1}, {"store_format", 2},
                   {"entries", json::array{json::object{{"name", "show.records"}, {"bytes", 100u << 20}, {"sha256", "00"}}}}};
    writeFile(b.dir + "/in/huge.cuebox", craft(m, {}));
    const auto before = showsIn(*dst);
    auto huge = store::importBundle(*dst, b.dir + "/in/huge.cuebox", b.dir, "", {});
    STRCMP_CONTAINS("larger than 64 MiB", huge.error().reason.c_str());
    LONGS_EQUAL(before, showsIn(*dst));
    // Malformed numbers in the manifest are a refusal, not a crash.
    m["entries"] = json::array{json::object{{"name", "show.records"}, {"bytes", -1}, {"sha256", "00"}}};
    writeFile(b.dir + "/in/neg.cuebox", craft(m, {}));
    STRCMP_CONTAINS("malformed", store::importBundle(*dst, b.dir + "/in/neg.cuebox", b.dir, "", {}).error().reason.c_str());
    m["entries"] = json::array{json::object{{"name", "show.records"}, {"bytes", 1.5}, {"sha256", "00"}}};
    writeFile(b.dir + "/in/frac.cuebox", craft(m, {}));
    STRCMP_CONTAINS("malformed", store::importBundle(*dst, b.dir + "/in/frac.cuebox", b.dir, "", {}).error().reason.c_str());
    LONGS_EQUAL(before, showsIn(*dst));
}

TEST(Bundle, theLibraryTravelsWithItsOriginalsAndPointsAtTheBundlesCopies) {
    auto s = src->loadShow(show);
    model::MediaRecord m;
    m.id = std::string(64, 'e');
    m.name = "0.flac";
    m.file = s->clips[0].file;  // the converted file a clip plays
    m.original = "media/originals/0.flac";
    writeFile(a.dir + "/" + m.original, std::string(3000, 'o'));
    CHECK(src->putMedia(show, m).ok());
    auto e = store::exportBundle(*src, show, a.dir, bundle);
    CHECK(e.ok());
    LONGS_EQUAL(3, e->mediaFiles);  // two clip files and the original
    LONGS_EQUAL(0, e->missingMedia);
    auto r = store::importBundle(*dst, bundle, b.dir, "", {});
    CHECK_TEXT(r.ok(), r.ok() ? "" : r.error().reason.c_str());
    auto t = dst->loadShow(r->show);
    LONGS_EQUAL(1, t->media.size());
    const auto& got = t->media[0];
    STRCMP_EQUAL(t->clips[0].file.c_str(), got.file.c_str());
    STRCMP_CONTAINS("media/imported/", got.original.c_str());
    STRCMP_EQUAL(std::string(3000, 'o').c_str(), readFile(b.dir + "/" + got.original).c_str());
}
