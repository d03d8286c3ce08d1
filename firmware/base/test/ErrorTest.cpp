#include "base/Error.h"

#include <CppUTest/TestHarness.h>

using namespace cuebox;

TEST_GROUP(Error){};

TEST(Error, contextPrefixesReasonAndKeepsCodeAndField) {
    Error e = makeError(Errc::not_found, "id", "no clip with id 9").context("store");
    STRCMP_EQUAL("store: no clip with id 9", e.reason.c_str());
    STRCMP_EQUAL("id", e.field.c_str());
    CHECK(e.code == Errc::not_found);
}

TEST(Error, resultHoldsValueOrError) {
    Result<int> good(5);
    CHECK(good.ok());
    LONGS_EQUAL(5, *good);
    Result<int> bad(makeError(Errc::bad_request, "x", "bad"));
    CHECK_FALSE(bad.ok());
    STRCMP_EQUAL("bad_request", errcName(bad.error().code));
}
