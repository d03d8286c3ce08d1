// The loaded show as the web process sees it: a cache of the store's show
// (re-read after each edit), the live state last reported by the engine, and
// the snapshot/stats builders. io thread only.
#pragma once

#include "model/ClipPatch.h"
#include "model/Show.h"
#include "store/Store.h"
#include "web/ShowLock.h"

#include <boost/json/object.hpp>

#include <functional>
#include <set>
#include <string>

namespace cuebox::web {

class ShowService {
public:
    ShowService(store::Store& store, std::string dataDir) : store_(store), dataDir_(std::move(dataDir)) {}

    // (Re)loads the loaded show from the store.
    Status load();
    bool loaded() const { return loaded_; }
    const model::Show& show() const { return show_; }
    std::uint64_t revision() const { return revision_; }

    // GET /api/show: {revision, format_version, show, live} as JSON text,
    // assembled from cached pieces (each clip's record is serialised once and
    // again only when that clip changes). `lead` is put first inside the
    // object (e.g. "\"type\":\"snapshot\",").
    std::string snapshotText(const std::string& lead = "") const;
    // GET /api/show/stats
    boost::json::object stats() const;
    boost::json::object live() const;

    // One committed, synced write transaction; the cache follows.
    Result<store::ClipEdit> editClip(model::ClipId id, const model::ClipPatch& patch);
    // Applies `edit` to a copy of the audio configuration; if it succeeds the
    // copy is stored (one synced transaction) and cached. Returns the revision.
    Result<std::uint64_t> editAudio(const std::function<Status(model::AudioConfig&)>& edit);
    // Layout edits (validated, stored, cached). Errors name the field.
    Result<std::uint64_t> editShowInfo(const boost::json::value& body);
    Result<std::uint64_t> editPage(int page, const boost::json::value& body);
    Result<std::uint64_t> editTab(int page, int tab, const boost::json::value& body);
    // body {"clip": id} or {"clip": null}; the cell must be inside the grid.
    Result<std::uint64_t> setCell(int page, int tab, int row, int col, const boost::json::value& body);

    // A settings section (partial edit, validated); a control mapping
    // (id 0 = new; returns {id, revision}) and its removal.
    Result<std::uint64_t> editSettings(const std::string& section, const boost::json::value& body);
    Result<std::pair<std::uint64_t, std::uint64_t>> putMapping(std::uint64_t id, const boost::json::value& body);
    Result<std::uint64_t> deleteMapping(std::uint64_t id);

    // Called after every successful load, clip edit and settings edit (the
    // media library queues the renders and checks the show needs).
    void setOnLoad(std::function<void()> f) { onLoad_ = std::move(f); }
    // Who the next edits come from (set per request by the API).
    void setOrigin(store::Origin o) { origin_ = std::move(o); }
    const store::Origin& origin() const { return origin_; }
    store::Store& store() { return store_; }
    const std::string& dataDir() const { return dataDir_; }
    // Format version, read-only state, auto-save state and last save time.
    boost::json::object storeInfo() const;

    // Live state from the engine (the `live` members of docs/PROTOCOL.md).
    void setEngineLive(boost::json::object live);
    void setEngineDisconnected();
    bool clipPlaying(model::ClipId id) const;

    // The show lock (re-read from the store with every load).
    ShowLock& lock() { return lock_; }
    const ShowLock& lock() const { return lock_; }

private:
    bool missing(const model::Clip& c) const;

    store::Store& store_;
    std::string dataDir_;
    model::Show show_;
    bool loaded_ = false;
    std::uint64_t revision_ = 0;
    std::set<model::ClipId> absent_;         // media file not there (checked at load)
    std::set<model::ClipId> engineMissing_;  // the engine could not load it
    boost::json::object live_;
    // Serialised pieces of the snapshot; empty = to be rebuilt.
    mutable std::vector<std::string> clipText_;  // parallel to show_.clips
    mutable std::string pagesText_;
    mutable std::string settingsText_;  // ",\"settings\":...,\"mappings\":..."
    store::Origin origin_;
    std::function<void()> onLoad_;
    mutable std::string mediaText_;  // ",\"media\":[...]" of the snapshot
    std::string lastSave_;
    std::uint64_t mediaBytes_ = 0;  // distinct media files of the show (at load)
    ShowLock lock_{store_};
};

}  // namespace cuebox::web
