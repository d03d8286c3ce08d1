// Forward migrations of the stored format. Each runs, after a backup of the
// store as it was, in one write transaction together with the new format
// version and its line in the update history: a migration is all or nothing.
#include "base/Time.h"
#include "model/Field.h"
#include "store/Backup.h"
#include "store/Impl.h"

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace cuebox::store {
namespace json = boost::json;

namespace {

// 1 -> 2: the tables for settings, mappings, the search index, history,
// recovery points and the log; the search index built from every clip.
int migrate1to2(Store::Impl& impl, MDB_txn* t) {
    if (int rc = impl.openTables(t, true)) return rc;
    std::vector<std::pair<std::string, std::string>> clips;
    int rc = impl.scan(t, impl.dbi(Table::clips), "", [&](std::string_view k, std::string_view v) {
        clips.emplace_back(k, v);
        return true;
    });
    for (std::size_t i = 0; rc == 0 && i < clips.size(); ++i) {
        const std::string& key = clips[i].first;
        if (key.size() != 16) continue;
        for (const auto& w : searchWords(clips[i].second))
            if (rc == 0) rc = impl.put(t, impl.dbi(Table::search), key.substr(0, 8) + w + std::string(1, '\0') + key.substr(8), "");
    }
    return rc;
}

// 2 -> 3: the media library and media check tables (empty: media imported
// from now on gets a record; clips made before keep their plain file).
int migrate2to3(Store::Impl& impl, MDB_txn* t) { return impl.openTables(t, true); }

struct Step {
    std::uint32_t from;
    int (*apply)(Store::Impl&, MDB_txn*);
};
constexpr Step kSteps[] = {{1, migrate1to2}, {2, migrate2to3}};

}  // namespace

Result<std::unique_ptr<Store>> Migrations::run(const Options& o, std::uint32_t from) {
    const std::string where = "store: migrate '" + o.dir + "' from format " + std::to_string(from) + " to " +
                              std::to_string(kFormatVersion);
    if (o.backupDir.empty())
        return makeError(Errc::conflict, "format_version", where + ": no backup location to keep the old store in first");
    auto impl = std::make_unique<Store::Impl>();
    int rc = mdb_env_create(&impl->env);
    if (rc == 0) rc = mdb_env_set_maxdbs(impl->env, 24);
    if (rc == 0) rc = mdb_env_set_mapsize(impl->env, o.mapSize);
    if (rc == 0) rc = mdb_env_open(impl->env, o.dir.c_str(), MDB_NOTLS, 0660);
    if (rc) return mdbError(where, rc);
    // The revision the old store holds, for the backup's manifest.
    std::uint64_t revision = 0;
    {
        Txn txn(impl->env, false);
        if (txn.rc()) return mdbError(where, txn.rc());
        rc = mdb_dbi_open(txn.get(), "meta", 0, &impl->meta);
        if (rc == 0) revision = impl->metaU64(txn.get(), "revision");
        if (rc == 0) rc = txn.commit();  // keeps the meta handle
        if (rc) return mdbError(where + ": table meta", rc);
    }
    // 1. The store as it was, kept whole.
    auto backup = createBackupWith(
        [&](const std::string& file) -> Result<std::uint64_t> {
            int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
            if (fd < 0) return makeError(Errc::io, "backup", where + ": " + std::strerror(errno));
            int r = mdb_env_copyfd2(impl->env, fd, MDB_CP_COMPACT);
            if (r == 0 && ::fsync(fd) != 0) r = errno;
            ::close(fd);
            if (r) return mdbError(where + ": backup", r);
            return revision;
        },
        from, o.backupDir, "before migration from format " + std::to_string(from) + " to " + std::to_string(kFormatVersion),
        100);
    if (!backup) return backup.error().context(where);
    // 2. Every step, the version and the update history in one transaction.
    {
        Txn txn(impl->env, true);
        if (txn.rc()) return mdbError(where, txn.rc());
        MDB_txn* t = txn.get();
        rc = mdb_dbi_open(t, "meta", MDB_CREATE, &impl->meta);
        for (const auto& step : kSteps)
            if (rc == 0 && step.from >= from) rc = step.apply(*impl, t);
        json::array steps;
        if (rc == 0) {
            auto old = impl->get(t, impl->meta, "migrations");
            if (old && old->has_value()) {
                boost::system::error_code ec;
                json::value v = json::parse(**old, ec);
                if (!ec && v.is_array()) steps = v.as_array();
            }
        }
        steps.push_back(json::object{{"from", from}, {"to", kFormatVersion}, {"time", isoNow(true)}, {"backup", backup->name}});
        if (rc == 0) rc = impl->put(t, impl->meta, "migrations", json::serialize(steps));
        if (rc == 0) rc = impl->putMetaU64(t, "format_version", kFormatVersion);
        if (rc == 0) rc = impl->putMetaU64(t, "revision", impl->metaU64(t, "revision") + 1);
        if (rc == 0)
            rc = appendLogIn(*impl, t, LogEntry{0, 0, "system", "web", "", where + " (backup " + backup->name + ")", ""});
        if (rc == 0) rc = txn.commit();
        if (rc) return mdbError(where, rc);
    }
    impl.reset();  // closes the environment before it is opened again
    return Store::open(o);
}

Result<std::vector<MigrationStep>> Store::migrations() const {
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError("store: migrations", txn.rc());
    auto rec = impl_->get(txn.get(), impl_->meta, "migrations");
    if (!rec) return rec.error();
    std::vector<MigrationStep> out;
    if (!rec->has_value()) return out;
    boost::system::error_code ec;
    json::value v = json::parse(**rec, ec);
    if (ec || !v.is_array()) return out;
    for (const auto& s : v.as_array()) {
        if (!s.is_object()) continue;
        const auto& o = s.as_object();
        MigrationStep m;
        m.from = static_cast<std::uint32_t>(model::field::count(o.if_contains("from")).value_or(0));
        m.to = static_cast<std::uint32_t>(model::field::count(o.if_contains("to")).value_or(0));
        if (auto* f = o.if_contains("time"); f && f->is_string()) m.time = std::string(f->as_string());
        if (auto* f = o.if_contains("backup"); f && f->is_string()) m.backup = std::string(f->as_string());
        out.push_back(m);
    }
    return out;
}

}  // namespace cuebox::store
