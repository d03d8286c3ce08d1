// The recording writer, change history with undo/redo, recovery points and
// the event log.
#include "base/Time.h"
#include "model/Field.h"
#include "store/Impl.h"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cctype>

namespace cuebox::store {
namespace json = boost::json;
using model::ShowId;

namespace {
constexpr std::size_t kHistoryKeep = 1000;

void putU32(std::string& out, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
bool readU32(std::string_view s, std::size_t& at, std::uint32_t& v) {
    if (at + 4 > s.size()) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
    at += 4;
    return true;
}
void putBytes(std::string& out, std::string_view b) {
    putU32(out, static_cast<std::uint32_t>(b.size()));
    out.append(b);
}
bool readBytes(std::string_view s, std::size_t& at, std::string& out) {
    std::uint32_t n = 0;
    if (!readU32(s, at, n) || at + n > s.size()) return false;
    out.assign(s.substr(at, n));
    at += n;
    return true;
}
bool readTable(std::string_view s, std::size_t& at, Table& t) {
    if (at >= s.size() || static_cast<unsigned char>(s[at]) >= kShowTables) return false;
    t = static_cast<Table>(static_cast<unsigned char>(s[at++]));
    return true;
}

std::string showKey(ShowId s) { return Key().u64(s).bytes(); }
std::string histHeadKey(ShowId s) { return "hist_head" + showKey(s); }

std::uint64_t nowNs() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// A history or recovery record: a JSON header, then the binary body.
std::string withHeader(const json::object& header, std::string_view body) {
    std::string out;
    putBytes(out, json::serialize(header));
    out.append(body);
    return out;
}
bool splitHeader(std::string_view rec, json::object& header, std::string_view& body) {
    std::size_t at = 0;
    std::string h;
    if (!readBytes(rec, at, h)) return false;
    boost::system::error_code ec;
    json::value v = json::parse(h, ec);
    if (ec || !v.is_object()) return false;
    header = std::move(v.as_object());
    body = rec.substr(at);
    return true;
}
std::string str(const json::object& o, const char* k) {
    const json::value* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
std::uint64_t num(const json::object& o, const char* k) {
    const json::value* v = o.if_contains(k);
    return model::field::count(v).value_or(0);
}

// Walks the history or recovery records of a show, oldest first: each
// one's key, number and header (empty when damaged) and body.
template <typename Fn>
int scanHeaders(const Store::Impl& impl, MDB_txn* t, MDB_dbi db, ShowId show, Fn fn) {
    return impl.scan(t, db, showKey(show), [&](std::string_view k, std::string_view v) {
        json::object h;
        std::string_view body;
        if (!splitHeader(v, h, body)) h.clear(), body = {};
        fn(k, Key::readU64(k, 8), h, body);
        return true;
    });
}
}  // namespace

std::string encodeChanges(const std::vector<Change>& changes) {
    std::string out;
    for (const auto& c : changes) {
        out.push_back(static_cast<char>(c.table));
        putBytes(out, c.key);
        out.push_back(static_cast<char>((c.before ? 1 : 0) | (c.after ? 2 : 0)));
        if (c.before) putBytes(out, *c.before);
        if (c.after) putBytes(out, *c.after);
    }
    return out;
}

bool decodeChanges(std::string_view s, std::vector<Change>& out) {
    std::size_t at = 0;
    while (at < s.size()) {
        Change c;
        if (!readTable(s, at, c.table) || !readBytes(s, at, c.key) || at >= s.size()) return false;
        const unsigned flags = static_cast<unsigned char>(s[at++]);
        std::string b;
        if (flags & 1) {
            if (!readBytes(s, at, b)) return false;
            c.before = b;
        }
        if (flags & 2) {
            if (!readBytes(s, at, b)) return false;
            c.after = b;
        }
        out.push_back(std::move(c));
    }
    return true;
}

std::string encodeRecords(const std::vector<Record>& records) {
    std::string out;
    for (const auto& r : records) {
        out.push_back(static_cast<char>(r.table));
        putBytes(out, r.key);
        putBytes(out, r.value);
    }
    return out;
}

bool decodeRecords(std::string_view s, std::vector<Record>& out) {
    std::size_t at = 0;
    while (at < s.size()) {
        Record r;
        if (!readTable(s, at, r.table) || !readBytes(s, at, r.key) || !readBytes(s, at, r.value)) return false;
        out.push_back(std::move(r));
    }
    return true;
}

std::vector<std::string> searchWordsOf(std::string_view text) {
    std::vector<std::string> words;
    std::string w;
    auto flush = [&] {
        if (!w.empty() && std::find(words.begin(), words.end(), w) == words.end()) words.push_back(w);
        w.clear();
    };
    for (unsigned char ch : text) {
        // Letters and digits (and any UTF-8 byte) make words; ASCII
        // letters fold to lower case.
        if (std::isalnum(ch) || ch >= 0x80) w.push_back(static_cast<char>(std::tolower(ch)));
        else flush();
    }
    flush();
    return words;
}

std::vector<std::string> searchWords(std::string_view clipRecord) {
    boost::system::error_code ec;
    json::value v = json::parse(clipRecord, ec);
    if (ec || !v.is_object()) return {};
    std::string text;
    if (auto* l = v.as_object().if_contains("label"); l && l->is_string()) text += std::string(l->as_string()) + " ";
    if (auto* f = v.as_object().if_contains("file"); f && f->is_string()) {
        const std::string file(f->as_string());
        const auto slash = file.find_last_of('/');
        text += slash == std::string::npos ? file : file.substr(slash + 1);
    }
    return searchWordsOf(text);
}

int Writer::rawPut(Table table, const std::string& key, std::string_view value, bool reindex) {
    auto old = impl_.get(t_, impl_.dbi(table), key);
    if (!old) return EIO;
    if (old->has_value() && **old == value) return 0;  // unchanged: not recorded
    std::optional<std::string> after{std::string(value)};
    int rc = impl_.put(t_, impl_.dbi(table), key, value);
    if (rc) return rc;
    changes_.push_back(Change{table, key, *old, after});
    if (reindex && table == Table::clips) rc = reindexClip(key, *old, after);
    return rc;
}

int Writer::rawDel(Table table, const std::string& key, bool reindex) {
    auto old = impl_.get(t_, impl_.dbi(table), key);
    if (!old) return EIO;
    if (!old->has_value()) return 0;
    int rc = impl_.del(t_, impl_.dbi(table), key);
    if (rc) return rc;
    changes_.push_back(Change{table, key, *old, std::nullopt});
    if (reindex && table == Table::clips) rc = reindexClip(key, *old, std::nullopt);
    return rc;
}

int Writer::put(Table table, const std::string& key, std::string_view value) { return rawPut(table, key, value, true); }
int Writer::putUnindexed(Table table, const std::string& key, std::string_view value) {
    return rawPut(table, key, value, false);
}
int Writer::del(Table table, const std::string& key) { return rawDel(table, key, true); }

int Writer::delPrefix(Table table, const std::string& prefix) {
    std::vector<std::string> keys;
    int rc = impl_.scan(t_, impl_.dbi(table), prefix, [&](std::string_view k, std::string_view) {
        keys.emplace_back(k);
        return true;
    });
    for (std::size_t i = 0; rc == 0 && i < keys.size(); ++i) rc = rawDel(table, keys[i], false);
    return rc;
}

// Search key: show (8 bytes), word, 0x00, clip id (8 bytes).
int Writer::reindexClip(const std::string& key, const std::optional<std::string>& before,
                        const std::optional<std::string>& after) {
    const std::string show = key.substr(0, 8), clip = key.substr(8, 8);
    std::vector<std::string> was = before ? searchWords(*before) : std::vector<std::string>{};
    std::vector<std::string> is = after ? searchWords(*after) : std::vector<std::string>{};
    int rc = 0;
    for (const auto& w : was)
        if (rc == 0 && std::find(is.begin(), is.end(), w) == is.end())
            rc = rawDel(Table::search, show + w + std::string(1, '\0') + clip, false);
    for (const auto& w : is)
        if (rc == 0 && std::find(was.begin(), was.end(), w) == was.end())
            rc = rawPut(Table::search, show + w + std::string(1, '\0') + clip, "", false);
    return rc;
}

int appendLogIn(Store::Impl& impl, MDB_txn* t, LogEntry e) {
    if (e.timeNs == 0) e.timeNs = nowNs();
    const std::uint64_t seq = impl.metaU64(t, "log_seq") + 1;
    int rc = impl.putMetaU64(t, "log_seq", seq);
    if (rc) return rc;
    json::object o{{"kind", e.kind}, {"source", e.source}, {"client", e.client}, {"detail", e.detail}};
    if (!e.timeSource.empty()) o["time_source"] = e.timeSource;
    return impl.put(t, impl.log, Key().u64(e.timeNs).u64(seq).bytes(), json::serialize(o));
}

Result<std::uint64_t> finishEdit(Store::Impl& impl, Txn& txn, Writer& w, ShowId show, const Origin& origin,
                                 const std::string& where, bool undoable) {
    MDB_txn* t = txn.get();
    const std::uint64_t revision = impl.metaU64(t, "revision") + 1;
    int rc = 0;
    if (undoable && !w.changes().empty()) {
        // A new edit after undos drops the undone entries (no branching
        // history), then becomes the newest entry.
        const std::uint64_t head = impl.metaU64(t, histHeadKey(show));
        {
            std::vector<std::string> undone;
            rc = impl.scan(t, impl.history, showKey(show), [&](std::string_view k, std::string_view) {
                if (Key::readU64(k, 8) > head) undone.emplace_back(k);
                return true;
            });
            for (std::size_t i = 0; rc == 0 && i < undone.size(); ++i) rc = impl.del(t, impl.history, undone[i]);
        }
        const std::uint64_t seq = head + 1;
        // What changed, for a person: the caller's words, or the edit's name.
        std::string what = origin.what;
        if (what.empty()) what = where.rfind("store: ", 0) == 0 ? where.substr(7) : where;
        json::object header{{"time", isoNow(true)}, {"client", origin.client}, {"what", what}, {"revision", revision}};
        if (rc == 0) rc = impl.put(t, impl.history, showKey(show) + Key().u64(seq).bytes(), withHeader(header, encodeChanges(w.changes())));
        if (rc == 0) rc = impl.putMetaU64(t, histHeadKey(show), seq);
        if (rc == 0 && seq > kHistoryKeep) rc = impl.del(t, impl.history, showKey(show) + Key().u64(seq - kHistoryKeep).bytes());
    }
    if (rc == 0) rc = impl.putMetaU64(t, "revision", revision);
    if (rc == 0) {
        std::string what = origin.what.empty() ? (where.rfind("store: ", 0) == 0 ? where.substr(7) : where) : origin.what;
        rc = appendLogIn(impl, t, LogEntry{0, 0, "edit", "web", origin.client, what, ""});
    }
    if (rc == 0) rc = txn.commit();  // synced to disk before the caller acknowledges
    if (rc) return mdbError(where, rc);
    return revision;
}

Result<std::vector<HistoryEntry>> Store::history(ShowId show, std::size_t limit) const {
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError("store: history", txn.rc());
    const std::uint64_t head = impl_->metaU64(txn.get(), histHeadKey(show));
    std::vector<HistoryEntry> out;
    int rc = scanHeaders(*impl_, txn.get(), impl_->history, show,
                         [&](std::string_view, std::uint64_t seq, const json::object& h, std::string_view body) {
                             std::vector<Change> c;
                             decodeChanges(body, c);
                             out.push_back(HistoryEntry{seq, str(h, "time"), str(h, "client"), str(h, "what"),
                                                        num(h, "revision"), c.size(), seq > head});
                         });
    if (rc) return mdbError("store: history", rc);
    std::reverse(out.begin(), out.end());  // newest first
    if (out.size() > limit) out.resize(limit);
    return out;
}

Result<std::string> Store::lastEditTime(ShowId show) const {
    auto h = history(show, 1000);
    if (!h) return h.error();
    for (const auto& e : *h)
        if (!e.undone) return e.time;
    return std::string();
}

namespace {
// Applies the before images (undo: newest change first) or the after
// images (redo) of one history entry.
int applyEntry(Store::Impl& impl, MDB_txn* t, const std::vector<Change>& changes, bool undo) {
    int rc = 0;
    auto apply = [&](const Change& c) {
        const auto& image = undo ? c.before : c.after;
        rc = image ? impl.put(t, impl.dbi(c.table), c.key, *image) : impl.del(t, impl.dbi(c.table), c.key);
    };
    if (undo)
        for (auto it = changes.rbegin(); rc == 0 && it != changes.rend(); ++it) apply(*it);
    else
        for (auto it = changes.begin(); rc == 0 && it != changes.end(); ++it) apply(*it);
    return rc;
}

Result<std::uint64_t> undoRedo(Store::Impl& impl, ShowId show, const Origin& origin, bool undo) {
    const std::string where = undo ? "store: undo" : "store: redo";
    if (auto st = impl.writable(where); !st) return st.error();
    Txn txn(impl.env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    MDB_txn* t = txn.get();
    auto showRec = impl.get(t, impl.dbi(Table::shows), showKey(show));
    if (!showRec) return showRec.error();
    if (!showRec->has_value()) return makeError(Errc::not_found, "show", "no show with id " + std::to_string(show));
    const std::uint64_t head = impl.metaU64(t, histHeadKey(show));
    const std::uint64_t seq = undo ? head : head + 1;
    auto rec = seq ? impl.get(t, impl.history, showKey(show) + Key().u64(seq).bytes())
                   : Result<std::optional<std::string>>(std::optional<std::string>{});
    if (!rec) return rec.error();
    if (!rec->has_value())
        return makeError(Errc::conflict, undo ? "undo" : "redo", undo ? "nothing to undo" : "nothing to redo");
    json::object h;
    std::string_view body;
    std::vector<Change> changes;
    if (!splitHeader(**rec, h, body) || !decodeChanges(body, changes))
        return makeError(Errc::corrupt, "history", where + ": history entry " + std::to_string(seq) + " is damaged");
    int rc = applyEntry(impl, t, changes, undo);
    if (rc == 0) rc = impl.putMetaU64(t, histHeadKey(show), undo ? head - 1 : head + 1);
    const std::uint64_t revision = impl.metaU64(t, "revision") + 1;
    if (rc == 0) rc = impl.putMetaU64(t, "revision", revision);
    const std::string what = std::string(undo ? "undo: " : "redo: ") + str(h, "what");
    if (rc == 0) rc = appendLogIn(impl, t, LogEntry{0, 0, "edit", "web", origin.client, what, ""});
    if (rc == 0) rc = txn.commit();
    if (rc) return mdbError(where, rc);
    return revision;
}
}  // namespace

Result<std::uint64_t> Store::undo(ShowId show, const Origin& origin) { return undoRedo(*impl_, show, origin, true); }
Result<std::uint64_t> Store::redo(ShowId show, const Origin& origin) { return undoRedo(*impl_, show, origin, false); }

// --- Recovery points: key (show, id) -> header + the show's records.

Result<RecoveryPoint> Store::createRecoveryPoint(ShowId show, const std::string& name, const std::string& kind,
                                                 std::size_t keepAuto) {
    const std::string where = "store: recovery point";
    if (auto st = impl_->writable(where); !st) return st.error();
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    MDB_txn* t = txn.get();
    std::vector<Record> recs;
    int rc = 0;
    for (std::size_t i = 0; rc == 0 && i < kShowTables; ++i) {
        const Table table = static_cast<Table>(i);
        rc = impl_->scan(t, impl_->show[i], showKey(show), [&](std::string_view k, std::string_view v) {
            recs.push_back(Record{table, std::string(k), std::string(v)});
            return true;
        });
    }
    if (rc) return mdbError(where, rc);
    if (recs.empty()) return makeError(Errc::not_found, "show", "no show with id " + std::to_string(show));
    RecoveryPoint p;
    p.id = impl_->metaU64(t, "next_recovery_id") + 1;
    p.name = name;
    p.kind = kind;
    p.time = isoNow(true);
    p.revision = impl_->metaU64(t, "revision");
    p.records = recs.size();
    json::object header{{"name", p.name}, {"kind", p.kind}, {"time", p.time}, {"revision", p.revision}, {"records", p.records}};
    rc = impl_->putMetaU64(t, "next_recovery_id", p.id);
    if (rc == 0) rc = impl_->put(t, impl_->recovery, showKey(show) + Key().u64(p.id).bytes(), withHeader(header, encodeRecords(recs)));
    if (rc == 0 && kind != "named") {
        // Keep the newest `keepAuto` points of this kind (automatic, before
        // a load, before an import); named ones stay.
        std::vector<std::string> autos;
        rc = scanHeaders(*impl_, t, impl_->recovery, show, [&](std::string_view k, std::uint64_t, const json::object& h, std::string_view) {
            if (str(h, "kind") == kind) autos.emplace_back(k);
        });
        for (std::size_t i = 0; rc == 0 && autos.size() > keepAuto && i < autos.size() - keepAuto; ++i)
            rc = impl_->del(t, impl_->recovery, autos[i]);
    }
    if (rc == 0) rc = appendLogIn(*impl_, t, LogEntry{0, 0, "show", "web", "", "recovery point " + std::to_string(p.id) + " (" + kind + "): " + name, ""});
    if (rc == 0) rc = txn.commit();
    if (rc) return mdbError(where, rc);
    return p;
}

Result<std::vector<RecoveryPoint>> Store::recoveryPoints(ShowId show) const {
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError("store: recovery points", txn.rc());
    std::vector<RecoveryPoint> out;
    int rc = scanHeaders(*impl_, txn.get(), impl_->recovery, show,
                         [&](std::string_view, std::uint64_t id, const json::object& h, std::string_view) {
                             out.push_back(RecoveryPoint{id, str(h, "name"), str(h, "kind"), str(h, "time"), num(h, "revision"),
                                                         num(h, "records")});
                         });
    if (rc) return mdbError("store: recovery points", rc);
    std::reverse(out.begin(), out.end());
    return out;
}

Result<std::uint64_t> Store::restoreRecoveryPoint(ShowId show, std::uint64_t point, const Origin& origin) {
    const std::string where = "store: restore recovery point " + std::to_string(point);
    if (auto st = impl_->writable(where); !st) return st.error();
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    MDB_txn* t = txn.get();
    auto rec = impl_->get(t, impl_->recovery, showKey(show) + Key().u64(point).bytes());
    if (!rec) return rec.error();
    if (!rec->has_value()) return makeError(Errc::not_found, "id", "no recovery point " + std::to_string(point) + " for this show");
    json::object h;
    std::string_view body;
    std::vector<Record> recs;
    if (!splitHeader(**rec, h, body) || !decodeRecords(body, recs))
        return makeError(Errc::corrupt, "recovery", where + ": the recovery point is damaged");
    for (const auto& r : recs)
        if (r.key.compare(0, 8, showKey(show)) != 0)
            return makeError(Errc::corrupt, "recovery", where + ": the recovery point holds another show's record");
    // Through the writer: the restore is one undoable history entry (the
    // deletes keep the before images, the puts the after images).
    Writer w(*impl_, t);
    int rc = 0;
    for (std::size_t i = 0; rc == 0 && i < kShowTables; ++i) rc = w.delPrefix(static_cast<Table>(i), showKey(show));
    for (std::size_t i = 0; rc == 0 && i < recs.size(); ++i) rc = w.putUnindexed(recs[i].table, recs[i].key, recs[i].value);
    if (rc) return mdbError(where, rc);
    Origin o = origin;
    if (o.what.empty()) o.what = "restored recovery point " + std::to_string(point) + " (" + str(h, "name") + ")";
    return finishEdit(*impl_, txn, w, show, o, where);
}

Status Store::deleteRecoveryPoint(ShowId show, std::uint64_t point) {
    const std::string where = "store: delete recovery point";
    if (auto st = impl_->writable(where); !st) return st.error();
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    const std::string key = showKey(show) + Key().u64(point).bytes();
    auto rec = impl_->get(txn.get(), impl_->recovery, key);
    if (!rec) return rec.error();
    if (!rec->has_value()) return makeError(Errc::not_found, "id", "no recovery point " + std::to_string(point) + " for this show");
    int rc = impl_->del(txn.get(), impl_->recovery, key);
    if (rc == 0) rc = txn.commit();
    if (rc) return mdbError(where, rc);
    return {};
}

// --- Event log: key (time ns, seq) -> JSON.

Status Store::appendLog(std::vector<LogEntry> entries) {
    const std::string where = "store: log";
    if (impl_->readOnly) return {};  // a read-only store keeps no log
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    int rc = 0;
    for (auto& e : entries)
        if (rc == 0) rc = appendLogIn(*impl_, txn.get(), std::move(e));
    if (rc == 0) rc = txn.commit();
    if (rc) return mdbError(where, rc);
    return {};
}

Result<std::vector<LogEntry>> Store::readLog(std::uint64_t fromNs, std::uint64_t toNs, std::size_t limit) const {
    return readLog(fromNs, toNs, limit, false, "");
}

Result<std::vector<LogEntry>> Store::readLog(std::uint64_t fromNs, std::uint64_t toNs, std::size_t limit, bool newestFirst,
                                             std::string_view kind) const {
    Txn txn(impl_->env, false);
    if (txn.rc()) return mdbError("store: read log", txn.rc());
    std::vector<LogEntry> out;
    MDB_cursor* cur = nullptr;
    int rc = mdb_cursor_open(txn.get(), impl_->log, &cur);
    if (rc) return mdbError("store: read log", rc);
    MDB_val k{}, v{};
    std::string start;
    if (!newestFirst) {
        start = Key().u64(fromNs).bytes();
        k = val(start);
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else if (toNs == UINT64_MAX) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    } else {
        // The first entry after `to`, then one back (or the last of all).
        start = Key().u64(toNs + 1).bytes();
        k = val(start);
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        rc = rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST) : rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : rc;
    }
    const MDB_cursor_op step = newestFirst ? MDB_PREV : MDB_NEXT;
    while (rc == 0 && out.size() < limit) {
        std::string_view key = view(k);
        if (key.size() != 16) break;
        const std::uint64_t t = Key::readU64(key, 0);
        if (newestFirst ? t < fromNs : t > toNs) break;
        boost::system::error_code ec;
        json::value j = json::parse(view(v), ec);
        if (!ec && j.is_object()) {
            const auto& o = j.as_object();
            std::string entryKind = str(o, "kind");
            if (kind.empty() || entryKind == kind)
                out.push_back(LogEntry{t, Key::readU64(key, 8), std::move(entryKind), str(o, "source"), str(o, "client"),
                                       str(o, "detail"), str(o, "time_source")});
        }
        rc = mdb_cursor_get(cur, &k, &v, step);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) return mdbError("store: read log", rc);
    return out;
}

Result<std::size_t> Store::pruneLog(std::uint64_t maxAgeS, std::uint64_t maxBytes) {
    // Runs every minute: it never walks the whole log. Entries go oldest
    // first (the key starts with the time); the size is the table's pages.
    const std::string where = "store: prune log";
    if (impl_->readOnly) return std::size_t{0};
    constexpr std::size_t kMostPerCall = 100000;  // a big backlog goes over several minutes
    Txn txn(impl_->env, true);
    if (txn.rc()) return mdbError(where, txn.rc());
    MDB_txn* t = txn.get();
    const std::uint64_t cutoff = nowNs() - std::min<std::uint64_t>(maxAgeS, nowNs() / 1000000000ull) * 1000000000ull;
    MDB_cursor* cur = nullptr;
    int rc = mdb_cursor_open(t, impl_->log, &cur);
    if (rc) return mdbError(where, rc);
    std::size_t dropped = 0;
    auto dropOldest = [&]() {  // 0: one dropped; MDB_NOTFOUND: the log is empty
        MDB_val k{}, v{};
        int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (r == 0) r = mdb_cursor_del(cur, 0);
        if (r == 0) ++dropped;
        return r;
    };
    auto oldestIsStale = [&]() {
        MDB_val k{}, v{};
        return mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0 && k.mv_size == 16 && Key::readU64(view(k), 0) < cutoff;
    };
    auto tableBytes = [&]() -> std::uint64_t {
        MDB_stat st{};
        if (mdb_stat(t, impl_->log, &st)) return 0;
        return static_cast<std::uint64_t>(st.ms_psize) * (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
    };
    while (rc == 0 && dropped < kMostPerCall && oldestIsStale()) rc = dropOldest();
    while (rc == 0 && dropped < kMostPerCall && tableBytes() > maxBytes)
        for (int i = 0; i < 256 && rc == 0; ++i) rc = dropOldest();
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) rc = 0;
    if (rc == 0 && dropped) rc = txn.commit();
    if (rc) return mdbError(where, rc);
    return dropped;
}

}  // namespace cuebox::store
