// Show bundles: one portable file holding a show (its records), the media
// its clips use and a manifest with the SHA-256 of every entry, to carry a
// show to another box. Import refuses — with the reason, changing nothing —
// a file that is not a bundle, a bundle from newer firmware, one that is
// truncated, has a bad hash, a missing or extra entry, or an entry name
// that would escape the media folder (absolute, "..", backslashes).
//
// File layout (all integers big-endian):
//   "CUEBOXB1"                         8-byte magic
//   entry*: u32 name length, name (UTF-8), u64 size, bytes
// The first entry is "manifest.json":
//   {"format":"cuebox-bundle","bundle_version":1,"store_format":N,
//    "created","show_name","files":{clip file: entry name},
//    "entries":[{"name","bytes","sha256"}...]}
// then "show.records" (the show's records) and "media/..." entries.
// Control threads only.
#pragma once

#include "store/Store.h"

#include <string>

namespace cuebox::store {

inline constexpr std::uint32_t kBundleVersion = 1;

struct BundleInfo {
    std::string file;
    std::uint64_t bytes = 0;
    std::string sha256;  // of the whole bundle file
    std::size_t mediaFiles = 0;
    std::size_t missingMedia = 0;  // clip files that were not on this box
};

// Writes show `show` with its media (clip files relative to `dataDir`, or
// absolute) to `file` (written as file.partial, then renamed).
Result<BundleInfo> exportBundle(const Store& store, model::ShowId show, const std::string& dataDir, const std::string& file);

struct ImportResult {
    model::ShowId show = 0;
    std::uint64_t revision = 0;
    std::size_t mediaFiles = 0;
};
// Validates the whole bundle first, then puts its media under
// <dataDir>/media/imported/<bundle id>/ and stores the show (with its clip
// files pointing there) under a new id and `name` (empty = the bundle's).
Result<ImportResult> importBundle(Store& store, const std::string& file, const std::string& dataDir,
                                  const std::string& name, const Origin& origin);

}  // namespace cuebox::store
