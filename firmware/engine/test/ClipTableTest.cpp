#include "engine/ClipTable.h"

#include <CppUTest/TestHarness.h>

using namespace cuebox::engine;

TEST_GROUP(ClipTable){};

TEST(ClipTable, findsByIdAfterFinishWhateverTheInsertionOrder) {
    ClipTable t;
    for (std::uint64_t id : {30u, 10u, 20u}) {
        ClipEntry e;
        e.id = id;
        t.add(e, nullptr);
    }
    t.finish();
    LONGS_EQUAL(20, t.find(20)->id);
    LONGS_EQUAL(10, t.find(10)->id);
    POINTERS_EQUAL(nullptr, t.find(15));
    POINTERS_EQUAL(nullptr, t.find(31));
}
