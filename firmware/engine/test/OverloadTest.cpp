#include "engine/OverloadGuard.h"

#include <CppUTest/TestHarness.h>

using namespace cuebox::engine;

TEST_GROUP(Overload){};

TEST(Overload, warnsAt80RefusesAt90AndRecoversOnlyBelow70) {
    OverloadGuard g;
    CHECK(g.update(0.79f) == LoadState::normal);
    CHECK(g.update(0.80f) == LoadState::warning);
    CHECK(g.update(0.89f) == LoadState::warning);
    CHECK(g.update(0.90f) == LoadState::critical);
    CHECK(g.update(0.85f) == LoadState::critical);  // hysteresis
    CHECK(g.update(0.71f) == LoadState::critical);
    CHECK(g.update(0.69f) == LoadState::normal);
    CHECK(g.update(0.82f) == LoadState::warning);
    CHECK(g.update(0.75f) == LoadState::warning);
    CHECK(g.update(0.60f) == LoadState::normal);
}
