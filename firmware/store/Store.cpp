#include "store/Store.h"

#include "model/Field.h"
#include "model/ShowJson.h"
#include "store/Impl.h"

#include <boost/json.hpp>
#include <lmdb.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fcntl.h>
#include <unistd.h>

namespace cuebox::store {
namespace json = boost::json;
using model::Clip;
using model::ClipId;
using model::Show;
using model::ShowId;

Error mdbError(const std::string& what, int rc) {
    Errc code = rc == MDB_NOTFOUND ? Errc::not_found : Errc::io;
    std::string reason = what + ": " + mdb_strerror(rc);
    if (rc == MDB_MAP_FULL) reason = what + ": the show store is full (map size reached)";
    return makeError(code, "store", reason);
}

Result<std::optional<std::string>> Store::Impl::get(MDB_txn* t, MDB_dbi db, std::string_view key) const {
    MDB_val k = val(key), v{};
    int rc = mdb_get(t, db, &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string>{};
    if (rc) return mdbError("read", rc);
    return std::optional<std::string>{std::string(view(v))};
}

int Store::Impl::put(MDB_txn* t, MDB_dbi db, std::string_view key, std::string_view value) const {
    MDB_val k = val(key), v = val(value);
    return mdb_put(t, db, &k, &v, 0);
}

int Store::Impl::del(MDB_txn* t, MDB_dbi db, std::string_view key) const {
    MDB_val k = val(key);
    const int rc = mdb_del(t, db, &k, nullptr);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

std::uint64_t Store::Impl::metaU64(MDB_txn* t, std::string_view key) const {
    auto v = get(t, meta, key);
    if (!v.ok() || !v->has_value() || (*v)->size() != 8) return 0;
    return Key::readU64(**v, 0);
}

int Store::Impl::putMetaU64(MDB_txn* t, std::string_view key, std::uint64_t v) const {
    return put(t, meta, key, Key().u64(v).bytes());
}

int Store::Impl::erasePrefix(MDB_txn* t, MDB_dbi db, const std::string& prefix) const {
    std::vector<std::string> keys;
    int rc = scan(t, db, prefix, [&](std::string_view k, std::string_view) {
        keys.emplace_back(k);
        return true;
    });
    for (std::size_t i = 0; rc == 0 && i < keys.size(); ++i) rc = del(t, db, keys[i]);
    return rc;
}

Status Store::Impl::writable(const std::string& where) const {
    if (readOnly)
        return makeError(Errc::conflict, "store",
                         where + ": the store is read-only" + (readOnlyReason.empty() ? "" : ": " + readOnlyReason));
    return {};
}

namespace {

std::string showKey(ShowId s) { return Key().u64(s).bytes(); }
std::string pageKey(ShowId s, int p) { return Key().u64(s).u16(static_cast<std::uint16_t>(p)).bytes(); }
std::string tabKey(ShowId s, int p, int t) {
    return Key().u64(s).u16(static_cast<std::uint16_t>(p)).u16(static_cast<std::uint16_t>(t)).bytes();
}
std::string cellKey(ShowId s, int p, int t, int r, int c) {
    return Key().u64(s).u16(static_cast<std::uint16_t>(p)).u16(static_cast<std::uint16_t>(t))
        .u16(static_cast<std::uint16_t>(r)).u16(static_cast<std::uint16_t>(c)).bytes();
}
std::string clipKey(ShowId s, ClipId c) { return Key().u64(s).u64(c).bytes(); }
std::string settingsKey(ShowId s, const std::string& section) { return Key().u64(s).bytes() + section; }
std::string mappingKey(ShowId s, std::uint64_t id) { return Key().u64(s).u64(id).bytes(); }
std::string mediaKey(ShowId s, const std::string& id) { return Key().u64(s).bytes() + id; }
std::string checkKey(ShowId s, ClipId c) { return Key().u64(s).u64(c).bytes(); }

std::string showRecord(const Show& s) {
    return json::serialize(json::object{{"name", s.name},
                                        {"view_mode", s.viewMode == model::ViewMode::dual ? "dual" : "single"},
                                        {"active_page", s.activePage}});
}
std::string pageRecord(const model::Page& p) {
    return json::serialize(json::object{{"name", p.name}, {"active_tab", p.activeTab}});
}
std::string tabRecord(const model::Tab& t) {
    return json::serialize(json::object{{"name", t.name}, {"grid", model::toJson(t.grid)}});
}

Status rcStatus(int rc, const std::string& where) {
    if (rc) return mdbError(where, rc);
    return {};
}

// Runs one edit of `show`: `write(Writer&)` returns a Status; on success
// the edit is committed (synced), and kept in the history when `undoable`
// (media records and checks are not: the files exist whatever the history
// says).
template <typename Fn>
Result<std::uint64_t> showEdit(Store::Impl& impl, const std::string& where, ShowId show, const Origin& origin, Fn write,
                               bool undoable) {
    if (auto st = impl.writable(where); !st) return st.error();
    Txn txn(impl.env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    auto rec = impl.get(txn.get(), impl.dbi(Table::shows), showKey(show));
    if (!rec) return rec.error().context(where);
    if (!rec->has_value()) return makeError(Errc::not_found, "show", "no show with id " + std::to_string(show));
    Writer w(impl, txn.get());
    Status st = write(w);
    if (!st) return st.error();
    return finishEdit(impl, txn, w, show, origin, where, undoable);
}
template <typename Fn>
Result<std::uint64_t> recordedEdit(Store::Impl& impl, const std::string& where, ShowId show, const Origin& origin,
                                   Fn write) {
    return showEdit(impl, where, show, origin, std::move(write), true);
}
template <typename Fn>
Result<std::uint64_t> unrecordedEdit(Store::Impl& impl, const std::string& where, ShowId show, const Origin& origin,
                                     Fn write) {
    return showEdit(impl, where, show, origin, std::move(write), false);
}

// Reads a show's records (every show table) under its prefix.
int readShowRecords(const Store::Impl& impl, MDB_txn* t, ShowId show, std::vector<Record>& out) {
    const std::string prefix = showKey(show);
    for (std::size_t i = 0; i < kShowTables; ++i) {
        const Table table = static_cast<Table>(i);
        int rc = impl.scan(t, impl.show[i], prefix, [&](std::string_view k, std::string_view v) {
            out.push_back(Record{table, std::string(k), std::string(v)});
            return true;
        });
        if (rc) return rc;
    }
    return 0;
}

}  // namespace

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::string& Store::readOnlyReason() const { return impl_->readOnlyReason; }

Result<std::unique_ptr<Store>> Store::open(const Options& o) {
    const std::string where = "store: open '" + o.dir + "'";
    std::error_code ec;
    if (!o.readOnly) std::filesystem::create_directories(o.dir, ec);
    if (ec) return makeError(Errc::io, "data", where + ": " + ec.message());
    auto impl = std::make_unique<Impl>();
    impl->readOnly = o.readOnly;
    int rc = mdb_env_create(&impl->env);
    if (rc) return mdbError(where, rc);
    mdb_env_set_maxdbs(impl->env, 24);
    mdb_env_set_mapsize(impl->env, o.mapSize);
    // Default sync flags on purpose: the box is power-cycled, every commit
    // must be on disk before it is acknowledged.
    unsigned flags = MDB_NOTLS | (o.readOnly ? MDB_RDONLY : 0u) | (o.noLock ? MDB_NOLOCK : 0u);
    rc = mdb_env_open(impl->env, o.dir.c_str(), flags, 0660);
    if (rc) return mdbError(where, rc);
    int dead = 0;
    if (!o.noLock) mdb_reader_check(impl->env, &dead);  // clear readers left by a crashed process

    std::uint64_t version = 0;
    {
        // The format version decides what happens next; read it first.
        Txn txn(impl->env, false);
        if (txn.rc()) return mdbError(where, txn.rc());
        MDB_dbi m = 0;
        rc = mdb_dbi_open(txn.get(), "meta", 0, &m);
        if (rc == 0) {
            impl->meta = m;
            version = impl->metaU64(txn.get(), "format_version");
            rc = txn.commit();
            if (rc) return mdbError(where, rc);
        } else if (rc != MDB_NOTFOUND) {
            return mdbError(where + ": table meta", rc);
        }
    }
    if (version > kFormatVersion && !o.readOnly) {
        // Written by newer firmware (after a rollback): never guessed at or
        // written to. Open it read-only and say why.
        impl.reset();
        Options ro = o;
        ro.readOnly = true;
        auto s = open(ro);
        if (!s) return s.error();
        (*s)->impl_->downgraded = true;
        return s;
    }
    if (version != 0 && version < kFormatVersion && !o.readOnly) {
        impl.reset();
        return Migrations::run(o, static_cast<std::uint32_t>(version));
    }

    Txn txn(impl->env, !o.readOnly);
    if (txn.rc()) return mdbError(where, txn.rc());
    rc = impl->openTables(txn.get(), !o.readOnly);
    if (rc == MDB_NOTFOUND && o.readOnly)
        return makeError(Errc::unavailable, "store", where + ": the store has not been created yet (or not migrated yet)");
    if (rc) return mdbError(where + ": tables", rc);
    if (version == 0 && !o.readOnly) {
        version = kFormatVersion;
        rc = impl->putMetaU64(txn.get(), "format_version", version);
        if (rc) return mdbError(where, rc);
    }
    if (version > kFormatVersion)
        impl->readOnlyReason = "written by newer firmware (format " + std::to_string(version) +
                               ", this firmware reads up to " + std::to_string(kFormatVersion) +
                               "); restore the matching backup or update the firmware";
    // Commit even when read-only: DBI handles opened in a transaction that
    // is aborted are closed with it.
    rc = txn.commit();
    if (rc) return mdbError(where, rc);
    std::unique_ptr<Store> s(new Store(std::move(impl)));
    s->formatVersion_ = static_cast<std::uint32_t>(version);
    s->dir_ = o.dir;
    s->impl_->dir = o.dir;
    s->impl_->mapSize = o.mapSize;
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
    const std::string prefix = showKey(id);
    auto rec = impl_->get(t, impl_->dbi(Table::shows), prefix);
    if (!rec) return rec.error().context(where);
    if (!rec->has_value()) return makeError(Errc::not_found, "show", "no show with id " + std::to_string(id));

    Show s;
    s.id = id;
    std::string bad;
    auto parseObject = [&](std::string_view text, const char* what, json::value& out) {
        boost::system::error_code ec;
        out = json::parse(text, ec);
        if (ec || !out.is_object()) return bad = std::string(what) + " record is not JSON", false;
        return true;
    };
    {
        json::value v;
        if (!parseObject(**rec, "show", v)) return makeError(Errc::corrupt, "show", where + ": " + bad);
        const auto& o = v.as_object();
        if (auto* n = o.if_contains("name"); n && n->is_string()) s.name = std::string(n->as_string());
        if (auto* m = o.if_contains("view_mode"); m && m->is_string() && m->as_string() == "dual")
            s.viewMode = model::ViewMode::dual;
        if (auto* a = o.if_contains("active_page"); a && a->is_int64()) s.activePage = static_cast<int>(a->as_int64());
    }
    int rc = impl_->scan(t, impl_->dbi(Table::pages), prefix, [&](std::string_view, std::string_view value) {
        json::value v;
        if (!parseObject(value, "page", v)) return false;
        model::Page p = model::makePage("");
        const auto& o = v.as_object();
        if (auto* n = o.if_contains("name"); n && n->is_string()) p.name = std::string(n->as_string());
        if (auto* a = o.if_contains("active_tab"); a && a->is_int64()) p.activeTab = static_cast<int>(a->as_int64());
        s.pages.push_back(std::move(p));
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "page", where + ": " + bad);
    rc = impl_->scan(t, impl_->dbi(Table::tabs), prefix, [&](std::string_view key, std::string_view value) {
        std::size_t page = Key::readU16(key, 8), tab = Key::readU16(key, 10);
        if (page >= s.pages.size() || tab >= model::kTabsPerPage) return bad = "tab outside its page", false;
        json::value v;
        if (!parseObject(value, "tab", v)) return false;
        model::Tab& t = s.pages[page].tabs[tab];
        if (auto* n = v.as_object().if_contains("name"); n && n->is_string()) t.name = std::string(n->as_string());
        auto g = model::gridFromJson(v.as_object().contains("grid") ? v.as_object().at("grid") : json::value{});
        if (!g) return bad = g.error().reason, false;
        t.grid = *g;
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "tab", where + ": " + bad);
    rc = impl_->scan(t, impl_->dbi(Table::cells), prefix, [&](std::string_view key, std::string_view value) {
        if (key.size() != 16 || value.size() != 8) return bad = "cell record has the wrong size", false;
        s.cells.push_back(model::Cell{Key::readU16(key, 8), Key::readU16(key, 10), Key::readU16(key, 12),
                                      Key::readU16(key, 14), Key::readU64(value, 0)});
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "cell", where + ": " + bad);
    rc = impl_->scan(t, impl_->dbi(Table::clips), prefix, [&](std::string_view, std::string_view value) {
        boost::system::error_code ec;
        json::value v = json::parse(value, ec);
        if (ec) return bad = "clip record is not JSON", false;
        auto c = model::clipFromJson(v);
        if (!c) return bad = c.error().reason, false;
        s.clips.push_back(std::move(*c));
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "clip", where + ": " + bad);
    auto audio = impl_->get(t, impl_->dbi(Table::audio), prefix);
    if (!audio) return audio.error().context(where);
    if (audio->has_value()) {
        boost::system::error_code ec;
        json::value v = json::parse(**audio, ec);
        auto a = ec ? Result<model::AudioConfig>(makeError(Errc::corrupt, "audio", "audio record is not JSON"))
                    : model::audioFromJson(v);
        if (!a) return a.error().context(where);
        s.audio = std::move(*a);
    }
    rc = impl_->scan(t, impl_->dbi(Table::settings), prefix, [&](std::string_view key, std::string_view value) {
        json::value v;
        if (!parseObject(value, "settings", v)) return false;
        const std::string section(key.substr(8));
        if (s.settings.count(section)) s.settings[section] = model::completeSection(section, v.as_object());
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "settings", where + ": " + bad);
    rc = impl_->scan(t, impl_->dbi(Table::mappings), prefix, [&](std::string_view key, std::string_view value) {
        json::value v;
        if (key.size() != 16 || !parseObject(value, "mapping", v)) return bad = "mapping record is malformed", false;
        s.mappings.push_back(model::Mapping{Key::readU64(key, 8), v.as_object()});
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "mapping", where + ": " + bad);
    rc = impl_->scan(t, impl_->dbi(Table::media), prefix, [&](std::string_view, std::string_view value) {
        json::value v;
        if (!parseObject(value, "media", v)) return false;
        // The waveform stays in the store (GET /api/media/{id}); the show
        // carries everything else.
        v.as_object().erase("waveform");
        auto m = model::mediaFromJson(v);
        if (!m) return bad = m.error().reason, false;
        s.media.push_back(std::move(*m));
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "media", where + ": " + bad);
    rc = impl_->scan(t, impl_->dbi(Table::checks), prefix, [&](std::string_view, std::string_view value) {
        json::value v;
        if (!parseObject(value, "media check", v)) return false;
        auto c = model::mediaCheckFromJson(v);
        if (!c) return bad = c.error().reason, false;
        s.checks.push_back(std::move(*c));
        return true;
    });
    if (rc) return bad.empty() ? mdbError(where, rc) : makeError(Errc::corrupt, "media_check", where + ": " + bad);
    return s;
}

Result<ShowId> Store::createShow(Show show, bool makeLoaded, const Origin& origin) {
    const std::string where = "store: create show '" + show.name + "'";
    if (auto st = impl_->writable(where); !st) return st.error();
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    MDB_txn* t = txn.get();
    const ShowId id = impl_->metaU64(t, "next_show_id") + 1;
    std::uint64_t nextClip = impl_->metaU64(t, "next_clip_id");
    Writer w(*impl_, t);
    int rc = w.put(Table::shows, showKey(id), showRecord(show));
    for (std::size_t p = 0; rc == 0 && p < show.pages.size(); ++p) {
        const auto& page = show.pages[p];
        rc = w.put(Table::pages, pageKey(id, static_cast<int>(p)), pageRecord(page));
        for (std::size_t tb = 0; rc == 0 && tb < page.tabs.size(); ++tb)
            rc = w.put(Table::tabs, tabKey(id, static_cast<int>(p), static_cast<int>(tb)), tabRecord(page.tabs[tb]));
    }
    if (rc == 0) rc = w.put(Table::audio, showKey(id), json::serialize(model::toJson(show.audio)));
    std::vector<ClipId> ids;
    for (std::size_t i = 0; rc == 0 && i < show.clips.size(); ++i) {
        Clip& c = show.clips[i];
        c.id = ++nextClip;
        ids.push_back(c.id);
        rc = w.put(Table::clips, clipKey(id, c.id), json::serialize(model::toJson(c)));
    }
    for (std::size_t i = 0; rc == 0 && i < show.cells.size(); ++i) {
        const auto& c = show.cells[i];
        if (c.clip >= ids.size())
            return makeError(Errc::bad_request, "cells", where + ": a cell refers to clip index " + std::to_string(c.clip));
        rc = w.put(Table::cells, cellKey(id, c.page, c.tab, c.row, c.col), Key().u64(ids[c.clip]).bytes());
    }
    for (auto it = show.settings.begin(); rc == 0 && it != show.settings.end(); ++it)
        rc = w.put(Table::settings, settingsKey(id, it->first), json::serialize(it->second));
    std::uint64_t nextMapping = 0;
    for (std::size_t i = 0; rc == 0 && i < show.mappings.size(); ++i)
        rc = w.put(Table::mappings, mappingKey(id, ++nextMapping), json::serialize(show.mappings[i].data));
    if (rc == 0) rc = impl_->putMetaU64(t, "next_show_id", id);
    if (rc == 0) rc = impl_->putMetaU64(t, "next_clip_id", nextClip);
    if (rc == 0 && makeLoaded) rc = impl_->putMetaU64(t, "loaded_show", id);
    if (rc) return mdbError(where, rc);
    Origin o = origin;
    if (o.what.empty()) o.what = "created show '" + show.name + "'";
    auto rev = finishEdit(*impl_, txn, w, id, o, where, false);
    if (!rev) return rev.error();
    return id;
}

Result<ClipEdit> Store::updateClip(ShowId show, ClipId clip, const model::ClipPatch& patch, const Origin& origin) {
    const std::string where = "store: edit clip " + std::to_string(clip);
    std::optional<Clip> edited;
    auto rev = recordedEdit(*impl_, where, show, origin, [&](Writer& w) -> Status {
        const std::string key = clipKey(show, clip);
        auto rec = impl_->get(w.txn(), impl_->dbi(Table::clips), key);
        if (!rec) return rec.error().context(where);
        if (!rec->has_value()) return makeError(Errc::not_found, "id", "no clip with id " + std::to_string(clip));
        boost::system::error_code ec;
        json::value v = json::parse(**rec, ec);
        if (ec) return makeError(Errc::corrupt, "clip", where + ": record is not JSON");
        auto c = model::clipFromJson(v);
        if (!c) return c.error().context(where);
        patch.applyTo(*c);
        edited = std::move(*c);
        return rcStatus(w.put(Table::clips, key, json::serialize(model::toJson(*edited))), where);
    });
    if (!rev) return rev.error();
    return ClipEdit{*rev, std::move(*edited)};
}

Result<std::uint64_t> Store::updateTab(ShowId show, int page, int tab, const model::Tab& tb, const Origin& origin) {
    return recordedEdit(*impl_, "store: edit tab", show, origin, [&](Writer& w) {
        return rcStatus(w.put(Table::tabs, tabKey(show, page, tab), tabRecord(tb)), "store: edit tab");
    });
}

Result<std::uint64_t> Store::setCell(ShowId show, int page, int tab, int row, int col, std::optional<ClipId> clip,
                                     const Origin& origin) {
    return recordedEdit(*impl_, "store: edit cell", show, origin, [&](Writer& w) {
        const std::string key = cellKey(show, page, tab, row, col);
        return rcStatus(clip ? w.put(Table::cells, key, Key().u64(*clip).bytes()) : w.del(Table::cells, key),
                        "store: edit cell");
    });
}

Result<ClipEdit> Store::addClip(ShowId show, Clip clip, std::optional<model::Cell> cell, const Origin& origin) {
    const std::string where = "store: add clip";
    auto rev = recordedEdit(*impl_, where, show, origin, [&](Writer& w) -> Status {
        if (cell) {
            auto occupied = impl_->get(w.txn(), impl_->dbi(Table::cells), cellKey(show, cell->page, cell->tab, cell->row, cell->col));
            if (!occupied) return occupied.error();
            if (occupied->has_value()) return makeError(Errc::conflict, "cell", "the cell already holds a clip");
        }
        clip.id = impl_->metaU64(w.txn(), "next_clip_id") + 1;
        auto taken = impl_->get(w.txn(), impl_->dbi(Table::clips), clipKey(show, clip.id));
        if (!taken) return taken.error();
        if (taken->has_value()) return makeError(Errc::internal, "id", "clip id " + std::to_string(clip.id) + " is already taken");
        int rc = impl_->putMetaU64(w.txn(), "next_clip_id", clip.id);
        if (rc == 0) rc = w.put(Table::clips, clipKey(show, clip.id), json::serialize(model::toJson(clip)));
        if (rc == 0 && cell)
            rc = w.put(Table::cells, cellKey(show, cell->page, cell->tab, cell->row, cell->col), Key().u64(clip.id).bytes());
        return rcStatus(rc, where);
    });
    if (!rev) return rev.error();
    return ClipEdit{*rev, std::move(clip)};
}

Result<std::uint64_t> Store::deleteClip(ShowId show, ClipId clip, const Origin& origin) {
    const std::string where = "store: delete clip " + std::to_string(clip);
    return recordedEdit(*impl_, where, show, origin, [&](Writer& w) -> Status {
        auto rec = impl_->get(w.txn(), impl_->dbi(Table::clips), clipKey(show, clip));
        if (!rec) return rec.error();
        if (!rec->has_value()) return makeError(Errc::not_found, "id", "no clip with id " + std::to_string(clip));
        std::vector<std::string> cells, mappings;
        int rc = impl_->scan(w.txn(), impl_->dbi(Table::cells), showKey(show), [&](std::string_view k, std::string_view v) {
            if (v.size() == 8 && Key::readU64(v, 0) == clip) cells.emplace_back(k);
            return true;
        });
        if (rc == 0)
            rc = impl_->scan(w.txn(), impl_->dbi(Table::mappings), showKey(show), [&](std::string_view k, std::string_view v) {
                boost::system::error_code ec;
                json::value j = json::parse(v, ec);
                if (!ec && j.is_object())
                    if (auto c = model::field::count(j.as_object().if_contains("clip")); c && *c == clip) mappings.emplace_back(k);
                return true;
            });
        for (const auto& k : cells)
            if (rc == 0) rc = w.del(Table::cells, k);
        for (const auto& k : mappings)
            if (rc == 0) rc = w.del(Table::mappings, k);
        if (rc == 0) rc = w.del(Table::clips, clipKey(show, clip));
        if (rc == 0) rc = w.del(Table::checks, checkKey(show, clip));  // its media check goes with it (and comes back on undo)
        return rcStatus(rc, where);
    });
}

Result<std::uint64_t> Store::moveCell(ShowId show, const model::Cell& from, const model::Cell& to, const Origin& origin) {
    const std::string where = "store: move cell";
    return recordedEdit(*impl_, where, show, origin, [&](Writer& w) -> Status {
        const std::string a = cellKey(show, from.page, from.tab, from.row, from.col);
        const std::string b = cellKey(show, to.page, to.tab, to.row, to.col);
        auto va = impl_->get(w.txn(), impl_->dbi(Table::cells), a);
        auto vb = impl_->get(w.txn(), impl_->dbi(Table::cells), b);
        if (!va) return va.error();
        if (!vb) return vb.error();
        if (!va->has_value()) return makeError(Errc::bad_request, "from", "the cell to move is empty");
        int rc = w.put(Table::cells, b, **va);
        if (rc == 0) rc = vb->has_value() ? w.put(Table::cells, a, **vb) : w.del(Table::cells, a);
        return rcStatus(rc, where);
    });
}

Result<std::uint64_t> Store::updateShowInfo(const Show& s, const Origin& origin) {
    return recordedEdit(*impl_, "store: edit show", s.id, origin, [&](Writer& w) {
        return rcStatus(w.put(Table::shows, showKey(s.id), showRecord(s)), "store: edit show");
    });
}

Result<std::uint64_t> Store::updatePage(ShowId show, int page, const model::Page& p, const Origin& origin) {
    return recordedEdit(*impl_, "store: edit page", show, origin, [&](Writer& w) {
        return rcStatus(w.put(Table::pages, pageKey(show, page), pageRecord(p)), "store: edit page");
    });
}

Result<std::uint64_t> Store::addPage(ShowId show, const model::Page& p, const Origin& origin) {
    const std::string where = "store: add page";
    return recordedEdit(*impl_, where, show, origin, [&](Writer& w) -> Status {
        int pages = 0;
        int rc = impl_->scan(w.txn(), impl_->dbi(Table::pages), showKey(show), [&](std::string_view, std::string_view) {
            ++pages;
            return true;
        });
        if (rc == 0 && pages >= 255) return makeError(Errc::conflict, "page", "a show has at most 255 pages");
        if (rc == 0) rc = w.put(Table::pages, pageKey(show, pages), pageRecord(p));
        for (int t = 0; rc == 0 && t < model::kTabsPerPage; ++t) rc = w.put(Table::tabs, tabKey(show, pages, t), tabRecord(p.tabs[t]));
        return rcStatus(rc, where);
    });
}

Result<std::uint64_t> Store::deletePage(ShowId show, int page, const Origin& origin) {
    const std::string where = "store: delete page";
    return recordedEdit(*impl_, where, show, origin, [&](Writer& w) -> Status {
        // Pages are numbered by position: every page after the deleted one
        // moves up, with its tabs and cells.
        std::vector<Record> later[3];
        const Table tables[3] = {Table::pages, Table::tabs, Table::cells};
        int pages = 0;
        int rc = 0;
        for (int i = 0; rc == 0 && i < 3; ++i)
            rc = impl_->scan(w.txn(), impl_->dbi(tables[i]), showKey(show), [&](std::string_view k, std::string_view v) {
                const int p = Key::readU16(k, 8);
                if (i == 0) ++pages;
                if (p >= page) later[i].push_back(Record{tables[i], std::string(k), std::string(v)});
                return true;
            });
        if (rc) return rcStatus(rc, where);
        if (page < 0 || page >= pages) return makeError(Errc::not_found, "page", "no page " + std::to_string(page));
        if (pages == 1) return makeError(Errc::conflict, "page", "a show keeps at least one page");
        for (auto& list : later)
            for (auto& r : list)
                if (rc == 0) rc = w.del(r.table, r.key);
        for (auto& list : later)
            for (auto& r : list) {
                const int p = Key::readU16(r.key, 8);
                if (p == page || rc) continue;
                std::string k = r.key;
                k[8] = static_cast<char>((p - 1) >> 8);
                k[9] = static_cast<char>((p - 1) & 0xff);
                rc = w.put(r.table, k, r.value);
            }
        return rcStatus(rc, where);
    });
}

Result<std::uint64_t> Store::updateAudio(ShowId show, const model::AudioConfig& audio, const Origin& origin) {
    return recordedEdit(*impl_, "store: edit audio of show " + std::to_string(show), show, origin, [&](Writer& w) {
        return rcStatus(w.put(Table::audio, showKey(show), json::serialize(model::toJson(audio))), "store: edit audio");
    });
}

Result<std::uint64_t> Store::updateSettings(ShowId show, const std::string& section, const json::object& values,
                                            const Origin& origin) {
    return recordedEdit(*impl_, "store: edit settings " + section, show, origin, [&](Writer& w) {
        return rcStatus(w.put(Table::settings, settingsKey(show, section), json::serialize(values)), "store: edit settings");
    });
}

Result<std::pair<std::uint64_t, std::uint64_t>> Store::putMapping(ShowId show, std::uint64_t id, const json::object& m,
                                                                  const Origin& origin) {
    const std::string where = "store: mapping";
    auto rev = recordedEdit(*impl_, where, show, origin, [&](Writer& w) -> Status {
        if (id == 0) {
            std::uint64_t last = 0;
            int rc = impl_->scan(w.txn(), impl_->dbi(Table::mappings), showKey(show), [&](std::string_view k, std::string_view) {
                last = Key::readU64(k, 8);
                return true;
            });
            if (rc) return rcStatus(rc, where);
            id = last + 1;
        } else {
            auto rec = impl_->get(w.txn(), impl_->dbi(Table::mappings), mappingKey(show, id));
            if (!rec) return rec.error();
            if (!rec->has_value()) return makeError(Errc::not_found, "id", "no mapping with id " + std::to_string(id));
        }
        return rcStatus(w.put(Table::mappings, mappingKey(show, id), json::serialize(m)), where);
    });
    if (!rev) return rev.error();
    return std::pair{id, *rev};
}

Result<std::uint64_t> Store::deleteMapping(ShowId show, std::uint64_t id, const Origin& origin) {
    const std::string where = "store: delete mapping";
    return recordedEdit(*impl_, where, show, origin, [&](Writer& w) -> Status {
        auto rec = impl_->get(w.txn(), impl_->dbi(Table::mappings), mappingKey(show, id));
        if (!rec) return rec.error();
        if (!rec->has_value()) return makeError(Errc::not_found, "id", "no mapping with id " + std::to_string(id));
        return rcStatus(w.del(Table::mappings, mappingKey(show, id)), where);
    });
}

// --- Media library

Result<std::uint64_t> Store::putMedia(ShowId show, const model::MediaRecord& m, const Origin& origin) {
    const std::string where = "store: media";
    if (!model::validMediaId(m.id)) return makeError(Errc::bad_request, "id", "a media id is a SHA-256 in hex");
    return unrecordedEdit(*impl_, where, show, origin, [&](Writer& w) {
        return rcStatus(w.put(Table::media, mediaKey(show, m.id), json::serialize(model::toJson(m))), where);
    });
}

Result<std::uint64_t> Store::deleteMedia(ShowId show, const std::string& id, const Origin& origin) {
    const std::string where = "store: delete media";
    return unrecordedEdit(*impl_, where, show, origin, [&](Writer& w) -> Status {
        auto rec = impl_->get(w.txn(), impl_->dbi(Table::media), mediaKey(show, id));
        if (!rec) return rec.error();
        if (!rec->has_value()) return makeError(Errc::not_found, "id", "no media with id " + id + " in this show");
        std::string users;
        int rc = impl_->scan(w.txn(), impl_->dbi(Table::clips), showKey(show), [&](std::string_view k, std::string_view v) {
            boost::system::error_code ec;
            json::value j = json::parse(v, ec);
            if (!ec && j.is_object())
                if (auto* mid = j.as_object().if_contains("media"); mid && mid->is_string() && mid->as_string() == id)
                    users += (users.empty() ? "" : ", ") + std::to_string(Key::readU64(k, 8));
            return true;
        });
        if (rc) return rcStatus(rc, where);
        if (!users.empty()) return makeError(Errc::conflict, "id", "clips " + users + " play this media: delete or relink them first");
        return rcStatus(w.del(Table::media, mediaKey(show, id)), where);
    });
}

Result<std::optional<model::MediaRecord>> Store::media(ShowId show, const std::string& id) const {
    const std::string where = "store: media";
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError(where, txn.rc());
    auto rec = impl_->get(txn.get(), impl_->dbi(Table::media), mediaKey(show, id));
    if (!rec) return rec.error();
    if (!rec->has_value()) return std::optional<model::MediaRecord>{};
    boost::system::error_code ec;
    json::value v = json::parse(**rec, ec);
    if (ec) return makeError(Errc::corrupt, "media", where + ": record is not JSON");
    auto m = model::mediaFromJson(v);
    if (!m) return m.error().context(where);
    return std::optional<model::MediaRecord>{std::move(*m)};
}

Result<std::pair<std::uint64_t, std::size_t>> Store::putMediaChecks(ShowId show, const std::vector<CheckWrite>& checks,
                                                                    const Origin& origin) {
    const std::string where = "store: media checks";
    std::size_t written = 0;
    auto rev = unrecordedEdit(*impl_, where, show, origin, [&](Writer& w) -> Status {
        for (const auto& c : checks) {
            auto rec = impl_->get(w.txn(), impl_->dbi(Table::clips), clipKey(show, c.check.clip));
            if (!rec) return rec.error();
            if (!rec->has_value()) continue;  // deleted meanwhile
            boost::system::error_code ec;
            json::value v = json::parse(**rec, ec);
            auto clip = ec ? Result<model::Clip>(makeError(Errc::corrupt, "clip", "clip record is not JSON")) : model::clipFromJson(v);
            if (!clip || clip->file != c.clipFile) continue;  // relinked or edited meanwhile
            if (int rc = w.put(Table::checks, checkKey(show, c.check.clip), json::serialize(model::toJson(c.check))))
                return rcStatus(rc, where);
            ++written;
        }
        return {};
    });
    if (!rev) return rev.error();
    return std::pair{*rev, written};
}

Result<std::uint64_t> Store::relinkClip(ShowId show, ClipId clip, const std::string& file, const std::string& media,
                                        const model::MediaCheck& check, const Origin& origin,
                                        const std::optional<std::string>& expectedFile) {
    const std::string where = "store: relink clip " + std::to_string(clip);
    return recordedEdit(*impl_, where, show, origin, [&](Writer& w) -> Status {
        const std::string key = clipKey(show, clip);
        auto rec = impl_->get(w.txn(), impl_->dbi(Table::clips), key);
        if (!rec) return rec.error();
        if (!rec->has_value()) return makeError(Errc::not_found, "clip", "no clip with id " + std::to_string(clip));
        boost::system::error_code ec;
        json::value v = json::parse(**rec, ec);
        auto c = ec ? Result<model::Clip>(makeError(Errc::corrupt, "clip", "clip record is not JSON")) : model::clipFromJson(v);
        if (!c) return c.error().context(where);
        if (expectedFile && c->file != *expectedFile)
            return makeError(Errc::conflict, "clip", "clip " + std::to_string(clip) + " was changed meanwhile: it plays '" + c->file + "' now");
        c->file = file;
        c->media = media;
        int rc = w.put(Table::clips, key, json::serialize(model::toJson(*c)));
        if (rc == 0) rc = w.put(Table::checks, checkKey(show, clip), json::serialize(model::toJson(check)));
        return rcStatus(rc, where);
    });
}

// --- Shows on this box

Result<std::vector<ShowSummary>> Store::listShows() const {
    const std::string where = "store: list shows";
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError(where, txn.rc());
    const std::uint64_t loaded = impl_->metaU64(txn.get(), "loaded_show");
    std::vector<ShowSummary> out;
    int rc = impl_->scan(txn.get(), impl_->dbi(Table::shows), "", [&](std::string_view k, std::string_view v) {
        ShowSummary s;
        s.id = Key::readU64(k, 0);
        boost::system::error_code ec;
        json::value j = json::parse(v, ec);
        if (!ec && j.is_object())
            if (auto* n = j.as_object().if_contains("name"); n && n->is_string()) s.name = std::string(n->as_string());
        s.loaded = s.id == loaded;
        out.push_back(std::move(s));
        return true;
    });
    for (std::size_t i = 0; rc == 0 && i < out.size(); ++i) {
        rc = impl_->scan(txn.get(), impl_->dbi(Table::clips), showKey(out[i].id), [&](std::string_view, std::string_view) {
            ++out[i].clips;
            return true;
        });
    }
    if (rc) return mdbError(where, rc);
    return out;
}

Result<ShowId> Store::duplicateShow(ShowId show, const std::string& name, const Origin& origin) {
    const std::string where = "store: duplicate show " + std::to_string(show);
    if (auto st = impl_->writable(where); !st) return st.error();
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    std::vector<Record> recs;
    int rc = readShowRecords(*impl_, txn.get(), show, recs);
    if (rc) return mdbError(where, rc);
    if (recs.empty() || recs.front().table != Table::shows)
        return makeError(Errc::not_found, "show", "no show with id " + std::to_string(show));
    const ShowId id = impl_->metaU64(txn.get(), "next_show_id") + 1;
    const std::string prefix = showKey(id);
    Writer w(*impl_, txn.get());
    for (auto& r : recs) {
        if (r.table == Table::search) continue;  // the writer rebuilds it from the clips
        std::string value = r.value;
        if (r.table == Table::shows) {
            boost::system::error_code ec;
            json::value j = json::parse(value, ec);
            if (ec || !j.is_object()) return makeError(Errc::corrupt, "show", where + ": show record is not JSON");
            j.as_object()["name"] = name;
            value = json::serialize(j);
        }
        rc = w.put(r.table, prefix + r.key.substr(8), value);
        if (rc) return mdbError(where, rc);
    }
    rc = impl_->putMetaU64(txn.get(), "next_show_id", id);
    if (rc) return mdbError(where, rc);
    Origin o = origin;
    if (o.what.empty()) o.what = "duplicated show " + std::to_string(show) + " as '" + name + "'";
    auto rev = finishEdit(*impl_, txn, w, id, o, where, false);
    if (!rev) return rev.error();
    return id;
}

Result<std::uint64_t> Store::deleteShow(ShowId show, const Origin& origin) {
    const std::string where = "store: delete show " + std::to_string(show);
    if (auto st = impl_->writable(where); !st) return st.error();
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    MDB_txn* t = txn.get();
    auto rec = impl_->get(t, impl_->dbi(Table::shows), showKey(show));
    if (!rec) return rec.error();
    if (!rec->has_value()) return makeError(Errc::not_found, "show", "no show with id " + std::to_string(show));
    if (impl_->metaU64(t, "loaded_show") == show)
        return makeError(Errc::conflict, "show", "show " + std::to_string(show) + " is loaded: load another show first");
    int rc = 0;
    for (std::size_t i = 0; rc == 0 && i < kShowTables; ++i) rc = impl_->erasePrefix(t, impl_->show[i], showKey(show));
    if (rc == 0) rc = impl_->erasePrefix(t, impl_->history, showKey(show));
    if (rc == 0) rc = impl_->erasePrefix(t, impl_->recovery, showKey(show));
    if (rc == 0) rc = impl_->del(t, impl_->meta, "hist_head" + showKey(show));
    const std::uint64_t revision = impl_->metaU64(t, "revision") + 1;
    if (rc == 0) rc = impl_->putMetaU64(t, "revision", revision);
    LogEntry e{0, 0, "show", "web", origin.client, origin.what.empty() ? "deleted show " + std::to_string(show) : origin.what, ""};
    if (rc == 0) rc = appendLogIn(*impl_, t, e);
    if (rc == 0) rc = txn.commit();
    if (rc) return mdbError(where, rc);
    return revision;
}

Result<std::uint64_t> Store::setLoadedShow(ShowId show, const Origin& origin) {
    const std::string where = "store: load show " + std::to_string(show);
    if (auto st = impl_->writable(where); !st) return st.error();
    {
        Txn txn(impl_->env, false);
        if (txn.rc()) return mdbError(where, txn.rc());
        auto rec = impl_->get(txn.get(), impl_->dbi(Table::shows), showKey(show));
        if (!rec) return rec.error();
        if (!rec->has_value()) return makeError(Errc::not_found, "show", "no show with id " + std::to_string(show));
    }
    // The outgoing show is kept as it was left.
    auto current = loadedShow();
    if (current && current->has_value() && **current != show) {
        auto p = createRecoveryPoint(**current, "before loading show " + std::to_string(show), "before_load");
        if (!p) return p.error().context(where);
    }
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    MDB_txn* t = txn.get();
    const std::uint64_t revision = impl_->metaU64(t, "revision") + 1;
    int rc = impl_->putMetaU64(t, "loaded_show", show);
    if (rc == 0) rc = impl_->putMetaU64(t, "revision", revision);
    LogEntry e{0, 0, "show", "web", origin.client, origin.what.empty() ? "loaded show " + std::to_string(show) : origin.what, ""};
    if (rc == 0) rc = appendLogIn(*impl_, t, e);
    if (rc == 0) rc = txn.commit();
    if (rc) return mdbError(where, rc);
    return revision;
}

namespace {
// The box's own records in the meta table: kept as they are when a backup is
// restored (they belong to the box, not to the show data).
constexpr std::array<std::string_view, 3> kBoxRecords = {"ui_lock", "control", "access"};
}  // namespace

Result<std::string> Store::boxRecord(std::string_view key) const {
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError("store: box record", txn.rc());
    auto rec = impl_->get(txn.get(), impl_->meta, key);
    if (!rec) return rec.error();
    return rec->value_or(std::string{});
}

Status Store::putBoxRecord(std::string_view key, const std::string& record, const std::string& kind,
                           const std::string& what, const Origin& origin) {
    const std::string where = "store: " + std::string(key);
    if (std::find(kBoxRecords.begin(), kBoxRecords.end(), key) == kBoxRecords.end())
        return makeError(Errc::internal, where, "not a box record");
    if (auto st = impl_->writable(where); !st) return st.error();
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    int rc = impl_->put(txn.get(), impl_->meta, key, record);
    LogEntry e{0, 0, kind, "web", origin.client, what, ""};
    if (rc == 0 && !what.empty()) rc = appendLogIn(*impl_, txn.get(), e);
    if (rc == 0) rc = txn.commit();
    return rcStatus(rc, where);
}

Result<std::string> Store::lockRecord() const { return boxRecord("ui_lock"); }

Status Store::putLockRecord(const std::string& record, const std::string& what, const Origin& origin) {
    return putBoxRecord("ui_lock", record, "lock", what, origin);
}

Result<std::vector<model::ClipId>> Store::search(ShowId show, const std::string& query, std::size_t limit) const {
    const std::string where = "store: search";
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError(where, txn.rc());
    std::vector<std::string> words = searchWordsOf(query);
    if (words.empty()) return std::vector<model::ClipId>{};
    std::vector<model::ClipId> result;
    for (std::size_t i = 0; i < words.size(); ++i) {
        std::vector<model::ClipId> hits;
        // Key: show, word, 0x00, clip id. A prefix scan finds every word
        // that starts with the query word.
        int rc = impl_->scan(txn.get(), impl_->dbi(Table::search), showKey(show) + words[i],
                             [&](std::string_view k, std::string_view) {
                                 if (k.size() >= 17) hits.push_back(Key::readU64(k, k.size() - 8));
                                 return true;
                             });
        if (rc) return mdbError(where, rc);
        std::sort(hits.begin(), hits.end());
        hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
        if (i == 0) result = std::move(hits);
        else {
            std::vector<model::ClipId> both;
            std::set_intersection(result.begin(), result.end(), hits.begin(), hits.end(), std::back_inserter(both));
            result = std::move(both);
        }
    }
    if (result.size() > limit) result.resize(limit);
    return result;
}

Result<std::string> Store::showRecords(ShowId show) const {
    const std::string where = "store: records of show " + std::to_string(show);
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError(where, txn.rc());
    std::vector<Record> recs;
    int rc = readShowRecords(*impl_, txn.get(), show, recs);
    if (rc) return mdbError(where, rc);
    if (recs.empty()) return makeError(Errc::not_found, "show", "no show with id " + std::to_string(show));
    // The search index is rebuilt where the records land.
    recs.erase(std::remove_if(recs.begin(), recs.end(), [](const Record& r) { return r.table == Table::search; }), recs.end());
    return encodeRecords(recs);
}

namespace {
bool jsonObject(std::string_view text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    return !ec && v.is_object();
}

// Where an imported clip's file lives here: the bundle's copy, or (media the
// bundle did not carry) the same relative path, or, for a path that is
// absolute or leaves the data folder, "media/<its name>" -- never a file
// outside the data folder. Such clips show as missing until relinked.
std::string importedFile(const std::string& f, const std::map<std::string, std::string>& files) {
    if (auto it = files.find(f); it != files.end()) return it->second;
    if (f.empty() || model::field::plainPath(f, false)) return f;
    std::string base = f.substr(f.find_last_of("/\\") == std::string::npos ? 0 : f.find_last_of("/\\") + 1);
    if (base.empty() || base == "." || base == "..") base = "missing";
    return "media/" + base;
}
}  // namespace

Status Store::checkShowRecords(const std::string& records) const {
    auto bad = [](const std::string& reason) { return makeError(Errc::bad_request, "bundle", reason); };
    std::vector<Record> recs;
    if (!decodeRecords(records, recs) || recs.empty()) return bad("the show records are damaged");
    const std::string from = recs.front().key.substr(0, 8);
    std::size_t pages = 0;
    bool hasShow = false;
    for (const auto& r : recs)
        if (r.table == Table::pages) ++pages;
    for (const auto& r : recs) {
        if (r.key.size() < 8 || r.key.compare(0, 8, from) != 0 || r.table == Table::search)
            return bad("the show records mix shows");
        const std::size_t k = r.key.size();
        bool ok = true;
        switch (r.table) {
        case Table::shows: ok = k == 8 && jsonObject(r.value), hasShow = true; break;
        case Table::pages: ok = k == 10 && Key::readU16(r.key, 8) < pages && jsonObject(r.value); break;
        case Table::tabs:
            ok = k == 12 && Key::readU16(r.key, 8) < pages && Key::readU16(r.key, 10) < model::kTabsPerPage && jsonObject(r.value);
            break;
        case Table::cells:
            ok = k == 16 && Key::readU16(r.key, 8) < pages && Key::readU16(r.key, 10) < model::kTabsPerPage &&
                 Key::readU16(r.key, 12) < model::kMaxGridSide && Key::readU16(r.key, 14) < model::kMaxGridSide && r.value.size() == 8;
            break;
        case Table::clips: {
            boost::system::error_code ec;
            json::value j = json::parse(r.value, ec);
            auto c = ec ? Result<model::Clip>(Error{}) : model::clipFromJson(j);
            ok = k == 16 && c.ok();
            break;
        }
        case Table::audio: {
            boost::system::error_code ec;
            json::value j = json::parse(r.value, ec);
            ok = k == 8 && !ec && model::audioFromJson(j).ok();
            break;
        }
        case Table::settings: ok = k > 8 && jsonObject(r.value); break;
        case Table::mappings: {
            boost::system::error_code ec;
            json::value j = json::parse(r.value, ec);
            ok = k == 16 && !ec && model::parseMapping(j).ok();
            break;
        }
        case Table::search: ok = false; break;
        case Table::media: {
            boost::system::error_code ec;
            json::value j = json::parse(r.value, ec);
            ok = k == 8 + 64 && !ec && model::mediaFromJson(j).ok();
            break;
        }
        case Table::checks: {
            boost::system::error_code ec;
            json::value j = json::parse(r.value, ec);
            ok = k == 16 && !ec && model::mediaCheckFromJson(j).ok();
            break;
        }
        }
        if (!ok) return bad("a " + std::string(kShowTableNames[static_cast<std::size_t>(r.table)]) + " record is malformed");
    }
    if (!hasShow) return bad("the show records hold no show");
    return {};
}

Result<std::pair<ShowId, std::uint64_t>> Store::importShowRecords(const std::string& records, const std::string& name,
                                                                  const std::map<std::string, std::string>& files,
                                                                  const Origin& origin) {
    const std::string where = "store: import show";
    if (auto st = impl_->writable(where); !st) return st.error();
    if (auto st = checkShowRecords(records); !st) return st.error();
    std::vector<Record> recs;
    decodeRecords(records, recs);
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    const ShowId id = impl_->metaU64(txn.get(), "next_show_id") + 1;
    const std::string prefix = showKey(id);
    Writer w(*impl_, txn.get());
    for (auto& r : recs) {
        std::string value = r.value;
        if (r.table == Table::shows || r.table == Table::clips || r.table == Table::media) {
            boost::system::error_code ec;
            json::value j = json::parse(value, ec);
            if (ec || !j.is_object()) return makeError(Errc::bad_request, "bundle", "a show, clip or media record is not JSON");
            auto& o = j.as_object();
            if (r.table == Table::shows && !name.empty()) o["name"] = name;
            if (r.table == Table::clips) {
                if (!model::clipFromJson(j)) return makeError(Errc::bad_request, "bundle", "a clip record is invalid");
                if (auto* f = o.if_contains("file"); f && f->is_string()) o["file"] = importedFile(std::string(f->as_string()), files);
            }
            if (r.table == Table::media)  // the library's files follow the bundle's copies
                for (const char* k : {"file", "original"})
                    if (auto* f = o.if_contains(k); f && f->is_string() && !f->as_string().empty())
                        o[k] = importedFile(std::string(f->as_string()), files);
            value = json::serialize(j);
        }
        if (int rc = w.put(r.table, prefix + r.key.substr(8), value)) return mdbError(where, rc);
    }
    if (int rc = impl_->putMetaU64(txn.get(), "next_show_id", id)) return mdbError(where, rc);
    // The imported clips keep their ids (cells and mappings name them): new
    // clips are numbered after the highest.
    std::uint64_t maxClip = impl_->metaU64(txn.get(), "next_clip_id");
    for (const auto& r : recs)
        if (r.table == Table::clips) maxClip = std::max(maxClip, Key::readU64(r.key, 8));
    if (int rc = impl_->putMetaU64(txn.get(), "next_clip_id", maxClip)) return mdbError(where, rc);
    Origin o = origin;
    if (o.what.empty()) o.what = "imported show '" + name + "'";
    auto rev = finishEdit(*impl_, txn, w, id, o, where, false);
    if (!rev) return rev.error();
    return std::pair{id, *rev};
}

Result<std::uint64_t> Store::copyTo(const std::string& file) const {
    const std::string where = "store: copy to '" + file + "'";
    auto rev = revision();
    if (!rev) return rev.error();
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) return makeError(Errc::io, "backup", where + ": " + std::strerror(errno));
    // The copy is made in one read transaction: consistent at a revision
    // at least as new as `rev`.
    int rc = mdb_env_copyfd2(impl_->env, fd, MDB_CP_COMPACT);
    if (rc == 0 && ::fsync(fd) != 0) rc = errno;
    ::close(fd);
    if (rc) return mdbError(where, rc);
    return *rev;
}

int Store::Impl::openTables(MDB_txn* t, bool create) {
    const unsigned flags = create ? MDB_CREATE : 0u;
    int rc = 0;
    for (std::size_t i = 0; rc == 0 && i < kShowTables; ++i) rc = mdb_dbi_open(t, kShowTableNames[i], flags, &show[i]);
    for (auto [name, dbi] : {std::pair{"meta", &meta}, std::pair{"history", &history}, std::pair{"recovery", &recovery},
                             std::pair{"log", &log}})
        if (rc == 0) rc = mdb_dbi_open(t, name, flags, dbi);
    return rc;
}

Status Store::Impl::reopenReadOnly() {
    const std::string where = "store: reopen '" + dir + "' read-only";
    if (env) mdb_env_close(env);
    env = nullptr;
    int rc = mdb_env_create(&env);
    if (rc == 0) rc = mdb_env_set_maxdbs(env, 24);
    if (rc == 0) rc = mdb_env_set_mapsize(env, mapSize);
    if (rc == 0) rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS | MDB_RDONLY, 0660);
    if (rc) return mdbError(where, rc);
    Txn txn(env, false);
    if (txn.rc()) return mdbError(where, txn.rc());
    rc = openTables(txn.get(), false);
    if (rc == 0) rc = txn.commit();
    if (rc) return mdbError(where, rc);
    return {};
}

Result<std::uint64_t> Store::replaceFrom(const std::string& otherDir, const Origin& origin) {
    const std::string where = "store: restore from '" + otherDir + "'";
    // A store from newer firmware (opened read-only) may be replaced by a
    // backup this firmware wrote: that is how a rollback gets its data back.
    if (!impl_->downgraded)
        if (auto st = impl_->writable(where); !st) return st.error();
    Options opts;
    opts.dir = otherDir;
    opts.readOnly = true;
    opts.noLock = true;
    auto other = Store::open(opts);
    if (!other) return other.error().context(where);
    Store& src = **other;
    if (src.formatVersion() != kFormatVersion)
        return makeError(Errc::conflict, "backup", where + ": it holds format " + std::to_string(src.formatVersion()) +
                                                       ", this firmware writes " + std::to_string(kFormatVersion));
    const bool overNewer = impl_->downgraded;
    std::uint64_t revision = 0;
    // After a failure over a newer store, it is opened read-only again as
    // it was (nothing was committed).
    auto failed = [&](Error e) -> Result<std::uint64_t> {
        if (overNewer) {
            if (auto st = impl_->reopenReadOnly(); !st) return st.error().context(e.reason);
        }
        return e;
    };
    if (overNewer) {
        // Reopen the environment read-write; everything in it is replaced
        // below, in the same transaction as the copy.
        mdb_env_close(impl_->env);
        impl_->env = nullptr;
        int rc = mdb_env_create(&impl_->env);
        if (rc == 0) rc = mdb_env_set_maxdbs(impl_->env, 24);
        if (rc == 0) rc = mdb_env_set_mapsize(impl_->env, impl_->mapSize);
        if (rc == 0) rc = mdb_env_open(impl_->env, impl_->dir.c_str(), MDB_NOTLS, 0660);
        if (rc) return failed(mdbError(where + ": reopen for writing", rc));
    }
    // The copy, in one transaction; both transactions have ended when it
    // returns, before the environment may be reopened on an error.
    const int rc = [&]() -> int {
        Txn from(src.impl_->env, false);
        Txn txn(impl_->env, true);
        if (from.rc() || txn.rc()) return from.rc() ? from.rc() : txn.rc();
        MDB_txn* t = txn.get();
        int rc = 0;
        if (overNewer) {
            // Every table of the newer format goes (ours are made again empty).
            MDB_dbi main = 0;
            rc = mdb_dbi_open(t, nullptr, 0, &main);
            std::vector<std::string> names;
            if (rc == 0)
                rc = impl_->scan(t, main, "", [&](std::string_view k, std::string_view) {
                    names.emplace_back(k);
                    return true;
                });
            for (const auto& n : names) {
                MDB_dbi d = 0;
                if (rc == 0) rc = mdb_dbi_open(t, n.c_str(), 0, &d);
                if (rc == 0) rc = mdb_drop(t, d, 1);
            }
            if (rc == 0) rc = impl_->openTables(t, true);
        }
        if (rc == 0) revision = std::max(impl_->metaU64(t, "revision"), src.impl_->metaU64(from.get(), "revision")) + 1;
        std::vector<std::pair<MDB_dbi, MDB_dbi>> tables;
        for (std::size_t i = 0; i < kShowTables; ++i) tables.emplace_back(src.impl_->show[i], impl_->show[i]);
        tables.emplace_back(src.impl_->history, impl_->history);
        tables.emplace_back(src.impl_->recovery, impl_->recovery);
        tables.emplace_back(src.impl_->meta, impl_->meta);
        // The box's records (the show lock, control access, users) are the
        // box's state now, not the backup's: a restore neither locks the box
        // with an old PIN nor unlocks it, nor brings back old passwords.
        std::vector<std::pair<std::string_view, std::optional<std::string>>> box;
        for (auto key : kBoxRecords) {
            if (rc != 0) break;
            auto cur = impl_->get(t, impl_->meta, key);
            if (!cur) return EIO;
            box.emplace_back(key, *cur);
        }
        for (auto [sd, d] : tables) {
            if (rc == 0) rc = mdb_drop(t, d, 0);
            if (rc == 0)
                rc = src.impl_->scan(from.get(), sd, "", [&](std::string_view k, std::string_view v) {
                    return impl_->put(t, d, k, v) == 0;
                });
        }
        for (const auto& [key, rec] : box) {
            if (rc != 0) break;
            rc = rec ? impl_->put(t, impl_->meta, key, *rec) : impl_->del(t, impl_->meta, key);
            if (rc == MDB_NOTFOUND) rc = 0;
        }
        // The revision only ever grows, so every reader sees the restore as new.
        if (rc == 0) rc = impl_->putMetaU64(t, "revision", revision);
        LogEntry e{0, 0, "system", "web", origin.client, origin.what.empty() ? "restored the store from a backup" : origin.what, ""};
        if (rc == 0) rc = appendLogIn(*impl_, t, e);
        if (rc == 0) rc = txn.commit();
        return rc;
    }();
    if (rc) return failed(mdbError(where, rc));
    if (overNewer) {
        impl_->readOnly = false;
        impl_->downgraded = false;
        impl_->readOnlyReason.clear();
        formatVersion_ = kFormatVersion;
    }
    return revision;
}

}  // namespace cuebox::store
