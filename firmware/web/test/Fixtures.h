// Shared by the web tests: a temporary data folder with a store holding one
// loaded show (one page; with `oneClip`, a clip "one" in page 0, tab 0,
// cell 0/0 whose media file does not exist) and the show service on it.
#pragma once

#include "web/Api.h"
#include "web/ShowService.h"

#include <CppUTest/TestHarness.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

struct LoadedShow {
    std::string dir;
    std::unique_ptr<cuebox::store::Store> store;
    std::unique_ptr<cuebox::web::ShowService> show;

    explicit LoadedShow(bool oneClip) {
        using namespace cuebox;
        char tmpl[] = "/tmp/cuebox-web-XXXXXX";
        dir = mkdtemp(tmpl);
        store = std::move(*store::Store::open(store::Options{dir + "/store"}));
        model::Show s;
        s.name = "t";
        s.pages.push_back(model::makePage("p"));
        if (oneClip) {
            model::Clip c;
            c.label = "one";
            c.file = "media/one.wav";
            s.clips.push_back(c);
            s.cells.push_back(model::Cell{0, 0, 0, 0, 0});
        }
        store->createShow(s, true);
        show = std::make_unique<web::ShowService>(*store, dir);
        CHECK(show->load().ok());
    }
    ~LoadedShow() {
        show.reset();
        store.reset();
        std::filesystem::remove_all(dir);
    }
};

// An engine that accepts every command (tests that need no engine reply
// beyond "ok").
class AcceptingSink : public cuebox::web::CommandSink {
public:
    void send(boost::json::object cmd, std::function<void(cuebox::Result<boost::json::object>)> done) override {
        done(boost::json::object{{"req", 1}, {"ok", true}, {"action", cmd.at("op")}});
    }
    void reload(std::uint64_t) override {}
};
