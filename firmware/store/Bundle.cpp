#include "store/Bundle.h"

#include "base/Sha256.h"
#include "base/Time.h"
#include "model/Field.h"
#include "store/Impl.h"

#include <boost/json.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <unistd.h>

namespace cuebox::store {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {
constexpr char kMagic[8] = {'C', 'U', 'E', 'B', 'O', 'X', 'B', '1'};
constexpr std::uint64_t kMaxManifest = 16u << 20;
constexpr std::uint32_t kMaxName = 1024;
constexpr std::uint64_t kMaxRecords = 64u << 20;  // a show's records are held in memory

Error badBundle(const std::string& reason) { return makeError(Errc::bad_request, "bundle", reason); }

void putBE(std::string& out, std::uint64_t v, int bytes) {
    for (int s = (bytes - 1) * 8; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

bool readBE(std::istream& in, std::uint64_t& v, int bytes) {
    unsigned char b[8];
    if (!in.read(reinterpret_cast<char*>(b), bytes)) return false;
    v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | b[i];
    return true;
}

// An entry name that stays inside the bundle's media folder.
bool safeEntryName(const std::string& n) {
    if (n == "manifest.json" || n == "show.records") return true;
    return n.rfind("media/", 0) == 0 && n.size() <= kMaxName && model::field::plainPath(n, false);
}

class Writer2 {
public:
    explicit Writer2(const std::string& path) : out_(path, std::ios::binary | std::ios::trunc) {
        out_.write(kMagic, 8);
        hash_.update(std::string_view(kMagic, 8));
    }
    bool ok() const { return static_cast<bool>(out_); }
    void entry(const std::string& name, std::string_view bytes) {
        header(name, bytes.size());
        write(bytes);
    }
    Status fileEntry(const std::string& name, const std::string& path, std::uint64_t size) {
        header(name, size);
        std::ifstream in(path, std::ios::binary);
        char buf[1 << 16];
        std::uint64_t left = size;
        while (left > 0 && in) {
            in.read(buf, static_cast<std::streamsize>(std::min<std::uint64_t>(sizeof buf, left)));
            const auto n = static_cast<std::size_t>(in.gcount());
            if (n == 0) break;
            write(std::string_view(buf, n));
            left -= n;
        }
        if (left) return makeError(Errc::io, "media", "cannot read '" + path + "'");
        return {};
    }
    std::uint64_t bytes() const { return bytes_; }
    std::string finish() {
        out_.flush();
        return hash_.hex();
    }

private:
    void header(const std::string& name, std::uint64_t size) {
        std::string h;
        putBE(h, name.size(), 4);
        h += name;
        putBE(h, size, 8);
        write(h);
    }
    void write(std::string_view b) {
        out_.write(b.data(), static_cast<std::streamsize>(b.size()));
        hash_.update(b);
        bytes_ += b.size();
    }
    std::ofstream out_;
    Sha256 hash_;
    std::uint64_t bytes_ = 8;
};
}  // namespace

Result<BundleInfo> exportBundle(const Store& store, model::ShowId show, const std::string& dataDir, const std::string& file) {
    const std::string where = "bundle: export show " + std::to_string(show);
    auto s = store.loadShow(show);
    if (!s) return s.error();
    auto records = store.showRecords(show);
    if (!records) return records.error();
    // Media: each distinct clip file once, named by where it lives under
    // the data folder (absolute files go under media/external/).
    std::map<std::string, std::string> files;  // clip file -> entry name
    std::map<std::string, std::pair<std::string, std::uint64_t>> entries;  // entry -> (path, size)
    BundleInfo info;
    json::array list;
    json::object fileMap;
    // Every clip's file, then each library record's converted file and
    // kept original (so the show's media travels whole).
    std::vector<std::string> wanted;
    for (const auto& c : s->clips) wanted.push_back(c.file);
    const std::size_t clipFiles = wanted.size();
    for (const auto& m : s->media) {
        wanted.push_back(m.file);
        wanted.push_back(m.original);
    }
    for (std::size_t i = 0; i < wanted.size(); ++i) {
        const std::string& file = wanted[i];
        if (file.empty() || files.count(file)) continue;
        fs::path p(file);
        const fs::path full = p.is_absolute() ? p : fs::path(dataDir) / p;
        std::error_code ec;
        const auto size = fs::file_size(full, ec);
        if (ec) {
            if (i < clipFiles) ++info.missingMedia;  // a clip that will not play
            continue;
        }
        std::string name = p.is_absolute() ? "media/external/" + p.filename().string()
                                           : (file.rfind("media/", 0) == 0 ? file : "media/" + file);
        for (int n = 2; entries.count(name) || !safeEntryName(name); ++n)
            name = "media/external/" + std::to_string(n) + "-" + p.filename().string();
        files[file] = name;
        entries[name] = {full.string(), size};
        fileMap[file] = name;
    }
    auto addEntry = [&](const std::string& name, std::uint64_t bytes, const std::string& hash) {
        list.push_back(json::object{{"name", name}, {"bytes", bytes}, {"sha256", hash}});
    };
    addEntry("show.records", records->size(), sha256Hex(*records));
    for (const auto& [name, src] : entries) {
        auto h = sha256File(src.first);
        if (!h) return h.error().context(where);
        addEntry(name, src.second, *h);
    }
    json::object manifest{{"format", "cuebox-bundle"},
                          {"bundle_version", kBundleVersion},
                          {"store_format", store.formatVersion()},
                          {"created", isoNow(true)},
                          {"show_name", s->name},
                          {"files", std::move(fileMap)},
                          {"entries", std::move(list)}};
    std::error_code ec;
    fs::create_directories(fs::path(file).parent_path(), ec);
    const std::string partial = file + ".partial";
    {
        Writer2 w(partial);
        if (!w.ok()) return makeError(Errc::io, "path", where + ": cannot write '" + file + "'");
        w.entry("manifest.json", json::serialize(manifest));
        w.entry("show.records", *records);
        for (const auto& [name, src] : entries)
            if (auto st = w.fileEntry(name, src.first, src.second); !st) return st.error().context(where);
        info.sha256 = w.finish();
        info.bytes = w.bytes();
        if (!w.ok()) return makeError(Errc::io, "path", where + ": cannot write '" + file + "'");
    }
    fs::rename(partial, file, ec);
    if (ec) return makeError(Errc::io, "path", where + ": " + ec.message());
    info.file = file;
    info.mediaFiles = entries.size();
    return info;
}

Result<ImportResult> importBundle(Store& store, const std::string& file, const std::string& dataDir,
                                  const std::string& name, const Origin& origin) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return makeError(Errc::not_found, "path", "no bundle at '" + file + "'");
    std::error_code ec;
    const std::uint64_t total = fs::file_size(file, ec);
    char magic[8];
    if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0) return badBundle("not a cuebox show bundle");
    Sha256 whole;
    whole.update(std::string_view(magic, 8));
    std::uint64_t pos = 8;

    struct Entry {
        std::string name;
        std::uint64_t size;
    };
    auto readHeader = [&](Entry& e) -> Status {
        std::uint64_t len = 0;
        if (!readBE(in, len, 4)) return badBundle("truncated: an entry header is cut short");
        if (len == 0 || len > kMaxName) return badBundle("an entry name is " + std::to_string(len) + " bytes long");
        e.name.resize(len);
        if (!in.read(e.name.data(), static_cast<std::streamsize>(len)) || !readBE(in, e.size, 8))
            return badBundle("truncated: an entry header is cut short");
        pos += 4 + len + 8;
        if (e.size > total - std::min(total, pos))
            return badBundle("truncated: entry '" + e.name + "' needs " + std::to_string(e.size) + " bytes, " +
                             std::to_string(total - std::min(total, pos)) + " are left");
        return {};
    };

    // The manifest.
    Entry me;
    if (auto st = readHeader(me); !st) return st.error();
    if (me.name != "manifest.json" || me.size > kMaxManifest) return badBundle("the first entry is not the manifest");
    std::string mtext(me.size, '\0');
    if (!in.read(mtext.data(), static_cast<std::streamsize>(me.size))) return badBundle("truncated manifest");
    pos += me.size;
    boost::system::error_code jec;
    json::value mv = json::parse(mtext, jec);
    if (jec || !mv.is_object()) return badBundle("the manifest is not JSON");
    const auto& m = mv.as_object();
    auto num = [&](const char* k) -> std::uint64_t {
        const json::value* v = m.if_contains(k);
        return model::field::count(v).value_or(0);
    };
    if (!m.contains("format") || m.at("format") != "cuebox-bundle") return badBundle("the manifest is not a cuebox bundle's");
    if (num("bundle_version") > kBundleVersion || num("store_format") > store.formatVersion())
        return makeError(Errc::conflict, "bundle",
                         "made by newer firmware (bundle version " + std::to_string(num("bundle_version")) + ", show format " +
                             std::to_string(num("store_format")) + "; this box reads up to " + std::to_string(kBundleVersion) +
                             " and " + std::to_string(store.formatVersion()) + "): update the firmware first");
    if (num("store_format") < 2) return badBundle("unsupported show format " + std::to_string(num("store_format")));
    std::map<std::string, std::pair<std::uint64_t, std::string>> expected;  // name -> (bytes, sha256)
    const json::value* el = m.if_contains("entries");
    if (!el || !el->is_array()) return badBundle("the manifest lists no entries");
    for (const auto& e : el->as_array()) {
        const auto bytes = e.is_object() ? model::field::count(e.as_object().if_contains("bytes")) : std::nullopt;
        if (!bytes || !e.as_object().contains("name") || !e.at("name").is_string() || !e.as_object().contains("sha256") ||
            !e.at("sha256").is_string())
            return badBundle("a manifest entry is malformed");
        const std::string n(e.at("name").as_string());
        if (!safeEntryName(n) || n == "manifest.json")
            return badBundle("entry name '" + n + "' is not allowed (it must stay inside the bundle's media folder)");
        if (!expected.emplace(n, std::pair{*bytes, std::string(e.at("sha256").as_string())}).second)
            return badBundle("entry '" + n + "' is listed twice");
    }
    if (!expected.count("show.records")) return badBundle("the bundle holds no show");
    if (expected.at("show.records").first > kMaxRecords) return badBundle("the show records are larger than 64 MiB");

    // Every entry, streamed to a staging folder and hashed; nothing is
    // kept unless all of them are right.
    const fs::path staging = fs::path(dataDir) / ("import-" + std::to_string(::getpid()) + ".partial");
    fs::remove_all(staging, ec);
    struct Cleanup {
        fs::path p;
        ~Cleanup() {
            std::error_code e;
            if (!p.empty()) fs::remove_all(p, e);
        }
    } cleanup{staging};
    std::string records;
    std::set<std::string> seen;
    while (pos < total) {
        Entry e;
        if (auto st = readHeader(e); !st) return st.error();
        if (!safeEntryName(e.name)) return badBundle("entry name '" + e.name + "' is not allowed (it would leave the media folder)");
        auto it = expected.find(e.name);
        if (it == expected.end()) return badBundle("entry '" + e.name + "' is not in the manifest");
        if (!seen.insert(e.name).second) return badBundle("entry '" + e.name + "' appears twice");
        if (it->second.first != e.size) return badBundle("entry '" + e.name + "' has the wrong size");
        Sha256 h;
        std::ofstream out;
        if (e.name != "show.records") {
            fs::create_directories((staging / e.name).parent_path(), ec);
            out.open(staging / e.name, std::ios::binary);
            if (!out) return makeError(Errc::io, "bundle", "cannot stage '" + e.name + "'");
        }
        char buf[1 << 16];
        std::uint64_t left = e.size;
        while (left > 0) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buf, left));
            if (!in.read(buf, static_cast<std::streamsize>(n))) return badBundle("truncated: entry '" + e.name + "' is cut short");
            h.update(std::string_view(buf, n));
            if (e.name == "show.records") records.append(buf, n);
            else out.write(buf, static_cast<std::streamsize>(n));
            left -= n;
        }
        pos += e.size;
        if (h.hex() != it->second.second) return badBundle("entry '" + e.name + "' fails its SHA-256 check");
        if (out.is_open() && !out.flush()) return makeError(Errc::io, "bundle", "cannot stage '" + e.name + "'");
    }
    if (seen.size() != expected.size()) {
        for (const auto& [n, _] : expected)
            if (!seen.count(n)) return badBundle("truncated: entry '" + n + "' is missing");
    }

    // The show is checked before any file is placed, so a refused bundle
    // leaves nothing behind.
    const std::string id = sha256Hex(mtext).substr(0, 12);
    const std::string rel = "media/imported/" + id;
    std::map<std::string, std::string> fileMap;  // clip file -> new clip file
    if (const json::value* f = m.if_contains("files"); f && f->is_object())
        for (const auto& [clipFile, entry] : f->as_object())
            if (entry.is_string() && expected.count(std::string(entry.as_string())))
                fileMap[std::string(clipFile)] = rel + "/" + std::string(entry.as_string()).substr(6);
    if (auto st = store.checkShowRecords(records); !st) return st.error();
    // Media into place under a folder named by the manifest's hash (the
    // same bundle imported again finds its files there already).
    std::vector<fs::path> placed;
    auto unplace = [&] {
        for (const auto& p : placed) fs::remove(p, ec);
    };
    for (const auto& [n, _] : expected) {
        if (n == "show.records") continue;
        const fs::path dst = fs::path(dataDir) / rel / n.substr(6);
        const bool existed = fs::exists(dst, ec);
        fs::create_directories(dst.parent_path(), ec);
        fs::rename(staging / n, dst, ec);
        if (ec) {
            unplace();
            return makeError(Errc::io, "bundle", "cannot place '" + n + "': " + ec.message());
        }
        if (!existed) placed.push_back(dst);
    }
    std::string showName = name;
    if (showName.empty() && m.contains("show_name") && m.at("show_name").is_string())
        showName = std::string(m.at("show_name").as_string());
    auto r = store.importShowRecords(records, showName, fileMap, origin);
    if (!r) {
        unplace();
        return r.error();
    }
    return ImportResult{r->first, r->second, expected.size() - 1};
}

}  // namespace cuebox::store
