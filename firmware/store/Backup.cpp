#include "store/Backup.h"

#include "base/Sha256.h"
#include "base/Time.h"
#include "model/Field.h"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace cuebox::store {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {
constexpr const char* kManifest = "manifest.json";
constexpr const char* kData = "data.mdb";

Status writeFileSynced(const std::string& path, const std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) return makeError(Errc::io, "backup", "cannot write '" + path + "': " + std::strerror(errno));
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return makeError(Errc::io, "backup", "cannot write '" + path + "'");
    return {};
}

void syncDir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

// A folder this code named: "20261121T101500123Z-r42". Rotation and listing
// touch nothing else in the backup location (it may be a USB stick or a
// share holding other folders).
bool backupName(const std::string& n) {
    if (n.size() < 22 || n[8] != 'T' || n[18] != 'Z' || n.compare(19, 2, "-r") != 0) return false;
    for (std::size_t i = 0; i < 18; ++i)
        if (i != 8 && !std::isdigit(static_cast<unsigned char>(n[i]))) return false;
    for (std::size_t i = 21; i < n.size(); ++i)
        if (!std::isdigit(static_cast<unsigned char>(n[i]))) return false;
    return true;
}

// "2026-11-21T10:15:00.123Z" -> "20261121T101500123Z"
std::string folderStamp(const std::string& iso) {
    std::string out;
    for (char c : iso)
        if (c != '-' && c != ':' && c != '.') out.push_back(c);
    return out;
}
}  // namespace

Result<BackupInfo> createBackupWith(const std::function<Result<std::uint64_t>(const std::string&)>& copy,
                                    std::uint32_t formatVersion, const std::string& root, const std::string& reason,
                                    std::size_t keep) {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) return makeError(Errc::io, "backup_path", "cannot create the backup location '" + root + "': " + ec.message());
    BackupInfo b;
    b.time = isoNow(true);
    b.reason = reason;
    b.formatVersion = formatVersion;
    // Written under a temporary name and renamed when complete: a backup
    // folder with its final name is always whole.
    // One temporary folder per backup: two may run at once (a requested one
    // on the worker thread, a scheduled one on the io thread).
    static std::atomic<std::uint64_t> counter{0};
    const std::string tmp = root + "/.partial-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    if (ec) return makeError(Errc::io, "backup_path", "cannot write to the backup location '" + root + "': " + ec.message());
    auto rev = copy(tmp + "/" + kData);
    if (!rev) {
        fs::remove_all(tmp, ec);
        return rev.error();
    }
    b.revision = *rev;
    auto hash = sha256File(tmp + "/" + kData, &b.bytes);
    if (!hash) return hash.error();
    b.sha256 = *hash;
    json::object m{{"format", "cuebox-backup"},
                   {"manifest_version", 1},
                   {"created", b.time},
                   {"reason", reason},
                   {"revision", b.revision},
                   {"store_format", formatVersion},
                   {"files", json::array{json::object{{"path", kData}, {"bytes", b.bytes}, {"sha256", b.sha256}}}}};
    if (auto st = writeFileSynced(tmp + "/" + kManifest, json::serialize(m)); !st) return st.error();
    syncDir(tmp);
    b.name = folderStamp(b.time) + "-r" + std::to_string(b.revision);
    b.path = root + "/" + b.name;
    fs::rename(tmp, b.path, ec);
    if (ec) return makeError(Errc::io, "backup", "cannot finish the backup '" + b.path + "': " + ec.message());
    syncDir(root);
    b.valid = true;
    // Rotation: the newest `keep` backups stay (names sort by time); only
    // folders that are backups (by name and manifest) are ever removed.
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(root, ec)) {
        const std::string n = e.path().filename().string();
        if (e.is_directory() && backupName(n) && fs::is_regular_file(e.path() / kManifest)) names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    for (std::size_t i = 0; names.size() > keep && i < names.size() - keep; ++i) fs::remove_all(root + "/" + names[i], ec);
    return b;
}

Result<BackupInfo> createBackup(const Store& store, const std::string& root, const std::string& reason, std::size_t keep) {
    return createBackupWith([&](const std::string& file) { return store.copyTo(file); }, store.formatVersion(), root,
                            reason, keep);
}

BackupInfo inspectBackup(const std::string& folder) {
    BackupInfo b;
    b.path = folder;
    b.name = fs::path(folder).filename().string();
    std::ifstream in(folder + "/" + kManifest);
    if (!in) {
        b.problem = "no manifest";
        return b;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    boost::system::error_code ec;
    json::value v = json::parse(ss.str(), ec);
    if (ec || !v.is_object() || !v.as_object().contains("files")) {
        b.problem = "the manifest is damaged";
        return b;
    }
    const auto& m = v.as_object();
    auto str = [&](const char* k) {
        const json::value* x = m.if_contains(k);
        return x && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    auto num = [&](const json::object& o, const char* k) -> std::uint64_t {
        const json::value* x = o.if_contains(k);
        return model::field::count(x).value_or(0);
    };
    if (str("format") != "cuebox-backup") {
        b.problem = "not a cuebox backup";
        return b;
    }
    b.time = str("created");
    b.reason = str("reason");
    b.revision = num(m, "revision");
    b.formatVersion = static_cast<std::uint32_t>(num(m, "store_format"));
    const json::value& files = m.at("files");
    if (!files.is_array() || files.as_array().size() != 1 || !files.as_array()[0].is_object()) {
        b.problem = "the manifest lists no store file";
        return b;
    }
    const auto& f = files.as_array()[0].as_object();
    const json::value* p = f.if_contains("path");
    const json::value* h = f.if_contains("sha256");
    if (!p || !p->is_string() || p->as_string() != kData || !h || !h->is_string()) {
        b.problem = "the manifest lists no store file";
        return b;
    }
    b.bytes = num(f, "bytes");
    b.sha256 = std::string(h->as_string());
    std::uint64_t size = 0;
    auto actual = sha256File(folder + "/" + kData, &size);
    if (!actual) {
        b.problem = "the store file is missing";
        return b;
    }
    if (size != b.bytes) {
        b.problem = "truncated: " + std::to_string(size) + " of " + std::to_string(b.bytes) + " bytes";
        return b;
    }
    if (*actual != b.sha256) {
        b.problem = "checksum mismatch: the copy is corrupt";
        return b;
    }
    b.valid = true;
    return b;
}

std::vector<BackupInfo> listBackups(const std::string& root) {
    std::vector<BackupInfo> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec))
        if (e.is_directory() && backupName(e.path().filename().string())) out.push_back(inspectBackup(e.path().string()));
    std::sort(out.begin(), out.end(), [](const BackupInfo& a, const BackupInfo& b) { return a.name > b.name; });
    return out;
}

Result<std::uint64_t> restoreBackup(Store& store, const std::string& root, const std::string& name, const Origin& origin) {
    if (!backupName(name)) return makeError(Errc::bad_request, "name", "must be a backup folder name");
    const std::string folder = root + "/" + name;
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) return makeError(Errc::not_found, "name", "no backup '" + name + "'");
    BackupInfo b = inspectBackup(folder);
    if (!b.valid) return makeError(Errc::conflict, "backup", "backup '" + name + "' is refused: " + b.problem);
    Origin o = origin;
    if (o.what.empty()) o.what = "restored backup " + name;
    return store.replaceFrom(folder, o);
}

}  // namespace cuebox::store
