// Shared by the store's tests: a temporary store folder and a small show.
#pragma once

#include "store/Store.h"

#include <CppUTest/TestHarness.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

struct StoreDir {
    std::string dir;
    StoreDir() {
        char tmpl[] = "/tmp/cuebox-store-XXXXXX";
        dir = mkdtemp(tmpl);
    }
    ~StoreDir() { std::filesystem::remove_all(dir); }
    std::unique_ptr<cuebox::store::Store> open(bool ro = false) {
        cuebox::store::Options o;
        o.dir = dir + "/store";
        o.readOnly = ro;
        o.backupDir = dir + "/backups";
        auto s = cuebox::store::Store::open(o);
        CHECK_TEXT(s.ok(), s.ok() ? "" : s.error().reason.c_str());
        return s.ok() ? std::move(*s) : nullptr;
    }
};

inline cuebox::model::Show twoClipShow() {
    using namespace cuebox::model;
    Show s;
    s.name = "Act 2";
    s.pages.push_back(makePage("Page 1"));
    s.pages[0].tabs[3].grid.rows = 2;
    for (int i = 0; i < 2; ++i) {
        Clip c;
        c.label = "clip " + std::to_string(i);
        c.file = "media/" + std::to_string(i) + ".wav";
        c.group = static_cast<char>('A' + i);
        s.clips.push_back(c);
    }
    s.cells.push_back(Cell{0, 0, 0, 0, 0});
    s.cells.push_back(Cell{0, 3, 1, 2, 1});
    return s;
}
