// Missing-media reconciliation: an index of the files under the search roots
// (name, size, modification time; content hashes and audio durations
// computed on demand and cached), and the candidate search that scores
// files for a clip whose media has gone. Worker threads only (one thread
// uses an index at a time).
#pragma once

#include "base/Error.h"
#include "media/Analysis.h"

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cuebox::media {

struct IndexedFile {
    std::string path;  // absolute, normalised
    std::int64_t size = 0;
    std::int64_t mtimeNs = 0;
};

class FileIndex {
public:
    // Walks `roots` recursively (symlinked folders are not followed, hidden
    // folders and unreadable ones are skipped; a missing root is fine) and
    // replaces what the index knew under them. Returns the files now indexed
    // under them.
    Result<std::size_t> scan(const std::vector<std::string>& roots, const Progress& progress = {});
    // Adds or refreshes one file (after an import or a relink).
    void note(const std::string& path);
    std::size_t size() const;
    bool covers(const std::string& root) const;  // scanned already
    // Files by exact size, and by lower-cased file name / name without extension.
    std::vector<const IndexedFile*> withSize(std::int64_t size) const;
    std::vector<const IndexedFile*> withName(const std::string& lowerName) const;
    std::vector<const IndexedFile*> withStem(const std::string& lowerStem) const;
    // SHA-256 (hex) of a file, cached by (path, size, mtime).
    Result<std::string> hash(const std::string& path);
    // Audio duration in seconds from the file's header (cached), < 0 when
    // the file is not audio libsndfile reads.
    double durationS(const std::string& path);

private:
    // One indexed file; `live` is false for a slot whose file dropped out
    // (slots are reused by nothing; compact() squeezes them out now and then).
    struct Entry {
        IndexedFile file;
        std::uint32_t seen = 0;  // scan generation that last saw it
        bool live = true;
    };
    struct Cached {  // a hash or duration valid while size and mtime are unchanged
        std::string hash;
        double durationS = -1.0;
        std::int64_t size = -1;
        std::int64_t mtimeNs = 0;
    };
    void add(IndexedFile f);
    void refresh(std::size_t i, std::int64_t size, std::int64_t mtimeNs);
    void remove(std::size_t i);
    void compact();

    std::vector<Entry> files_;
    std::size_t live_ = 0;
    std::uint32_t generation_ = 0;
    std::unordered_map<std::string, std::size_t> byPath_;
    // Buckets of indexes into files_ (dead slots are removed from them).
    std::unordered_map<std::int64_t, std::vector<std::size_t>> bySize_;
    std::unordered_map<std::string, std::vector<std::size_t>> byName_, byStem_;
    std::vector<std::string> roots_;  // scanned folders (canonical), none nested in another
    std::unordered_map<std::string, Cached> hashCache_, durationCache_;
};

// What is known of the missing file.
struct MissingMedia {
    std::string path;                      // where the clip expects it (absolute)
    std::string sha256;                    // content hash of that file ("" = unknown)
    std::string sourceSha256;              // hash of the original it was converted from ("" = none)
    std::int64_t size = -1;                // bytes (-1 = unknown)
    double durationS = 0.0;                // 0 = unknown
    std::vector<std::string> lastKnownGood;  // earlier paths where it was found (newest first)
};

struct SearchPlan {
    std::string primary;                  // the show's project media folder
    std::vector<std::string> alternates;  // alternate search paths, in order
    std::string repository;               // the central repository folder ("" = none)
    // Network share mappings: a path starting with `first` is looked for
    // under `second` instead (e.g. "//fileserver/sfx" -> "/mnt/sfx").
    std::vector<std::pair<std::string, std::string>> shareMappings;
    bool proximity = true;  // sibling and parent folders of the old location
};

struct Candidate {
    std::string path;
    double score = 0.0;      // 0..1; 1 only for a content hash match
    bool hashMatch = false;  // same content as the missing file (or as its original)
    std::string where;       // primary | alternate | repository | last_good | share | proximity
    std::vector<std::string> reasons;  // "same content hash", "same name", "same size", "duration within 10 ms", ...
};

struct SearchResult {
    std::vector<Candidate> candidates;  // best first, at most 20, score >= 0.3
    std::vector<std::string> patterns;  // the searches made, human readable ("hash 3fa9… under /media/usb/show")
    std::vector<std::string> roots;     // the folders searched, in order
};

// The folders a search for `m` covers under `plan`, in order, existing ones
// only (primary, alternates, repository, the folders of the last known good
// paths, share-mapped locations, then sibling and parent folders of the old
// location).
std::vector<std::pair<std::string, std::string>> searchRoots(const MissingMedia& m, const SearchPlan& plan);  // (folder, where)
// Scans what the index does not cover yet, then scores candidates.
Result<SearchResult> findCandidates(FileIndex& index, const MissingMedia& m, const SearchPlan& plan);

}  // namespace cuebox::media
