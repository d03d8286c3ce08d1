#include "media/Reconcile.h"

#include "base/Sha256.h"
#include "media/AudioFile.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>

namespace cuebox::media {
namespace {

namespace fs = std::filesystem;

// Scores of the weighted sum for candidates without a content hash match
// (capped at kMaxScore so that only a hash match reaches 1).
constexpr double kSameName = 0.5;
constexpr double kSameStem = 0.3;  // same name, other extension
constexpr double kSameSize = 0.15;
constexpr double kSameDuration = 0.2;
constexpr double kMaxScore = 0.95;
constexpr double kMinScore = 0.3;
constexpr std::size_t kMaxCandidates = 20;
constexpr double kDurationToleranceS = 0.010;

double whereBonus(const std::string& where) {
    if (where == "primary" || where == "last_good") return 0.10;
    if (where == "proximity") return 0.04;
    return 0.07;  // alternate, repository, share
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string nameOf(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "a.b.wav" -> "a.b"; a leading dot does not start an extension.
std::string stemOf(const std::string& name) {
    const auto dot = name.find_last_of('.');
    return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

std::string parentOf(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return "";
    return slash == 0 ? "/" : path.substr(0, slash);
}

int depthOf(const std::string& path) {
    return static_cast<int>(std::count(path.begin(), path.end(), '/')) - (path == "/" ? 1 : 0);
}

std::string stripTrailingSlash(std::string s) {
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

// Already absolute with no "//", "/./", "/../" or trailing slash: the form
// the index stores, so the per-file hot paths skip std::filesystem.
bool looksNormal(const std::string& p) {
    if (p.empty() || p[0] != '/') return false;
    if (p.size() > 1 && p.back() == '/') return false;
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] != '/') continue;
        if (i + 1 < p.size() && p[i + 1] == '/') return false;
        if (p.compare(i, 3, "/./") == 0 || p.compare(i, 4, "/../") == 0) return false;
        if (p.size() - i == 2 && p[i + 1] == '.') return false;
        if (p.size() - i == 3 && p.compare(i, 3, "/..") == 0) return false;
    }
    return true;
}

// Absolute and lexically normal (no symlinks resolved).
std::string lexical(const std::string& p) {
    if (looksNormal(p)) return p;
    std::error_code ec;
    fs::path a = fs::absolute(p, ec);
    if (ec) a = fs::path(p);
    return stripTrailingSlash(a.lexically_normal().string());
}

// Folders are compared in canonical form (symlinks resolved), so two roots
// that name the same folder through a link do not index its files twice.
std::string canonicalDir(const std::string& p) {
    std::error_code ec;
    fs::path c = fs::weakly_canonical(p, ec);
    if (ec) return lexical(p);
    return stripTrailingSlash(c.string());
}

bool isUnder(const std::string& path, const std::string& root) {
    if (root == "/") return !path.empty() && path[0] == '/';
    return path.size() >= root.size() && path.compare(0, root.size(), root) == 0 &&
           (path.size() == root.size() || path[root.size()] == '/');
}

bool isDirectory(const std::string& p) {
    struct stat st {};
    return !p.empty() && ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::int64_t mtimeNsOf(const struct stat& st) {
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

struct Found {
    std::string path;
    std::int64_t size;
    std::int64_t mtimeNs;
};

// Depth-first walk with opendir/fstatat (one stat per file, relative to the
// open folder: much cheaper than std::filesystem's per-call path lookups on
// 100k files). Hidden entries (names starting with '.') are skipped, folders
// and files alike (.Trashes, .DS_Store, macOS "._" resource forks);
// symlinked folders are not followed, a symlinked file is indexed under the
// link's path; folders that cannot be opened are skipped. `tick` is called
// every 4096 files; false cancels (the walk then returns false).
bool walk(const std::string& root, std::vector<Found>& out, const std::function<bool()>& tick) {
    std::vector<std::string> stack{root};
    while (!stack.empty()) {
        const std::string dir = std::move(stack.back());
        stack.pop_back();
        std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
        if (!d) continue;
        const int fd = ::dirfd(d.get());
        const std::string prefix = dir == "/" ? "/" : dir + "/";
        while (const dirent* e = ::readdir(d.get())) {
            const char* n = e->d_name;
            if (n[0] == '.') continue;
            unsigned char type = e->d_type;
            struct stat st {};
            if (type != DT_DIR) {
                if (::fstatat(fd, n, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
                if (S_ISDIR(st.st_mode)) type = DT_DIR;
                else if (S_ISLNK(st.st_mode)) type = DT_LNK;
                else if (S_ISREG(st.st_mode)) type = DT_REG;
                else continue;  // devices, fifos, sockets
            }
            if (type == DT_DIR) {
                stack.push_back(prefix + n);
                continue;
            }
            if (type == DT_LNK && (::fstatat(fd, n, &st, 0) != 0 || !S_ISREG(st.st_mode))) continue;
            out.push_back(Found{prefix + n, static_cast<std::int64_t>(st.st_size), mtimeNsOf(st)});
            if ((out.size() & 4095) == 0 && !tick()) return false;
        }
    }
    return true;
}

// Erases the first `i` from the bucket at `key` (order inside a bucket does
// not matter), dropping the bucket when it empties.
template <typename Map, typename Key>
void unbucket(Map& m, const Key& key, std::size_t i) {
    auto it = m.find(key);
    if (it == m.end()) return;
    auto& v = it->second;
    auto pos = std::find(v.begin(), v.end(), i);
    if (pos != v.end()) {
        *pos = v.back();
        v.pop_back();
    }
    if (v.empty()) m.erase(it);
}

std::string shortHash(const std::string& h) { return h.size() > 8 ? h.substr(0, 8) + "\u2026" : h; }

// "//fileserver/sfx" maps "//fileserver/sfx/act1/a.wav" but not
// "//fileserver/sfx2/a.wav". Backslashes count as slashes (paths written on
// Windows machines).
bool mapsUnder(std::string path, std::string from, std::string& rest) {
    std::replace(path.begin(), path.end(), '\\', '/');
    std::replace(from.begin(), from.end(), '\\', '/');
    while (from.size() > 1 && from.back() == '/') from.pop_back();
    if (from.empty() || path.compare(0, from.size(), from) != 0) return false;
    if (path.size() > from.size() && path[from.size()] != '/' && from.back() != '/') return false;
    rest = path.substr(from.size());
    while (!rest.empty() && rest[0] == '/') rest.erase(0, 1);
    return true;
}

}  // namespace

// ---- FileIndex ---------------------------------------------------------------

void FileIndex::add(IndexedFile f) {
    const std::size_t i = files_.size();
    const std::string name = lower(nameOf(f.path));
    byPath_[f.path] = i;
    bySize_[f.size].push_back(i);
    byStem_[stemOf(name)].push_back(i);
    byName_[name].push_back(i);
    files_.push_back(Entry{std::move(f), generation_, true});
    ++live_;
}

void FileIndex::refresh(std::size_t i, std::int64_t size, std::int64_t mtimeNs) {
    IndexedFile& f = files_[i].file;
    if (f.size != size) {
        unbucket(bySize_, f.size, i);
        bySize_[size].push_back(i);
        f.size = size;
    }
    f.mtimeNs = mtimeNs;
}

void FileIndex::remove(std::size_t i) {
    Entry& e = files_[i];
    if (!e.live) return;
    const std::string name = lower(nameOf(e.file.path));
    unbucket(bySize_, e.file.size, i);
    unbucket(byName_, name, i);
    unbucket(byStem_, stemOf(name), i);
    byPath_.erase(e.file.path);
    hashCache_.erase(e.file.path);
    durationCache_.erase(e.file.path);
    e.live = false;
    e.file.path.clear();
    --live_;
}

// Dead slots cost memory and time in the per-root sweep of scan(); once they
// outnumber the live ones, rebuild the tables from the live entries.
void FileIndex::compact() {
    const std::size_t dead = files_.size() - live_;
    if (dead < 1024 || dead < live_) return;
    std::vector<Entry> old;
    old.swap(files_);
    byPath_.clear();
    bySize_.clear();
    byName_.clear();
    byStem_.clear();
    live_ = 0;
    files_.reserve(old.size() - dead);
    for (auto& e : old)
        if (e.live) {
            const std::uint32_t seen = e.seen;
            add(std::move(e.file));
            files_.back().seen = seen;
        }
}

Result<std::size_t> FileIndex::scan(const std::vector<std::string>& roots, const Progress& progress) {
    try {
        // Canonical, without duplicates or roots nested in another one of
        // this call (the outer walk finds their files anyway).
        std::vector<std::string> rs;
        for (const auto& r : roots)
            if (!r.empty()) rs.push_back(canonicalDir(r));
        std::sort(rs.begin(), rs.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
        std::vector<std::string> todo;
        for (const auto& r : rs)
            if (std::none_of(todo.begin(), todo.end(), [&](const auto& t) { return isUnder(r, t); })) todo.push_back(r);

        std::size_t total = 0;
        for (std::size_t k = 0; k < todo.size(); ++k) {
            const std::string& root = todo[k];
            std::vector<Found> found;
            const bool exists = isDirectory(root);
            if (exists) {
                if (progress && !progress(static_cast<double>(k) / static_cast<double>(todo.size())))
                    return makeError(Errc::conflict, "cancelled", "the media scan of '" + root + "' was cancelled");
                // The file count of a root is unknown beforehand: the
                // fraction creeps towards the root's end as files come in.
                auto tick = [&] {
                    const double n = static_cast<double>(found.size());
                    return !progress || progress((static_cast<double>(k) + n / (n + 20000.0)) / static_cast<double>(todo.size()));
                };
                if (!walk(root, found, tick)) return makeError(Errc::conflict, "cancelled", "the media scan of '" + root + "' was cancelled");
            }
            // Replace what was known under the root: refresh or add what the
            // walk saw, drop the rest.
            const std::uint32_t gen = ++generation_;
            for (auto& f : found) {
                auto it = byPath_.find(f.path);
                if (it != byPath_.end()) {
                    refresh(it->second, f.size, f.mtimeNs);
                    files_[it->second].seen = gen;
                } else {
                    add(IndexedFile{std::move(f.path), f.size, f.mtimeNs});
                }
            }
            for (std::size_t i = 0; i < files_.size(); ++i)
                if (files_[i].live && files_[i].seen != gen && isUnder(files_[i].file.path, root)) remove(i);
            total += found.size();
            // A missing root covers nothing; a scanned one replaces the
            // scanned roots inside it.
            const bool covered = std::any_of(roots_.begin(), roots_.end(), [&](const auto& r) { return isUnder(root, r); });
            if (!exists || !covered)
                roots_.erase(std::remove_if(roots_.begin(), roots_.end(), [&](const auto& r) { return isUnder(r, root); }), roots_.end());
            if (exists && !covered) roots_.push_back(root);
        }
        compact();
        if (progress) progress(1.0);
        return total;
    } catch (const std::exception& e) {
        return makeError(Errc::internal, "index", std::string("media scan failed: ") + e.what());
    }
}

void FileIndex::note(const std::string& path) {
    try {
        // The folder in canonical form (as scan() stores paths), the file
        // name as is: a symlinked file stays indexed under its link.
        const std::string abs = lexical(path);
        const std::string dir = canonicalDir(parentOf(abs));
        const std::string key = (dir == "/" ? "" : dir) + "/" + nameOf(abs);
        auto it = byPath_.find(key);
        struct stat st {};
        if (::stat(key.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
            if (it != byPath_.end()) remove(it->second);
            return;
        }
        if (it != byPath_.end()) refresh(it->second, static_cast<std::int64_t>(st.st_size), mtimeNsOf(st));
        else add(IndexedFile{key, static_cast<std::int64_t>(st.st_size), mtimeNsOf(st)});
    } catch (const std::exception&) {
        // Out of memory: the index just stays without this file.
    }
}

std::size_t FileIndex::size() const { return live_; }

bool FileIndex::covers(const std::string& root) const {
    if (roots_.empty() || root.empty()) return false;
    const std::string c = canonicalDir(root);
    return std::any_of(roots_.begin(), roots_.end(), [&](const auto& r) { return isUnder(c, r); });
}

namespace {
template <typename Map, typename Key>
std::vector<const IndexedFile*> bucketOf(const Map& m, const Key& key, const auto& files) {
    std::vector<const IndexedFile*> out;
    auto it = m.find(key);
    if (it == m.end()) return out;
    out.reserve(it->second.size());
    for (std::size_t i : it->second) out.push_back(&files[i].file);
    return out;
}
}  // namespace

std::vector<const IndexedFile*> FileIndex::withSize(std::int64_t size) const { return bucketOf(bySize_, size, files_); }
std::vector<const IndexedFile*> FileIndex::withName(const std::string& lowerName) const {
    return bucketOf(byName_, lowerName, files_);
}
std::vector<const IndexedFile*> FileIndex::withStem(const std::string& lowerStem) const {
    return bucketOf(byStem_, lowerStem, files_);
}

Result<std::string> FileIndex::hash(const std::string& path) {
    try {
        const std::string p = lexical(path);
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0)
            return makeError(Errc::not_found, "file", "cannot read '" + p + "': " + std::strerror(errno));
        const auto size = static_cast<std::int64_t>(st.st_size);
        const auto mtime = mtimeNsOf(st);
        auto it = hashCache_.find(p);
        if (it != hashCache_.end() && it->second.size == size && it->second.mtimeNs == mtime) return it->second.hash;
        auto h = sha256File(p);
        if (!h) return h.error();
        Cached& c = hashCache_[p];
        c.hash = *h;
        c.size = size;
        c.mtimeNs = mtime;
        return h;
    } catch (const std::exception& e) {
        return makeError(Errc::internal, "file", std::string("hashing failed: ") + e.what());
    }
}

double FileIndex::durationS(const std::string& path) {
    try {
        const std::string p = lexical(path);
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return -1.0;
        const auto size = static_cast<std::int64_t>(st.st_size);
        const auto mtime = mtimeNsOf(st);
        auto it = durationCache_.find(p);
        if (it != durationCache_.end() && it->second.size == size && it->second.mtimeNs == mtime) return it->second.durationS;
        auto info = probeAudioFile(p);
        Cached& c = durationCache_[p];
        c.durationS = info ? info->durationS() : -1.0;
        c.size = size;
        c.mtimeNs = mtime;
        return c.durationS;
    } catch (const std::exception&) {
        return -1.0;
    }
}

// ---- Search ------------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> searchRoots(const MissingMedia& m, const SearchPlan& plan) {
    std::vector<std::pair<std::string, std::string>> out;
    auto addRoot = [&](const std::string& folder, const char* where) {
        if (folder.empty() || !isDirectory(folder)) return;
        std::string c = canonicalDir(folder);
        for (const auto& r : out)
            if (r.first == c) return;
        out.emplace_back(std::move(c), where);
    };
    try {
        addRoot(plan.primary, "primary");
        for (const auto& a : plan.alternates) addRoot(a, "alternate");
        addRoot(plan.repository, "repository");
        for (const auto& p : m.lastKnownGood)
            if (!p.empty()) addRoot(parentOf(lexical(p)), "last_good");
        // A share path (or a last known one) looked for under its mapping.
        std::vector<std::string> old;
        if (!m.path.empty()) old.push_back(m.path);
        old.insert(old.end(), m.lastKnownGood.begin(), m.lastKnownGood.end());
        for (const auto& [from, to] : plan.shareMappings) {
            for (const auto& p : old) {
                std::string rest;
                if (to.empty() || !mapsUnder(p, from, rest)) continue;
                const std::string mapped = stripTrailingSlash(to) + (rest.empty() ? "" : "/" + rest);
                addRoot(parentOf(lexical(mapped)), "share");
            }
        }
        // Proximity: the old folder and its parent (which holds its
        // siblings). Bounded: never a folder right under "/" (/media, /home,
        // /tmp), whose subtree can be the whole box.
        if (plan.proximity && !m.path.empty()) {
            const std::string folder = parentOf(lexical(m.path));
            const std::string up = parentOf(folder);
            if (depthOf(folder) >= 2) addRoot(folder, "proximity");
            if (depthOf(up) >= 2) addRoot(up, "proximity");
        }
    } catch (const std::exception&) {
        // Out of memory: search what was gathered.
    }
    return out;
}

Result<SearchResult> findCandidates(FileIndex& index, const MissingMedia& m, const SearchPlan& plan) {
    try {
        SearchResult result;
        const auto roots = searchRoots(m, plan);
        std::vector<std::string> toScan;
        for (const auto& [folder, where] : roots) {
            result.roots.push_back(folder);
            if (!index.covers(folder)) toScan.push_back(folder);
        }
        if (roots.empty()) {
            result.patterns.push_back("no search folder exists");
            return result;
        }
        if (!toScan.empty()) {
            auto s = index.scan(toScan);
            if (!s) return s.error().context("reconcile");
        }

        const std::string name = lower(nameOf(lexical(m.path)));
        const std::string stem = stemOf(name);
        const std::string sha = lower(m.sha256);
        const std::string sourceSha = lower(m.sourceSha256);

        // The root a file was found under: the best placed of those holding
        // it (a last-good folder inside the repository counts as last_good).
        auto rootOf = [&](const std::string& path) -> int {
            int best = -1;
            for (std::size_t r = 0; r < roots.size(); ++r)
                if (isUnder(path, roots[r].first) &&
                    (best < 0 || whereBonus(roots[r].second) > whereBonus(roots[static_cast<std::size_t>(best)].second)))
                    best = static_cast<int>(r);
            return best;
        };

        struct Considered {
            std::string path;
            std::int64_t size;
            std::int64_t mtimeNs;
            int root;
            bool sameName = false, sameStem = false;
        };
        std::vector<Considered> files;
        std::unordered_map<std::string, std::size_t> at;
        enum class By { name, stem, size };
        auto consider = [&](const IndexedFile* f, By by) {
            auto it = at.find(f->path);
            std::size_t i;
            if (it != at.end()) {
                i = it->second;
            } else {
                const int r = rootOf(f->path);
                if (r < 0) return;
                i = files.size();
                at.emplace(f->path, i);
                files.push_back(Considered{f->path, f->size, f->mtimeNs, r});
            }
            if (by == By::name) files[i].sameName = true;
            if (by == By::stem) files[i].sameStem = true;
        };
        if (!name.empty()) {
            for (const auto* f : index.withName(name)) consider(f, By::name);
            for (const auto* f : index.withStem(stem)) consider(f, By::stem);
        }
        const std::size_t nameMatches = files.size();
        // Files of the same size matter only when they are hashed (a known
        // content hash) or probed for duration; alone they score too little.
        const bool useSize = m.size >= 0 && (!sha.empty() || m.durationS > 0);
        if (useSize)
            for (const auto* f : index.withSize(m.size)) consider(f, By::size);

        std::size_t hashed = 0, sizeHashed = 0, probed = 0;
        std::vector<Candidate> out;
        for (auto& c : files) {
            // The index may be older than the file system: check the file
            // still exists as indexed, and refresh the index when not.
            struct stat st {};
            if (::stat(c.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
                index.note(c.path);
                continue;
            }
            if (static_cast<std::int64_t>(st.st_size) != c.size || mtimeNsOf(st) != c.mtimeNs) {
                index.note(c.path);
                c.size = static_cast<std::int64_t>(st.st_size);
            }
            const bool related = c.sameName || c.sameStem;
            const bool sameSize = m.size >= 0 && c.size == m.size;
            // Equal content implies equal size: with the size known only
            // files of that size are hashed for m.sha256. The original a file
            // was converted from has another size: only files named like it
            // are hashed for m.sourceSha256.
            const bool hashForSha = !sha.empty() && (m.size >= 0 ? sameSize : related);
            const bool hashForSource = !sourceSha.empty() && related;
            bool sameContent = false, sameAsOriginal = false, contentDiffers = false;
            if (hashForSha || hashForSource) {
                ++hashed;
                if (hashForSha && m.size >= 0) ++sizeHashed;
                if (auto h = index.hash(c.path)) {
                    sameContent = hashForSha && *h == sha;
                    sameAsOriginal = !sameContent && hashForSource && *h == sourceSha;
                    contentDiffers = hashForSha && !sameContent;
                }
            }
            Candidate cand;
            cand.path = c.path;
            cand.where = roots[static_cast<std::size_t>(c.root)].second;
            if (sameContent || sameAsOriginal) {
                cand.score = 1.0;
                cand.hashMatch = true;
                cand.reasons.push_back("same content hash");
                if (sameAsOriginal) cand.reasons.push_back("same content as the original it was converted from");
                if (c.sameName) cand.reasons.push_back("same name");
                out.push_back(std::move(cand));
                continue;
            }
            if (!related && !(m.durationS > 0)) continue;  // a same-size file alone cannot reach the threshold
            double s = whereBonus(cand.where);
            if (c.sameName) {
                s += kSameName;
                cand.reasons.push_back("same name");
            } else if (c.sameStem) {
                s += kSameStem;
                cand.reasons.push_back("same name, other extension");
            }
            if (sameSize) {
                s += kSameSize;
                cand.reasons.push_back("same size");
            } else if (m.size >= 0) {
                cand.reasons.push_back("different size (" + std::to_string(c.size) + " bytes, expected " + std::to_string(m.size) + ")");
            }
            if (m.durationS > 0) {
                ++probed;
                const double d = index.durationS(c.path);
                if (d >= 0 && std::abs(d - m.durationS) <= kDurationToleranceS + 1e-9) {
                    s += kSameDuration;
                    cand.reasons.push_back("duration within 10 ms");
                }
            }
            if (contentDiffers) cand.reasons.push_back("different content");
            cand.score = std::min(s, kMaxScore);
            if (cand.score >= kMinScore) out.push_back(std::move(cand));
        }

        std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
            return a.score != b.score ? a.score > b.score : a.path < b.path;
        });
        if (out.size() > kMaxCandidates) out.resize(kMaxCandidates);
        result.candidates = std::move(out);

        // What was searched, for the user to judge a "nothing found".
        const std::string named = "'" + name + "' or '" + stem + ".*'";
        if (!sha.empty()) {
            if (m.size >= 0)
                result.patterns.push_back("content hash " + shortHash(sha) + " among " + std::to_string(sizeHashed) + " files of " +
                                          std::to_string(m.size) + " bytes");
            else
                result.patterns.push_back("content hash " + shortHash(sha) + " among " + std::to_string(hashed) + " files named " + named);
        }
        if (!sourceSha.empty())
            result.patterns.push_back("content hash of the original " + shortHash(sourceSha) + " among " +
                                      std::to_string(nameMatches) + " files named " + named);
        if (!name.empty())
            for (const auto& [folder, where] : roots)
                result.patterns.push_back(where == "proximity" ? "proximity: name " + named + " under " + folder
                                                               : "name " + named + " under " + folder + " (" + where + ")");
        if (m.durationS > 0) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "duration %.3f s within 10 ms among %zu files", m.durationS, probed);
            result.patterns.emplace_back(buf);
        }
        return result;
    } catch (const std::exception& e) {
        return makeError(Errc::internal, "media", std::string("reconcile: search failed: ") + e.what());
    }
}

}  // namespace cuebox::media
