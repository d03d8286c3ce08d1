// Private to the store module: the LMDB environment, transactions and the
// recording writer every edit goes through. Nothing outside firmware/store
// includes this (it is the only place besides Store.cpp that sees lmdb.h).
#pragma once

#include "store/Keys.h"
#include "store/Store.h"

#include <lmdb.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cuebox::store {

Error mdbError(const std::string& what, int rc);
inline MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

// A transaction that aborts unless committed.
class Txn {
public:
    Txn(MDB_env* env, bool write) {
        rc_ = mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &txn_);
        if (rc_) txn_ = nullptr;
    }
    ~Txn() {
        if (txn_) mdb_txn_abort(txn_);
    }
    Txn(const Txn&) = delete;
    Txn& operator=(const Txn&) = delete;
    int rc() const { return rc_; }
    MDB_txn* get() const { return txn_; }
    int commit() {
        int rc = mdb_txn_commit(txn_);
        txn_ = nullptr;
        return rc;
    }

private:
    MDB_txn* txn_ = nullptr;
    int rc_ = 0;
};

// The tables that hold a show: every key starts with the show id (u64), so
// one prefix walks, copies, snapshots or deletes a whole show. Their order
// is part of the stored format (history and recovery records name tables by
// this index): append only.
enum class Table : std::uint8_t { shows, pages, tabs, cells, clips, audio, settings, mappings, search, media, checks };
inline constexpr std::size_t kShowTables = 11;
inline constexpr std::array<const char*, kShowTables> kShowTableNames = {
    "shows", "pages", "tabs", "cells", "clips", "audio", "settings", "mappings", "search", "media", "media_checks"};

struct Store::Impl {
    MDB_env* env = nullptr;
    std::array<MDB_dbi, kShowTables> show{};  // indexed by Table
    MDB_dbi meta = 0, history = 0, recovery = 0, log = 0;
    bool readOnly = false;
    std::string readOnlyReason;  // set when a newer firmware's store is opened read-only
    bool downgraded = false;     // opened read-only only because it is newer (a backup may replace it)
    std::string dir;             // the environment folder
    std::size_t mapSize = 0;
    ~Impl() {
        if (env) mdb_env_close(env);
    }
    MDB_dbi dbi(Table t) const { return show[static_cast<std::size_t>(t)]; }

    Result<std::optional<std::string>> get(MDB_txn* t, MDB_dbi db, std::string_view key) const;
    int put(MDB_txn* t, MDB_dbi db, std::string_view key, std::string_view value) const;
    int del(MDB_txn* t, MDB_dbi db, std::string_view key) const;  // absent = 0
    std::uint64_t metaU64(MDB_txn* t, std::string_view key) const;
    int putMetaU64(MDB_txn* t, std::string_view key, std::uint64_t v) const;
    // Walks every record under `prefix` in key order; `fn` returns false to
    // stop with EINVAL.
    template <typename Fn>
    int scan(MDB_txn* t, MDB_dbi db, const std::string& prefix, Fn fn) const {
        MDB_cursor* cur = nullptr;
        int rc = mdb_cursor_open(t, db, &cur);
        if (rc) return rc;
        MDB_val k = val(prefix), v{};
        rc = mdb_cursor_get(cur, &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
        while (rc == 0) {
            std::string_view key = view(k);
            if (key.substr(0, prefix.size()) != prefix) break;
            if (!fn(key, view(v))) {
                rc = EINVAL;
                break;
            }
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    // Deletes every record under `prefix` (raw, not recorded).
    int erasePrefix(MDB_txn* t, MDB_dbi db, const std::string& prefix) const;
    Status writable(const std::string& where) const;
    // Opens every table of ours in `t` (creating the missing ones when
    // `create`).
    int openTables(MDB_txn* t, bool create);
    // Opens the environment again, read-only (after a failed restore over a
    // store from newer firmware).
    Status reopenReadOnly();
};

// One recorded change: a record's image before and after.
struct Change {
    Table table;
    std::string key;
    std::optional<std::string> before, after;
};
std::string encodeChanges(const std::vector<Change>& c);
bool decodeChanges(std::string_view s, std::vector<Change>& out);

// Records of a show as (table, key, value), for recovery points and copies.
struct Record {
    Table table;
    std::string key, value;
};
std::string encodeRecords(const std::vector<Record>& r);
bool decodeRecords(std::string_view s, std::vector<Record>& out);

// The write side of one edit: every put and delete on a show table goes
// through here, so the edit's before/after images can be kept for undo, and
// the search index follows clip records in the same transaction.
class Writer {
public:
    Writer(Store::Impl& impl, MDB_txn* t) : impl_(impl), t_(t) {}
    int put(Table table, const std::string& key, std::string_view value);
    int del(Table table, const std::string& key);
    // A put that leaves the search index alone (restoring raw records that
    // carry their own index entries).
    int putUnindexed(Table table, const std::string& key, std::string_view value);
    int delPrefix(Table table, const std::string& prefix);
    const std::vector<Change>& changes() const { return changes_; }
    MDB_txn* txn() const { return t_; }

private:
    int reindexClip(const std::string& key, const std::optional<std::string>& before,
                    const std::optional<std::string>& after);
    int rawPut(Table table, const std::string& key, std::string_view value, bool reindex);
    int rawDel(Table table, const std::string& key, bool reindex);
    Store::Impl& impl_;
    MDB_txn* t_;
    std::vector<Change> changes_;
};

// Words of a clip record that the search index holds (label and file name,
// lower case, split at anything not a letter or digit).
std::vector<std::string> searchWords(std::string_view clipRecord);
// The words of any text, as the index holds them.
std::vector<std::string> searchWordsOf(std::string_view text);

// Forward migrations (Migrations.cpp): `from` is the store's older format.
struct Migrations {
    static Result<std::unique_ptr<Store>> run(const Options& o, std::uint32_t from);
};

// Finishes an edit of `show`: keeps its changes as one history entry
// (dropping undone entries beyond the head), writes the event-log entry,
// bumps the revision and commits (synced). Returns the new revision.
// A show's creation (new, duplicate, import) is not an undoable entry:
// `undoable` false keeps it out of the history.
Result<std::uint64_t> finishEdit(Store::Impl& impl, Txn& txn, Writer& w, model::ShowId show, const Origin& origin,
                                 const std::string& where, bool undoable = true);
// Appends an event-log entry inside `t` (its key is a fresh time stamp).
int appendLogIn(Store::Impl& impl, MDB_txn* t, LogEntry e);

}  // namespace cuebox::store
