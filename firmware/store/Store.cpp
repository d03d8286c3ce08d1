#include "store/Store.h"

#include "model/ShowJson.h"
#include "store/Keys.h"

#include <boost/json.hpp>
#include <lmdb.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace cuebox::store {
namespace json = boost::json;
using model::Clip;
using model::ClipId;
using model::Show;
using model::ShowId;

namespace {

Error mdbError(const std::string& what, int rc) {
    Errc code = rc == MDB_MAP_FULL ? Errc::io : (rc == MDB_NOTFOUND ? Errc::not_found : Errc::io);
    std::string reason = what + ": " + mdb_strerror(rc);
    if (rc == MDB_MAP_FULL) reason = what + ": the show store is full (map size reached)";
    return makeError(code, "store", reason);
}

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

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

}  // namespace

struct Store::Impl {
    MDB_env* env = nullptr;
    MDB_dbi meta = 0, shows = 0, pages = 0, tabs = 0, cells = 0, clips = 0, audio = 0;
    ~Impl() {
        if (env) mdb_env_close(env);
    }

    Result<std::optional<std::string>> get(MDB_txn* t, MDB_dbi db, std::string_view key) const {
        MDB_val k = val(key), v{};
        int rc = mdb_get(t, db, &k, &v);
        if (rc == MDB_NOTFOUND) return std::optional<std::string>{};
        if (rc) return mdbError("read", rc);
        return std::optional<std::string>{std::string(view(v))};
    }
    int put(MDB_txn* t, MDB_dbi db, std::string_view key, std::string_view value) const {
        MDB_val k = val(key), v = val(value);
        return mdb_put(t, db, &k, &v, 0);
    }
    std::uint64_t metaU64(MDB_txn* t, const char* key) const {
        auto v = get(t, meta, key);
        if (!v.ok() || !v->has_value() || (*v)->size() != 8) return 0;
        return Key::readU64(**v, 0);
    }
    int putMetaU64(MDB_txn* t, const char* key, std::uint64_t v) const {
        return put(t, meta, key, Key().u64(v).bytes());
    }
    // Walks every record under `prefix` in key order.
    template <typename Fn>
    int scan(MDB_txn* t, MDB_dbi db, const std::string& prefix, Fn fn) const {
        MDB_cursor* cur = nullptr;
        int rc = mdb_cursor_open(t, db, &cur);
        if (rc) return rc;
        MDB_val k = val(prefix), v{};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
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
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const Options& o) {
    const std::string where = "store: open '" + o.dir + "'";
    std::error_code ec;
    if (!o.readOnly) std::filesystem::create_directories(o.dir, ec);
    if (ec) return makeError(Errc::io, "data", where + ": " + ec.message());
    auto impl = std::make_unique<Impl>();
    int rc = mdb_env_create(&impl->env);
    if (rc) return mdbError(where, rc);
    mdb_env_set_maxdbs(impl->env, 16);
    mdb_env_set_mapsize(impl->env, o.mapSize);
    // Default sync flags on purpose: the box is power-cycled, every commit
    // must be on disk before it is acknowledged.
    unsigned flags = MDB_NOTLS | (o.readOnly ? MDB_RDONLY : 0u);
    rc = mdb_env_open(impl->env, o.dir.c_str(), flags, 0660);
    if (rc) return mdbError(where, rc);
    int dead = 0;
    mdb_reader_check(impl->env, &dead);  // clear readers left by a crashed process

    Txn txn(impl->env, !o.readOnly);
    if (txn.rc()) return mdbError(where, txn.rc());
    const unsigned dbFlags = o.readOnly ? 0u : MDB_CREATE;
    struct {
        const char* name;
        MDB_dbi* dbi;
    } dbis[] = {{"meta", &impl->meta},   {"shows", &impl->shows}, {"pages", &impl->pages},
                {"tabs", &impl->tabs},   {"cells", &impl->cells}, {"clips", &impl->clips},
                {"audio", &impl->audio}};
    for (auto& d : dbis) {
        rc = mdb_dbi_open(txn.get(), d.name, dbFlags, d.dbi);
        if (rc == MDB_NOTFOUND && o.readOnly)
            return makeError(Errc::unavailable, "store", where + ": the store has not been created yet");
        if (rc) return mdbError(where + ": table " + d.name, rc);
    }
    std::uint64_t version = impl->metaU64(txn.get(), "format_version");
    if (version == 0 && !o.readOnly) {
        version = kFormatVersion;
        rc = impl->putMetaU64(txn.get(), "format_version", version);
        if (rc) return mdbError(where, rc);
    }
    if (version > kFormatVersion)
        return makeError(Errc::conflict, "format_version",
                         where + ": written by newer firmware (format " + std::to_string(version) +
                             ", this firmware reads up to " + std::to_string(kFormatVersion) +
                             "); restore the matching backup or update the firmware");
    // Commit even when read-only: DBI handles opened in a transaction that
    // is aborted are closed with it.
    rc = txn.commit();
    if (rc) return mdbError(where, rc);
    std::unique_ptr<Store> s(new Store(std::move(impl)));
    s->formatVersion_ = static_cast<std::uint32_t>(version);
    s->dir_ = o.dir;
    return s;
}

Result<std::uint64_t> Store::revision() const {
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError("store: revision", txn.rc());
    return impl_->metaU64(txn.get(), "revision");
}

Result<std::optional<ShowId>> Store::loadedShow() const {
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError("store: loaded show", txn.rc());
    std::uint64_t id = impl_->metaU64(txn.get(), "loaded_show");
    return id ? std::optional<ShowId>{id} : std::nullopt;
}

Result<Show> Store::loadShow(ShowId id) const {
    const std::string where = "store: load show " + std::to_string(id);
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError(where, txn.rc());
    MDB_txn* t = txn.get();
    const std::string prefix = Key().u64(id).bytes();
    auto rec = impl_->get(t, impl_->shows, prefix);
    if (!rec) return rec.error().context(where);
    if (!rec->has_value()) return makeError(Errc::not_found, "show", where + ": no such show");

    Show s;
    s.id = id;
    std::string bad;
    {
        boost::system::error_code ec;
        json::value v = json::parse(**rec, ec);
        if (ec || !v.is_object()) return makeError(Errc::corrupt, "show", where + ": show record is not JSON");
        const auto& o = v.as_object();
        if (auto* n = o.if_contains("name"); n && n->is_string()) s.name = std::string(n->as_string());
        if (auto* m = o.if_contains("view_mode"); m && m->is_string() && m->as_string() == "dual")
            s.viewMode = model::ViewMode::dual;
        if (auto* a = o.if_contains("active_page"); a && a->is_int64()) s.activePage = static_cast<int>(a->as_int64());
    }
    int rc = impl_->scan(t, impl_->pages, prefix, [&](std::string_view, std::string_view value) {
        boost::system::error_code ec;
        json::value v = json::parse(value, ec);
        if (ec || !v.is_object()) return bad = "page record is not JSON", false;
        model::Page p = model::makePage("");
        const auto& o = v.as_object();
        if (auto* n = o.if_contains("name"); n && n->is_string()) p.name = std::string(n->as_string());
        if (auto* a = o.if_contains("active_tab"); a && a->is_int64()) p.activeTab = static_cast<int>(a->as_int64());
        s.pages.push_back(std::move(p));
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "page", where + ": " + bad);
    rc = impl_->scan(t, impl_->tabs, prefix, [&](std::string_view key, std::string_view value) {
        std::size_t page = Key::readU16(key, 8), tab = Key::readU16(key, 10);
        if (page >= s.pages.size() || tab >= model::kTabsPerPage) return bad = "tab outside its page", false;
        boost::system::error_code ec;
        json::value v = json::parse(value, ec);
        if (ec || !v.is_object()) return bad = "tab record is not JSON", false;
        model::Tab& t = s.pages[page].tabs[tab];
        if (auto* n = v.as_object().if_contains("name"); n && n->is_string()) t.name = std::string(n->as_string());
        auto g = model::gridFromJson(v.as_object().contains("grid") ? v.as_object().at("grid") : json::value{});
        if (!g) return bad = g.error().reason, false;
        t.grid = *g;
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "tab", where + ": " + bad);
    rc = impl_->scan(t, impl_->cells, prefix, [&](std::string_view key, std::string_view value) {
        if (key.size() != 16 || value.size() != 8) return bad = "cell record has the wrong size", false;
        s.cells.push_back(model::Cell{Key::readU16(key, 8), Key::readU16(key, 10), Key::readU16(key, 12),
                                      Key::readU16(key, 14), Key::readU64(value, 0)});
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "cell", where + ": " + bad);
    rc = impl_->scan(t, impl_->clips, prefix, [&](std::string_view, std::string_view value) {
        boost::system::error_code ec;
        json::value v = json::parse(value, ec);
        if (ec) return bad = "clip record is not JSON", false;
        auto c = model::clipFromJson(v);
        if (!c) return bad = c.error().reason, false;
        s.clips.push_back(std::move(*c));
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "clip", where + ": " + bad);
    auto audio = impl_->get(t, impl_->audio, prefix);
    if (!audio) return audio.error().context(where);
    if (audio->has_value()) {
        boost::system::error_code ec;
        json::value v = json::parse(**audio, ec);
        auto a = ec ? Result<model::AudioConfig>(makeError(Errc::corrupt, "audio", "audio record is not JSON"))
                    : model::audioFromJson(v);
        if (!a) return a.error().context(where);
        s.audio = std::move(*a);
    }
    return s;
}

Result<ShowId> Store::createShow(Show show, bool makeLoaded) {
    const std::string where = "store: create show '" + show.name + "'";
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    MDB_txn* t = txn.get();
    const ShowId id = impl_->metaU64(t, "next_show_id") + 1;
    std::uint64_t nextClip = impl_->metaU64(t, "next_clip_id");
    const std::string prefix = Key().u64(id).bytes();
    int rc = impl_->put(t, impl_->shows, prefix,
                        json::serialize(json::object{{"name", show.name},
                                                     {"view_mode", show.viewMode == model::ViewMode::dual ? "dual" : "single"},
                                                     {"active_page", show.activePage}}));
    for (std::size_t p = 0; rc == 0 && p < show.pages.size(); ++p) {
        const auto& page = show.pages[p];
        rc = impl_->put(t, impl_->pages, Key().u64(id).u16(static_cast<std::uint16_t>(p)).bytes(),
                        json::serialize(json::object{{"name", page.name}, {"active_tab", page.activeTab}}));
        for (std::size_t tb = 0; rc == 0 && tb < page.tabs.size(); ++tb)
            rc = impl_->put(t, impl_->tabs,
                            Key().u64(id).u16(static_cast<std::uint16_t>(p)).u16(static_cast<std::uint16_t>(tb)).bytes(),
                            json::serialize(json::object{{"name", page.tabs[tb].name},
                                                         {"grid", model::toJson(page.tabs[tb].grid)}}));
    }
    if (rc == 0) rc = impl_->put(t, impl_->audio, prefix, json::serialize(model::toJson(show.audio)));
    std::vector<ClipId> ids;
    for (std::size_t i = 0; rc == 0 && i < show.clips.size(); ++i) {
        Clip& c = show.clips[i];
        c.id = ++nextClip;
        ids.push_back(c.id);
        rc = impl_->put(t, impl_->clips, Key().u64(id).u64(c.id).bytes(), json::serialize(model::toJson(c)));
    }
    for (std::size_t i = 0; rc == 0 && i < show.cells.size(); ++i) {
        const auto& c = show.cells[i];
        if (c.clip >= ids.size())
            return makeError(Errc::bad_request, "cells", where + ": a cell refers to clip index " + std::to_string(c.clip));
        rc = impl_->put(t, impl_->cells,
                        Key().u64(id).u16(static_cast<std::uint16_t>(c.page)).u16(static_cast<std::uint16_t>(c.tab))
                            .u16(static_cast<std::uint16_t>(c.row)).u16(static_cast<std::uint16_t>(c.col)).bytes(),
                        Key().u64(ids[c.clip]).bytes());
    }
    if (rc == 0) rc = impl_->putMetaU64(t, "next_show_id", id);
    if (rc == 0) rc = impl_->putMetaU64(t, "next_clip_id", nextClip);
    if (rc == 0 && makeLoaded) rc = impl_->putMetaU64(t, "loaded_show", id);
    if (rc == 0) rc = impl_->putMetaU64(t, "revision", impl_->metaU64(t, "revision") + 1);
    if (rc == 0) rc = txn.commit();
    if (rc) return mdbError(where, rc);
    return id;
}

Result<ClipEdit> Store::updateClip(ShowId show, ClipId clip, const model::ClipPatch& patch) {
    const std::string where = "store: edit clip " + std::to_string(clip);
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    MDB_txn* t = txn.get();
    const std::string key = Key().u64(show).u64(clip).bytes();
    auto rec = impl_->get(t, impl_->clips, key);
    if (!rec) return rec.error().context(where);
    if (!rec->has_value()) return makeError(Errc::not_found, "id", "no clip with id " + std::to_string(clip));
    boost::system::error_code ec;
    json::value v = json::parse(**rec, ec);
    if (ec) return makeError(Errc::corrupt, "clip", where + ": record is not JSON");
    auto c = model::clipFromJson(v);
    if (!c) return c.error().context(where);
    patch.applyTo(*c);
    const std::uint64_t revision = impl_->metaU64(t, "revision") + 1;
    int rc = impl_->put(t, impl_->clips, key, json::serialize(model::toJson(*c)));
    if (rc == 0) rc = impl_->putMetaU64(t, "revision", revision);
    if (rc == 0) rc = txn.commit();  // synced to disk before we return
    if (rc) return mdbError(where, rc);
    return ClipEdit{revision, std::move(*c)};
}

namespace {
std::string showRecord(const Show& s) {
    return json::serialize(json::object{{"name", s.name},
                                        {"view_mode", s.viewMode == model::ViewMode::dual ? "dual" : "single"},
                                        {"active_page", s.activePage}});
}
}  // namespace

// One write transaction: `write` puts its records, then the revision is
// bumped and the transaction committed (synced) before returning.
struct WriteHelper {
    template <typename Fn>
    static Result<std::uint64_t> run(Store::Impl& impl, const std::string& where, ShowId show, Fn write) {
        Txn txn(impl.env, true);
        if (txn.rc()) return mdbError(where, txn.rc());
        MDB_txn* t = txn.get();
        auto rec = impl.get(t, impl.shows, Key().u64(show).bytes());
        if (!rec) return rec.error().context(where);
        if (!rec->has_value()) return makeError(Errc::not_found, "show", where + ": no such show");
        int rc = write(t);
        const std::uint64_t revision = impl.metaU64(t, "revision") + 1;
        if (rc == 0) rc = impl.putMetaU64(t, "revision", revision);
        if (rc == 0) rc = txn.commit();
        if (rc) return mdbError(where, rc);
        return revision;
    }
};

Result<std::uint64_t> Store::updateTab(ShowId show, int page, int tab, const model::Tab& tb) {
    return WriteHelper::run(*impl_, "store: edit tab", show, [&](MDB_txn* t) {
        return impl_->put(t, impl_->tabs,
                          Key().u64(show).u16(static_cast<std::uint16_t>(page)).u16(static_cast<std::uint16_t>(tab)).bytes(),
                          json::serialize(json::object{{"name", tb.name}, {"grid", model::toJson(tb.grid)}}));
    });
}

Result<std::uint64_t> Store::setCell(ShowId show, int page, int tab, int row, int col, std::optional<ClipId> clip) {
    return WriteHelper::run(*impl_, "store: edit cell", show, [&](MDB_txn* t) {
        const std::string key = Key().u64(show).u16(static_cast<std::uint16_t>(page)).u16(static_cast<std::uint16_t>(tab))
                                    .u16(static_cast<std::uint16_t>(row)).u16(static_cast<std::uint16_t>(col)).bytes();
        if (clip) return impl_->put(t, impl_->cells, key, Key().u64(*clip).bytes());
        MDB_val k = val(key);
        const int rc = mdb_del(t, impl_->cells, &k, nullptr);
        return rc == MDB_NOTFOUND ? 0 : rc;
    });
}

Result<std::uint64_t> Store::updateShowInfo(const Show& s) {
    return WriteHelper::run(*impl_, "store: edit show", s.id,
                            [&](MDB_txn* t) { return impl_->put(t, impl_->shows, Key().u64(s.id).bytes(), showRecord(s)); });
}

Result<std::uint64_t> Store::updatePage(ShowId show, int page, const model::Page& p) {
    return WriteHelper::run(*impl_, "store: edit page", show, [&](MDB_txn* t) {
        return impl_->put(t, impl_->pages, Key().u64(show).u16(static_cast<std::uint16_t>(page)).bytes(),
                          json::serialize(json::object{{"name", p.name}, {"active_tab", p.activeTab}}));
    });
}

Result<std::uint64_t> Store::updateAudio(ShowId show, const model::AudioConfig& audio) {
    return WriteHelper::run(*impl_, "store: edit audio of show " + std::to_string(show), show, [&](MDB_txn* t) {
        return impl_->put(t, impl_->audio, Key().u64(show).bytes(), json::serialize(model::toJson(audio)));
    });
}

}  // namespace cuebox::store
