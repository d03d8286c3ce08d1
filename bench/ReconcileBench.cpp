// Missing-media search on a big media tree: 1000 folders x 100 files of a
// few bytes each (100,000 files, sizes varied over 200 values), written once
// into /tmp/cuebox-reconcile-bench.
//   - the cold index scan of the whole tree (empty index; the OS's caches are
//     as the tree writing or earlier runs left them)
//   - warm searches (index built, hashes of the same-size files cached by a
//     first search): a missing file with one hash match, one with several
//     name matches, one with no match at all (budget < 2 s each)
#include "base/Sha256.h"
#include "media/Reconcile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

using namespace cuebox;
using namespace cuebox::media;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

constexpr int kFolders = 1000;
constexpr int kFilesPerFolder = 100;
constexpr int kFiles = kFolders * kFilesPerFolder;
const std::string kRoot = "/tmp/cuebox-reconcile-bench";

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string folderOf(int d) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "/act%02d/scene%03d", d / 100, d);
    return kRoot + buf;
}

// File f of folder d: unique content (the folder and file number first),
// padded to 16..215 bytes. Every 100th folder also holds "thunder.wav"
// (different content each time): several name matches.
std::string nameOf(int d, int f) {
    if (f == 0 && d % 100 == 0) return "thunder.wav";
    char buf[32];
    std::snprintf(buf, sizeof buf, "cue%03d_%02d.wav", d, f);
    return buf;
}
std::string contentOf(int d, int f) {
    std::string s = std::to_string(d) + ":" + std::to_string(f) + ":";
    s.resize(static_cast<std::size_t>(16 + (d * 7 + f * 13) % 200), 'x');
    return s;
}

std::size_t countFiles() {
    std::error_code ec;
    if (!fs::is_directory(kRoot, ec)) return 0;
    std::size_t n = 0;
    for (auto it = fs::recursive_directory_iterator(kRoot, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec)) ++n;
    return n;
}

bool makeTree() {
    if (countFiles() == static_cast<std::size_t>(kFiles)) return true;
    std::printf("writing %d files into %s ...\n", kFiles, kRoot.c_str());
    std::error_code ec;
    fs::remove_all(kRoot, ec);
    for (int d = 0; d < kFolders; ++d) {
        fs::create_directories(folderOf(d), ec);
        if (ec) return std::fprintf(stderr, "cannot create %s: %s\n", folderOf(d).c_str(), ec.message().c_str()), false;
        for (int f = 0; f < kFilesPerFolder; ++f) {
            std::ofstream out(folderOf(d) + "/" + nameOf(d, f), std::ios::binary);
            out << contentOf(d, f);
            if (!out) return std::fprintf(stderr, "cannot write into %s\n", folderOf(d).c_str()), false;
        }
    }
    return true;
}

struct Case {
    const char* what;
    MissingMedia m;
};

}  // namespace

int main() {
    if (!makeTree()) return 1;
    SearchPlan plan;
    plan.primary = kRoot;
    plan.proximity = false;

    FileIndex index;
    const auto t0 = Clock::now();
    auto n = index.scan({kRoot});
    const auto t1 = Clock::now();
    if (!n) return std::fprintf(stderr, "%s\n", n.error().reason.c_str()), 1;
    std::printf("index scan of %zu files (cold): %.0f ms\n", *n, ms(t1 - t0));

    // One hash match: a file renamed and moved (the name matches nothing).
    Case one{"one hash match", {}};
    one.m.path = "/show/old/renamed_cue.wav";
    one.m.sha256 = sha256Hex(contentOf(517, 42));
    one.m.size = static_cast<std::int64_t>(contentOf(517, 42).size());
    // Several name matches: "thunder.wav" lives in 10 folders, none with this content.
    Case several{"several name matches", {}};
    several.m.path = "/show/old/thunder.wav";
    several.m.sha256 = sha256Hex("the thunder that was");
    several.m.size = 100;
    // Nothing: unknown name, a size no file has.
    Case none{"no match", {}};
    none.m.path = "/show/old/nothing_like_it.wav";
    none.m.sha256 = sha256Hex("nothing");
    none.m.size = 5000;

    for (Case* c : {&one, &several, &none}) {
        // First search: hashes the same-size files (cold hash cache).
        const auto a = Clock::now();
        auto first = findCandidates(index, c->m, plan);
        const auto b = Clock::now();
        if (!first) return std::fprintf(stderr, "%s\n", first.error().reason.c_str()), 1;
        // Warm: best of 5.
        double best = 1e9;
        std::size_t found = 0, hashMatches = 0;
        for (int i = 0; i < 5; ++i) {
            const auto s = Clock::now();
            auto r = findCandidates(index, c->m, plan);
            const double t = ms(Clock::now() - s);
            if (!r) return std::fprintf(stderr, "%s\n", r.error().reason.c_str()), 1;
            best = std::min(best, t);
            found = r->candidates.size();
            hashMatches = 0;
            for (const auto& cand : r->candidates) hashMatches += cand.hashMatch ? 1 : 0;
        }
        std::printf("reconcile search over %zu files, warm index, %s: %.1f ms (budget < 2 s)\n", index.size(), c->what, best);
        std::printf("    %zu candidates, %zu hash matches; first search (hash cache cold) %.1f ms; %s\n", found, hashMatches, ms(b - a),
                    first->patterns.empty() ? "" : first->patterns.front().c_str());
    }
    return 0;
}
