// The show store: one LMDB environment per data folder, opened by both
// processes (cuebox-web writes, cuebox-engine reads). Every edit is one write
// transaction, committed and synced before the caller acknowledges it; each
// write bumps the store's revision. Control threads only.
#pragma once

#include "base/Error.h"
#include "model/ClipPatch.h"
#include "model/Show.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace cuebox::store {

inline constexpr std::uint32_t kFormatVersion = 1;

struct Options {
    std::string dir;         // the LMDB environment folder (created if absent)
    bool readOnly = false;   // the engine opens read-only
    std::size_t mapSize = std::size_t{2} << 30;  // sparse file, 2 GiB
};

struct ClipEdit {
    std::uint64_t revision = 0;
    model::Clip clip;
};

class Store {
public:
    static Result<std::unique_ptr<Store>> open(const Options& o);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    std::uint32_t formatVersion() const { return formatVersion_; }
    const std::string& dir() const { return dir_; }

    Result<std::uint64_t> revision() const;
    // The show that is loaded on this box, if any.
    Result<std::optional<model::ShowId>> loadedShow() const;
    Result<model::Show> loadShow(model::ShowId id) const;

    // Stores a new show (clip ids are assigned here; cells refer to clips by
    // their index in show.clips, 0-based, as `clip`). Returns its id.
    Result<model::ShowId> createShow(model::Show show, bool makeLoaded);
    Result<ClipEdit> updateClip(model::ShowId show, model::ClipId clip, const model::ClipPatch& patch);
    // Layout edits, one synced transaction each; each returns the new revision.
    // A tab's record (name, grid) is replaced whole; cells are kept whatever
    // the grid size (cells outside it are hidden, not deleted).
    Result<std::uint64_t> updateTab(model::ShowId show, int page, int tab, const model::Tab& t);
    // Puts `clip` into a cell, or empties it (std::nullopt).
    Result<std::uint64_t> setCell(model::ShowId show, int page, int tab, int row, int col, std::optional<model::ClipId> clip);
    // Show name, view mode, active page; a page's name and active tab.
    Result<std::uint64_t> updateShowInfo(const model::Show& s);
    Result<std::uint64_t> updatePage(model::ShowId show, int page, const model::Page& p);
    // Replaces the show's audio configuration; returns the new revision.
    Result<std::uint64_t> updateAudio(model::ShowId show, const model::AudioConfig& audio);

    struct Impl;

private:
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    std::uint32_t formatVersion_ = 0;
    std::string dir_;
};

}  // namespace cuebox::store
