#include "store/Store.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

using namespace cuebox;
using namespace cuebox::model;

#include "Fixtures.h"

TEST_GROUP(Store) {
    StoreDir d;
    std::string& dir = d.dir;
    std::unique_ptr<store::Store> open(bool ro = false) { return d.open(ro); }
};

TEST(Store, newStoreHasFormatVersionAndRevisionZero) {
    auto s = open();
    LONGS_EQUAL(store::kFormatVersion, s->formatVersion());
    LONGS_EQUAL(0, *s->revision());
    CHECK_FALSE(s->loadedShow()->has_value());
}

TEST(Store, showSurvivesReopenWithPagesTabsCellsAndClips) {
    ShowId id;
    {
        auto s = open();
        auto r = s->createShow(twoClipShow(), true);
        CHECK(r.ok());
        id = *r;
    }
    auto s = open();
    LONGS_EQUAL(1, *s->revision());
    LONGS_EQUAL(id, **s->loadedShow());
    auto show = s->loadShow(id);
    CHECK(show.ok());
    STRCMP_EQUAL("Act 2", show->name.c_str());
    LONGS_EQUAL(1, show->pages.size());
    LONGS_EQUAL(2, show->pages[0].tabs[3].grid.rows);
    LONGS_EQUAL(2, show->clips.size());
    LONGS_EQUAL(2, show->cells.size());
    // Cells refer to the ids the store assigned.
    LONGS_EQUAL(show->clips[1].id, show->cells[1].clip);
    LONGS_EQUAL(3, show->cells[1].tab);
    CHECK_EQUAL('B', show->findClip(show->cells[1].clip)->group);
}

TEST(Store, editIsDurableAndBumpsRevision) {
    ShowId id;
    ClipId clip;
    {
        auto s = open();
        id = *s->createShow(twoClipShow(), true);
        clip = s->loadShow(id)->clips[0].id;
        auto patch = parseClipPatch(boost::json::parse(R"({"label":"Storm","level_db":-4})"));
        auto e = s->updateClip(id, clip, *patch);
        CHECK(e.ok());
        LONGS_EQUAL(2, e->revision);
    }
    auto s = open();
    auto show = s->loadShow(id);
    STRCMP_EQUAL("Storm", show->findClip(clip)->label.c_str());
    DOUBLES_EQUAL(-4.0, show->findClip(clip)->levelDb, 1e-9);
    LONGS_EQUAL(2, *s->revision());
}

TEST(Store, editOfUnknownClipChangesNothing) {
    auto s = open();
    ShowId id = *s->createShow(twoClipShow(), true);
    auto patch = parseClipPatch(boost::json::parse(R"({"label":"x"})"));
    auto e = s->updateClip(id, 999, *patch);
    CHECK_FALSE(e.ok());
    CHECK(e.error().code == Errc::not_found);
    LONGS_EQUAL(1, *s->revision());
}

// As in production, the reader is another process (LMDB allows one
// environment per path per process).
TEST(Store, readOnlyOpenInAnotherProcessSeesCommittedEdits) {
    auto w = open();
    ShowId id = *w->createShow(twoClipShow(), true);
    auto patch = parseClipPatch(boost::json::parse(R"({"loop":true})"));
    CHECK(w->updateClip(id, w->loadShow(id)->clips[0].id, *patch).ok());
    pid_t pid = fork();
    if (pid == 0) {
        auto r = store::Store::open(store::Options{dir + "/store", true});
        bool ok = r.ok() && *(*r)->revision() == 2 && (*r)->loadShow(id)->clips[0].loop;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    LONGS_EQUAL(0, WEXITSTATUS(status));
}

TEST(Store, readOnlyOpenOfAnEmptyFolderSaysTheStoreIsNotThere) {
    auto s = store::Store::open(store::Options{dir + "/store", true});
    CHECK_FALSE(s.ok());
}

TEST(Store, audioConfigurationIsStoredWithTheShowAndEditedDurably) {
    ShowId id;
    {
        auto s = open();
        id = *s->createShow(twoClipShow(), true);
        auto show = s->loadShow(id);
        LONGS_EQUAL(8, show->audio.outputs.size());
        model::AudioConfig a = show->audio;
        CHECK(model::patchBus(a, 2, boost::json::parse(R"({"level_db": -12, "choke": true})")).ok());
        auto rev = s->updateAudio(id, a);
        CHECK(rev.ok());
        LONGS_EQUAL(2, *rev);
    }
    auto s = open();
    auto show = s->loadShow(id);
    DOUBLES_EQUAL(-12.0, show->audio.busses[2].levelDb, 0);
    CHECK(show->audio.busses[2].choke);
    CHECK_FALSE(s->updateAudio(999, show->audio).ok());
}
