// The show store: one LMDB environment per data folder, opened by both
// processes (cuebox-web writes, cuebox-engine reads). Every edit is one write
// transaction, committed and synced before the caller acknowledges it; each
// write bumps the store's revision. Control threads only.
#pragma once

#include "base/Error.h"
#include "model/ClipPatch.h"
#include "model/Show.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cuebox::store {

// 1: shows, pages, tabs, cells, clips, audio.
// 2: + settings, mappings, search index, history, recovery points, event log.
// 3: + media library records and media checks (per show).
inline constexpr std::uint32_t kFormatVersion = 3;

struct Options {
    std::string dir;         // the LMDB environment folder (created if absent)
    bool readOnly = false;   // the engine opens read-only
    std::size_t mapSize = std::size_t{2} << 30;  // sparse file, 2 GiB
    // Where the backup taken before a migration goes ("" = no migration is
    // run: the store is refused if it needs one).
    std::string backupDir;
    bool noLock = false;     // a read-only copy on media we may not write (a backup)
};

// Who made an edit and what it was, for the change history and the log.
struct Origin {
    std::string client;  // e.g. "http 192.168.1.20 (stage-left iPad)"
    std::string what;    // e.g. "clip 12: label, level_db"
};

// One event-log entry (the spec's event and show log).
struct LogEntry {
    std::uint64_t timeNs = 0;  // wall clock, ns since the epoch (set on append)
    std::uint64_t seq = 0;     // the log's own counter: grows with every entry, whatever the clock does
    std::string kind;          // trigger, stop, fault, clock, edit, login, show, system
    std::string source;        // "web", "engine", "osc"...
    std::string client;        // who, when known
    std::string detail;        // what happened, for a person
    std::string timeSource;    // the time source and its value, once time sources exist
};

struct HistoryEntry {
    std::uint64_t seq = 0;
    std::string time;  // ISO 8601 UTC
    std::string client, what;
    std::uint64_t revision = 0;
    std::size_t changes = 0;  // records touched
    bool undone = false;      // beyond the undo head: redo brings it back
};

struct ShowSummary {
    model::ShowId id = 0;
    std::string name;
    std::size_t clips = 0;
    bool loaded = false;
};

struct RecoveryPoint {
    std::uint64_t id = 0;
    std::string name;
    std::string kind;  // named, auto, before_load, before_import, before_restore
    std::string time;
    std::uint64_t revision = 0;  // the store's revision when it was taken
    std::size_t records = 0;
};

struct MigrationStep {
    std::uint32_t from = 0, to = 0;
    std::string time, backup;
};

struct ClipEdit {
    std::uint64_t revision = 0;
    model::Clip clip;
};

struct Migrations;

class Store {
public:
    static Result<std::unique_ptr<Store>> open(const Options& o);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    std::uint32_t formatVersion() const { return formatVersion_; }
    const std::string& dir() const { return dir_; }
    // Non-empty when the store was written by newer firmware: it is then
    // open read-only and every write is refused with this reason.
    const std::string& readOnlyReason() const;
    // Migrations run on this store, oldest first.
    Result<std::vector<MigrationStep>> migrations() const;

    Result<std::uint64_t> revision() const;
    // The show that is loaded on this box, if any.
    Result<std::optional<model::ShowId>> loadedShow() const;
    Result<model::Show> loadShow(model::ShowId id) const;

    // Stores a new show (clip ids are assigned here; cells refer to clips by
    // their index in show.clips, 0-based, as `clip`). Returns its id.
    Result<model::ShowId> createShow(model::Show show, bool makeLoaded, const Origin& origin = {});

    // --- Shows on this box
    Result<std::vector<ShowSummary>> listShows() const;
    // A full copy (layout, clips, audio, settings, mappings) under a new id
    // and name; history and recovery points stay with the original.
    Result<model::ShowId> duplicateShow(model::ShowId show, const std::string& name, const Origin& origin = {});
    // Deletes a show with its history and recovery points; the loaded show
    // cannot be deleted (conflict). Returns the new revision.
    Result<std::uint64_t> deleteShow(model::ShowId show, const Origin& origin = {});
    // Makes `show` the loaded one (a recovery point of the outgoing show is
    // taken first). Returns the new revision.
    Result<std::uint64_t> setLoadedShow(model::ShowId show, const Origin& origin = {});

    // --- Edits: one synced transaction each, kept in the change history;
    // each returns the new revision.
    Result<ClipEdit> updateClip(model::ShowId show, model::ClipId clip, const model::ClipPatch& patch,
                                const Origin& origin = {});
    // A tab's record (name, grid) is replaced whole; cells are kept whatever
    // the grid size (cells outside it are hidden, not deleted).
    Result<std::uint64_t> updateTab(model::ShowId show, int page, int tab, const model::Tab& t, const Origin& origin = {});
    // Puts `clip` into a cell, or empties it (std::nullopt).
    Result<std::uint64_t> setCell(model::ShowId show, int page, int tab, int row, int col,
                                  std::optional<model::ClipId> clip, const Origin& origin = {});
    // A new clip (its id is assigned here), optionally placed in an empty
    // cell; a removed clip takes its cells and the mappings that fire it.
    Result<ClipEdit> addClip(model::ShowId show, model::Clip clip, std::optional<model::Cell> cell, const Origin& origin = {});
    Result<std::uint64_t> deleteClip(model::ShowId show, model::ClipId clip, const Origin& origin = {});
    // Moves a cell's clip to another cell; an occupied target swaps.
    Result<std::uint64_t> moveCell(model::ShowId show, const model::Cell& from, const model::Cell& to,
                                   const Origin& origin = {});
    // Show name, view mode, active page; a page's name and active tab.
    Result<std::uint64_t> updateShowInfo(const model::Show& s, const Origin& origin = {});
    Result<std::uint64_t> updatePage(model::ShowId show, int page, const model::Page& p, const Origin& origin = {});
    // Appends a page (8 empty tabs); returns the new revision.
    Result<std::uint64_t> addPage(model::ShowId show, const model::Page& p, const Origin& origin = {});
    // Removes a page and its cells (the clips stay in the show); later
    // pages move up by one.
    Result<std::uint64_t> deletePage(model::ShowId show, int page, const Origin& origin = {});
    // Replaces the show's audio configuration.
    Result<std::uint64_t> updateAudio(model::ShowId show, const model::AudioConfig& audio, const Origin& origin = {});
    // Replaces one settings section (validated by the caller).
    Result<std::uint64_t> updateSettings(model::ShowId show, const std::string& section, const boost::json::object& values,
                                         const Origin& origin = {});
    // Stores a control mapping; id 0 = a new one (its id is returned in .first).
    Result<std::pair<std::uint64_t, std::uint64_t>> putMapping(model::ShowId show, std::uint64_t id,
                                                               const boost::json::object& mapping, const Origin& origin = {});
    Result<std::uint64_t> deleteMapping(model::ShowId show, std::uint64_t id, const Origin& origin = {});

    // --- The media library and media checks. Not undoable: the files exist
    // whatever the history says. A relink (a clip's file changing) is.
    Result<std::uint64_t> putMedia(model::ShowId show, const model::MediaRecord& m, const Origin& origin = {});
    // Refused (409, naming the clips) while a clip plays it.
    Result<std::uint64_t> deleteMedia(model::ShowId show, const std::string& id, const Origin& origin = {});
    // The media record of `id` in `show`, with its waveform.
    Result<std::optional<model::MediaRecord>> media(model::ShowId show, const std::string& id) const;
    // A check's result, written only if the clip still plays `clipFile`
    // (a check works from a copy of the show: an edit or relink made
    // meanwhile wins, and a deleted clip gets no record).
    struct CheckWrite {
        model::MediaCheck check;
        std::string clipFile;
    };
    // Replaces the check records of the clips named (one transaction);
    // returns the revision and how many were written.
    Result<std::pair<std::uint64_t, std::size_t>> putMediaChecks(model::ShowId show, const std::vector<CheckWrite>& checks,
                                                                 const Origin& origin = {});
    // Points a clip at another file (and media record, "" = none) together
    // with its check record, as one undoable edit. With `expectedFile`, a
    // clip that no longer plays that file is left alone (409).
    Result<std::uint64_t> relinkClip(model::ShowId show, model::ClipId clip, const std::string& file,
                                     const std::string& media, const model::MediaCheck& check, const Origin& origin = {},
                                     const std::optional<std::string>& expectedFile = std::nullopt);

    // --- Change history, undo and redo (per show, kept across restarts;
    // the newest 1000 edits).
    Result<std::vector<HistoryEntry>> history(model::ShowId show, std::size_t limit) const;
    // Reverts the newest applied edit / re-applies the oldest undone one.
    // Conflict when there is nothing to undo/redo. Returns the new revision.
    Result<std::uint64_t> undo(model::ShowId show, const Origin& origin = {});
    Result<std::uint64_t> redo(model::ShowId show, const Origin& origin = {});
    // Time of the newest edit of the show ("" if none recorded).
    Result<std::string> lastEditTime(model::ShowId show) const;

    // --- Recovery points (per show): whole-show copies inside the store.
    // Of each automatic kind, those beyond the newest `keepAuto` are dropped.
    Result<RecoveryPoint> createRecoveryPoint(model::ShowId show, const std::string& name, const std::string& kind,
                                              std::size_t keepAuto = 20);
    Result<std::vector<RecoveryPoint>> recoveryPoints(model::ShowId show) const;
    // Puts the show back as it was at the point (an undoable edit).
    Result<std::uint64_t> restoreRecoveryPoint(model::ShowId show, std::uint64_t point, const Origin& origin = {});
    Status deleteRecoveryPoint(model::ShowId show, std::uint64_t point);

    // --- Event log (all shows), oldest first.
    Status appendLog(std::vector<LogEntry> entries);
    Result<std::vector<LogEntry>> readLog(std::uint64_t fromNs, std::uint64_t toNs, std::size_t limit) const;
    // The same, newest first when `newestFirst` (the newest `limit` entries
    // up to `toNs`), only entries of `kind` when it is not empty (filtered
    // before the limit counts).
    Result<std::vector<LogEntry>> readLog(std::uint64_t fromNs, std::uint64_t toNs, std::size_t limit, bool newestFirst,
                                          std::string_view kind) const;
    // Drops entries older than `maxAgeS` and, oldest first, beyond `maxBytes`
    // of records. Returns how many were dropped.
    Result<std::size_t> pruneLog(std::uint64_t maxAgeS, std::uint64_t maxBytes);

    // --- Search: clips whose label or file name has a word starting with
    // each word of `query` (case-insensitive), by id.
    // The box's show lock (operator mode: performing only), a small JSON
    // record kept in the store's meta table so it survives restarts; ""
    // when never set. Writing it is logged (`lock` kind) but is no edit of
    // the show (never in its undo history).
    Result<std::string> lockRecord() const;
    Status putLockRecord(const std::string& record, const std::string& what, const Origin& origin = {});
    // The box's records in general: "ui_lock" (above), "control" (OSC and
    // MIDI access), "access" (users and sessions). Writing one is logged as
    // `kind` with `what` (not logged when `what` is empty). A backup restore
    // keeps the box's records as they are.
    Result<std::string> boxRecord(std::string_view key) const;
    Status putBoxRecord(std::string_view key, const std::string& record, const std::string& kind, const std::string& what,
                        const Origin& origin = {});
    Result<std::vector<model::ClipId>> search(model::ShowId show, const std::string& query, std::size_t limit) const;

    // --- Show bundles (Bundle.h builds on these): a show's records as one
    // opaque string, and a new show made from such a string (renamed, clip
    // files mapped through `files`). Returns {show id, revision}.
    Result<std::string> showRecords(model::ShowId show) const;
    // Checks such a string before anything is stored: every record well
    // formed and of one show. On import, a clip file is mapped through
    // `files`; one the bundle did not carry stays a plain relative path, and
    // an absolute one or one with ".." becomes "media/<its name>" (missing
    // until relinked): never a file outside the data folder.
    Status checkShowRecords(const std::string& records) const;
    Result<std::pair<model::ShowId, std::uint64_t>> importShowRecords(const std::string& records, const std::string& name,
                                                                      const std::map<std::string, std::string>& files,
                                                                      const Origin& origin = {});

    // --- Whole-store copies (Backup.h builds backups on these).
    // A compact copy of the environment into `file` (mdb_env_copy2 with
    // compaction); returns the revision it holds.
    Result<std::uint64_t> copyTo(const std::string& file) const;
    // Replaces every record of every table with those of the store in
    // `otherDir` (opened read-only), in one transaction.
    Result<std::uint64_t> replaceFrom(const std::string& otherDir, const Origin& origin = {});

    struct Impl;

private:
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    std::uint32_t formatVersion_ = 0;
    std::string dir_;
    friend struct Migrations;
};

}  // namespace cuebox::store
