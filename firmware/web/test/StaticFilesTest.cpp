#include "web/StaticFiles.h"

#include <CppUTest/TestHarness.h>

using namespace cuebox::web;

TEST_GROUP(StaticFiles){};

TEST(StaticFiles, mapsRootToIndexAndStripsTheQuery) {
    STRCMP_EQUAL("/ui/index.html", resolveStatic("/ui", "/")->c_str());
    STRCMP_EQUAL("/ui/app.js", resolveStatic("/ui", "/app.js?v=3")->c_str());
}

TEST(StaticFiles, refusesTraversalAndRelativeTargets) {
    CHECK_FALSE(resolveStatic("/ui", "/../etc/passwd").ok());
    CHECK_FALSE(resolveStatic("/ui", "/a/../../b").ok());
    CHECK_FALSE(resolveStatic("/ui", "app.js").ok());
    CHECK_FALSE(resolveStatic("/ui", "/a\\b").ok());
    STRCMP_EQUAL("path", resolveStatic("/ui", "/..").error().field.c_str());
}
