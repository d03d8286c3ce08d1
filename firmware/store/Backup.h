// Backups: compact copies of the whole store (mdb_env_copy2 with
// compaction), one folder each under a backup location (local, a mounted USB
// stick or a network share), each with a manifest holding the copy's size
// and SHA-256. Rotated to the newest N. A backup is validated (size and hash
// against its manifest) when listed and before a restore: a corrupt or
// truncated one is refused, never restored. Control threads only.
#pragma once

#include "base/Error.h"
#include "store/Store.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cuebox::store {

struct BackupInfo {
    std::string name;  // folder name under the backup location
    std::string path;  // the folder
    std::string time;  // when it was taken (ISO 8601 UTC)
    std::string reason;
    std::uint64_t revision = 0;
    std::uint32_t formatVersion = 0;
    std::uint64_t bytes = 0;
    std::string sha256;
    bool valid = false;
    std::string problem;  // why it is not valid
};

// Takes a backup of `store` into `root`, keeping the newest `keep`.
Result<BackupInfo> createBackup(const Store& store, const std::string& root, const std::string& reason, std::size_t keep);
// The same with a copy function (used before a migration, when no Store is
// open): `copy(file)` writes the environment to `file`, returns its revision.
Result<BackupInfo> createBackupWith(const std::function<Result<std::uint64_t>(const std::string&)>& copy,
                                    std::uint32_t formatVersion, const std::string& root, const std::string& reason,
                                    std::size_t keep);
// Reads and validates one backup folder.
BackupInfo inspectBackup(const std::string& folder);
// Every backup under `root`, newest first, each validated.
std::vector<BackupInfo> listBackups(const std::string& root);
// Validates the backup `name` under `root`, then replaces the store's
// records with its records (one transaction). Refused if invalid.
Result<std::uint64_t> restoreBackup(Store& store, const std::string& root, const std::string& name, const Origin& origin);

}  // namespace cuebox::store
