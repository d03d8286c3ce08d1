#include "web/Access.h"

#include "base/Sha256.h"
#include "base/Time.h"

#include <boost/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace cuebox::web {
namespace json = boost::json;

// --- Hashing ------------------------------------------------------------

Result<std::string> hashSecret(const std::string& secret) {
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return makeError(Errc::unavailable, "password", "not enough memory to hash the password; try again");
    return std::string(out);
}

bool verifySecret(const std::string& stored, const std::string& secret) {
    if (stored.empty() || stored.size() >= crypto_pwhash_STRBYTES) return false;
    return crypto_pwhash_str_verify(stored.c_str(), secret.data(), secret.size()) == 0;
}

Hasher::~Hasher() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool Hasher::run(std::function<std::string()> work, std::function<void(std::string)> done) {
    if (!post_) {
        done(work());
        return true;
    }
    {
        std::lock_guard lock(mutex_);
        if (jobs_.size() >= kQueue) return false;
        jobs_.emplace_back(std::move(work), std::move(done));
        if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    }
    cv_.notify_one();
    return true;
}

void Hasher::loop() {
    std::unique_lock lock(mutex_);
    while (true) {
        cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
        if (stop_) return;
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        std::string result = job.first();
        post_([done = std::move(job.second), result = std::move(result)]() mutable { done(std::move(result)); });
        lock.lock();
    }
}

// --- AccessControl --------------------------------------------------------

namespace {
std::int64_t unixNow() { return static_cast<std::int64_t>(std::time(nullptr)); }

bool sameSecret(std::string_view a, std::string_view b) {
    return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The value of cookie `name` in a Cookie header ("a=1; cuebox_session=..").
std::string_view cookieValue(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const std::size_t semi = header.find(';');
        std::string_view part = header.substr(0, semi);
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=')
            return part.substr(name.size() + 1);
    }
    return {};
}

// Whether a JSON body is an object holding only members named in `allowed`
// (comma-separated), and at least one.
bool onlyMembers(std::string_view body, std::string_view allowed) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object() || v.as_object().empty()) return false;
    for (const auto& kv : v.as_object()) {
        bool found = false;
        std::string_view rest = allowed;
        while (!rest.empty() && !found) {
            const std::size_t comma = rest.find(',');
            found = rest.substr(0, comma) == kv.key();
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
        if (!found) return false;
    }
    return true;
}
}  // namespace

AccessControl::AccessControl(store::Store& store) : store_(store) { [[maybe_unused]] const int ready = sodium_init(); }

std::string AccessControl::randomHex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    randombytes_buf(raw.data(), raw.size());
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    s.reserve(bytes * 2);
    for (unsigned char c : raw) {
        s += hex[c >> 4];
        s += hex[c & 15];
    }
    return s;
}

std::optional<Role> AccessControl::parseRole(std::string_view s) {
    for (Role r : {Role::viewer, Role::operator_, Role::designer, Role::admin})
        if (s == roleName(r)) return r;
    return std::nullopt;
}

Status AccessControl::load() {
    if (sodium_init() < 0) return makeError(Errc::internal, "access", "libsodium could not be initialised");
    auto rec = store_.boxRecord("access");
    if (!rec) return rec.error();
    users_.clear();
    sessions_.clear();
    tokens_.clear();
    if (rec->empty()) return {};
    boost::system::error_code ec;
    json::value v = json::parse(*rec, ec);
    if (ec || !v.is_object()) return makeError(Errc::corrupt, "access", "the access record is not JSON");
    const json::object& o = v.as_object();
    auto str = [](const json::object& x, const char* k) {
        const json::value* m = x.if_contains(k);
        return m && m->is_string() ? std::string(m->as_string()) : std::string();
    };
    auto flag = [](const json::object& x, const char* k) {
        const json::value* m = x.if_contains(k);
        return m && m->is_bool() && m->as_bool();
    };
    auto list = [&](const char* k) -> json::array {
        const json::value* m = o.if_contains(k);
        return m && m->is_array() ? m->as_array() : json::array{};
    };
    for (const auto& e : list("users")) {
        if (!e.is_object()) continue;
        UserInfo u{str(e.as_object(), "name"), Role::viewer, flag(e.as_object(), "pin"), flag(e.as_object(), "must_change"),
                   str(e.as_object(), "hash")};
        auto role = parseRole(str(e.as_object(), "role"));
        if (u.name.empty() || !role) return makeError(Errc::corrupt, "access", "a user in the access record has no name or role");
        u.role = *role;
        users_.push_back(std::move(u));
    }
    const std::int64_t now = unixNow();
    for (const auto& e : list("sessions")) {
        if (!e.is_object()) continue;
        const auto& x = e.as_object();
        const json::value* exp = x.if_contains("expires");
        Session s{str(x, "user"), str(x, "csrf"), str(x, "created"), exp && exp->is_int64() ? exp->as_int64() : 0,
                  flag(x, "must_change")};
        if (s.expires > now && user(s.user)) sessions_.emplace(str(x, "key"), std::move(s));
    }
    for (const auto& e : list("tokens")) {
        if (!e.is_object()) continue;
        const auto& x = e.as_object();
        Token t{str(x, "id"), str(x, "name"), str(x, "user"), str(x, "created"), parseRole(str(x, "role")).value_or(Role::viewer)};
        if (user(t.user)) tokens_.emplace(str(x, "key"), std::move(t));
    }
    return {};
}

Status AccessControl::save(const std::string& what, const store::Origin& origin) {
    json::array users, sessions, tokens;
    for (const auto& u : users_)
        users.push_back(json::object{{"name", u.name}, {"role", roleName(u.role)}, {"pin", u.pin}, {"must_change", u.mustChange},
                                     {"hash", u.hash}});
    for (const auto& [key, s] : sessions_)
        sessions.push_back(json::object{{"key", key}, {"user", s.user}, {"csrf", s.csrf}, {"created", s.created},
                                        {"expires", s.expires}, {"must_change", s.mustChange}});
    for (const auto& [key, t] : tokens_)
        tokens.push_back(json::object{{"key", key}, {"id", t.id}, {"name", t.name}, {"user", t.user}, {"role", roleName(t.role)},
                                      {"created", t.created}});
    const json::object rec{{"users", std::move(users)}, {"sessions", std::move(sessions)}, {"tokens", std::move(tokens)}};
    return store_.putBoxRecord("access", json::serialize(rec), "login", what, origin);
}

const UserInfo* AccessControl::user(const std::string& name) const {
    for (const auto& u : users_)
        if (u.name == name) return &u;
    return nullptr;
}

std::size_t AccessControl::adminCount() const {
    return static_cast<std::size_t>(std::count_if(users_.begin(), users_.end(), [](const UserInfo& u) { return u.role == Role::admin; }));
}

Identity AccessControl::byKey(const std::string& key, Identity::Via via) const {
    Identity id;
    if (via == Identity::Via::cookie) {
        auto it = sessions_.find(key);
        if (it == sessions_.end() || it->second.expires <= unixNow()) return id;
        const UserInfo* u = user(it->second.user);
        if (!u) return id;
        id.via = via;
        id.user = u->name;
        id.role = u->role;
        id.csrf = it->second.csrf;
        id.mustChange = it->second.mustChange;
    } else if (via == Identity::Via::token) {
        auto it = tokens_.find(key);
        if (it == tokens_.end()) return id;
        const UserInfo* u = user(it->second.user);
        if (!u) return id;
        id.via = via;
        id.user = u->name;
        id.role = std::min(it->second.role, u->role);
    } else {
        return id;
    }
    id.key = key;
    return id;
}

Identity AccessControl::identify(std::string_view cookieHeader, std::string_view authorization) const {
    constexpr std::string_view bearer = "bearer ";  // the scheme is case-insensitive (RFC 9110)
    auto isBearer = [&] {
        if (authorization.size() <= bearer.size()) return false;
        for (std::size_t i = 0; i < bearer.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(authorization[i])) != bearer[i]) return false;
        return true;
    };
    if (isBearer()) {
        // A token that is not ours is no identity at all (never a fallback
        // to the cookie: the script asked to be this token).
        return byKey(sha256Hex(authorization.substr(bearer.size())), Identity::Via::token);
    }
    const std::string_view sid = cookieValue(cookieHeader, kCookie);
    if (sid.size() != 64) return {};
    return byKey(sha256Hex(sid), Identity::Via::cookie);
}

Status AccessControl::check(const Identity& id, std::string_view method, std::string_view path, std::string_view body,
                            std::string_view csrfHeader) const {
    if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    // The route is looked up on the path as the dispatch reads it (empty
    // segments dropped: /api//users/ is /api/users), never on a spelling
    // that matches no route and so no role.
    std::string normal;
    for (std::size_t i = 0; i < path.size();) {
        const std::size_t j = std::min(path.find('/', i), path.size());
        if (j > i) normal.append("/").append(path.substr(i, j - i));
        i = j + 1;
    }
    path = normal;
    const Route* r = matchRoute(method, path);
    if (r && r->role == Role::public_) return {};
    if (!id.authenticated()) {
        if (setupRequired())
            return makeError(Errc::setup_required, "session",
                             "the box has no users yet: set the administrator's password first (POST /api/setup)");
        return makeError(Errc::unauthenticated, "session", "log in first (POST /api/login), or send a bearer token");
    }
    const bool changes = method != "GET" && method != "HEAD";
    if (changes && id.via == Identity::Via::cookie && !sameSecret(csrfHeader, id.csrf))
        return makeError(Errc::csrf, "X-CSRF-Token",
                         "a change made with the session cookie needs the session's CSRF token in X-CSRF-Token (GET /api/session)");
    if (id.mustChange && !(r && (r->path == "/api/session/password" || r->path == "/api/logout")))
        return makeError(Errc::password_change_required, "password",
                         "this was a one-time password: set a new one first (POST /api/session/password)");
    // No route: the dispatch answers 404 or 405. A change to a path no
    // route has is still the admin's (whatever the dispatch might do).
    if (!r) {
        if (changes && id.role < Role::admin)
            return makeError(Errc::forbidden, "role", std::string(method) + " " + std::string(path) + " is no operation for " + id.user);
        return {};
    }
    Role need = r->role;
    if (method == "PATCH" && path == "/api/settings/platform") need = Role::admin;
    if (need == Role::designer && id.role == Role::operator_ && !r->operatorMembers.empty() && onlyMembers(body, r->operatorMembers))
        need = Role::operator_;
    if (id.role < need)
        return makeError(Errc::forbidden, "role",
                         id.user + " is " + roleName(id.role) + "; " + std::string(method) + " " + std::string(r->path) +
                             " needs " + roleName(need));
    return {};
}

int AccessControl::holdSeconds(const std::string& address, AuthClock::time_point now) const {
    auto it = failures_.find(address);
    if (it == failures_.end() || it->second.until <= now) return 0;
    return static_cast<int>(std::chrono::ceil<std::chrono::seconds>(it->second.until - now).count());
}

int AccessControl::beginAttempt(const std::string& address, AuthClock::time_point now) {
    if (int wait = holdSeconds(address, now); wait > 0) return wait;
    // Bounded: a flood from many addresses forgets the ones not on hold.
    if (failures_.size() >= 4096)
        std::erase_if(failures_, [now](const auto& kv) { return kv.second.until <= now && kv.second.pending == 0; });
    Failures& f = failures_[address];
    if (now - f.last > std::chrono::minutes(15)) f.count = 0;
    // Attempts still being checked count as failures until they are not: a
    // burst of parallel guesses gets no more tries than a sequence.
    if (f.count + f.pending >= kMaxFailures) return static_cast<int>(kHold.count());
    ++f.pending;
    return 0;
}

void AccessControl::endAttempt(const std::string& address, bool ok, AuthClock::time_point now) {
    auto it = failures_.find(address);
    if (it == failures_.end()) return;
    Failures& f = it->second;
    if (f.pending > 0) --f.pending;
    if (ok) {
        f.count = 0;
    } else {
        f.last = now;
        if (++f.count >= kMaxFailures) {
            f.count = 0;
            f.until = now + kHold;
        }
    }
    if (f.count == 0 && f.pending == 0 && f.until <= now) failures_.erase(it);
}

Status AccessControl::commit(const std::function<Status()>& change, const std::string& what, const store::Origin& origin) {
    auto users = users_;
    auto sessions = sessions_;
    auto tokens = tokens_;
    Status s = change();
    if (s) s = save(what, origin);
    if (!s) {
        users_ = std::move(users);
        sessions_ = std::move(sessions);
        tokens_ = std::move(tokens);
    }
    return s;
}

Result<NewSession> AccessControl::openSession(const std::string& name, const std::string& hash, const store::Origin& origin) {
    NewSession ns;
    Status s = commit(
        [&]() -> Status {
            auto it = std::find_if(users_.begin(), users_.end(), [&](const UserInfo& u) { return u.name == name; });
            if (it == users_.end() || it->hash.empty() || it->hash != hash)
                return makeError(Errc::bad_credentials, "password", "the user or the password changed meanwhile; try again");
            const std::int64_t now = unixNow();
            std::erase_if(sessions_, [now](const auto& kv) { return kv.second.expires <= now; });
            // A user's oldest sessions give way (a tablet that never logs out).
            while (std::count_if(sessions_.begin(), sessions_.end(), [&](const auto& kv) { return kv.second.user == name; }) >=
                   static_cast<std::ptrdiff_t>(kMaxSessionsPerUser)) {
                auto oldest = sessions_.end();
                for (auto j = sessions_.begin(); j != sessions_.end(); ++j)
                    if (j->second.user == name && (oldest == sessions_.end() || j->second.expires < oldest->second.expires))
                        oldest = j;
                sessions_.erase(oldest);
            }
            ns.id = randomHex(32);
            const std::string key = sha256Hex(ns.id);
            Session sess{name, randomHex(16), isoNow(), now + std::chrono::duration_cast<std::chrono::seconds>(kSessionLife).count(),
                         it->mustChange};
            if (it->mustChange) it->hash.clear();  // a one-time password is used up
            sessions_.emplace(key, std::move(sess));
            ns.identity = byKey(key, Identity::Via::cookie);
            return {};
        },
        "login: " + name, origin);
    if (!s) return s.error();
    return ns;
}

Status AccessControl::closeSession(const std::string& key, const store::Origin& origin) {
    auto it = sessions_.find(key);
    if (it == sessions_.end()) return {};
    const std::string name = it->second.user;
    return commit(
        [&]() -> Status {
            sessions_.erase(key);
            return {};
        },
        "logout: " + name, origin);
}

Status AccessControl::checkName(const std::string& name, const char* field) {
    if (name.empty() || name.size() > 32 ||
        name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos)
        return makeError(Errc::bad_request, field, "a user name is 1 to 32 letters, digits, '.', '_' or '-'");
    return {};
}

Status AccessControl::checkSecret(const std::string& secret, bool pin, const char* field) {
    if (pin) {
        if (secret.size() < 4 || secret.size() > 12 || secret.find_first_not_of("0123456789") != std::string::npos)
            return makeError(Errc::bad_request, field, "a PIN is 4 to 12 digits");
        return {};
    }
    if (secret.size() < 8 || secret.size() > 128)
        return makeError(Errc::bad_request, field, "a password is 8 to 128 characters");
    return {};
}

Status AccessControl::addUser(UserInfo u, const store::Origin& origin) {
    if (user(u.name)) return makeError(Errc::conflict, "name", "there is already a user '" + u.name + "'");
    if (users_.size() >= kMaxUsers) return makeError(Errc::conflict, "name", "the box holds at most 64 users");
    const std::string what = "user " + u.name + " added (" + roleName(u.role) + ")";
    return commit(
        [&]() -> Status {
            users_.push_back(std::move(u));
            return {};
        },
        what, origin);
}

Status AccessControl::updateUser(const std::string& name, std::optional<Role> role, std::optional<std::pair<std::string, bool>> secret,
                                 bool oneTime, const std::string& keepKey, const store::Origin& origin) {
    auto it = std::find_if(users_.begin(), users_.end(), [&](const UserInfo& u) { return u.name == name; });
    if (it == users_.end()) return makeError(Errc::not_found, "name", "there is no user '" + name + "'");
    if (role && *role != Role::admin && it->role == Role::admin && adminCount() == 1)
        return makeError(Errc::conflict, "role", "'" + name + "' is the last administrator: make another one first");
    std::string what = "user " + name + ":";
    if (role) what += std::string(" role ") + roleName(*role);
    if (secret) what += secret->second ? " PIN changed" : " password changed";
    return commit(
        [&]() -> Status {
            if (role) it->role = *role;
            if (secret) {
                it->hash = secret->first;
                it->pin = secret->second;
                it->mustChange = oneTime;
                dropSessionsOf(name, keepKey);
                if (!keepKey.empty())
                    if (auto s = sessions_.find(keepKey); s != sessions_.end()) s->second.mustChange = false;
            }
            return {};
        },
        what, origin);
}

void AccessControl::dropSessionsOf(const std::string& name, const std::string& keepKey) {
    std::erase_if(sessions_, [&](const auto& kv) { return kv.second.user == name && kv.first != keepKey; });
}

Status AccessControl::removeUser(const std::string& name, const store::Origin& origin) {
    const UserInfo* u = user(name);
    if (!u) return makeError(Errc::not_found, "name", "there is no user '" + name + "'");
    if (u->role == Role::admin && adminCount() == 1)
        return makeError(Errc::conflict, "name", "'" + name + "' is the last administrator: make another one first");
    return commit(
        [&]() -> Status {
            std::erase_if(users_, [&](const UserInfo& x) { return x.name == name; });
            dropSessionsOf(name, "");
            std::erase_if(tokens_, [&](const auto& kv) { return kv.second.user == name; });
            return {};
        },
        "user " + name + " deleted", origin);
}

Status AccessControl::setupAdmin(const std::string& name, const std::string& hash, bool oneTime, const store::Origin& origin) {
    if (!users_.empty()) return makeError(Errc::conflict, "user", "the box is set up already: log in instead");
    return commit(
        [&]() -> Status {
            users_.push_back(UserInfo{name, Role::admin, false, oneTime, hash});
            return {};
        },
        oneTime ? "administrator " + name + " made with a one-time password" : "administrator " + name + " set up", origin);
}

const UserInfo* AccessControl::oneTimeAdmin() const {
    for (const auto& u : users_)
        if (u.role == Role::admin && u.mustChange) return &u;
    return nullptr;
}

Result<std::pair<json::object, std::string>> AccessControl::addToken(const std::string& name, Role role, const std::string& owner,
                                                                    const store::Origin& origin) {
    if (name.empty() || name.size() > 64) return makeError(Errc::bad_request, "name", "a token's name is 1 to 64 characters");
    if (tokens_.size() >= kMaxTokens) return makeError(Errc::conflict, "name", "the box holds at most 64 tokens: revoke one first");
    const UserInfo* u = user(owner);
    if (!u) return makeError(Errc::unauthenticated, "session", "log in first");
    if (role > u->role) return makeError(Errc::forbidden, "role", "a token cannot have more rights than its maker");
    const std::string secret = "cbx_" + randomHex(32);
    std::string id;
    do id = randomHex(4);
    while (std::any_of(tokens_.begin(), tokens_.end(), [&](const auto& kv) { return kv.second.id == id; }));
    Token t{id, name, owner, isoNow(), role};
    json::object view{{"id", t.id}, {"name", t.name}, {"role", roleName(t.role)}, {"user", t.user}, {"created", t.created}};
    Status s = commit(
        [&]() -> Status {
            tokens_.emplace(sha256Hex(secret), std::move(t));
            return {};
        },
        "token " + name + " made (" + roleName(role) + ")", origin);
    if (!s) return s.error();
    return std::make_pair(std::move(view), secret);
}

Status AccessControl::removeToken(const std::string& id, const store::Origin& origin) {
    auto it = std::find_if(tokens_.begin(), tokens_.end(), [&](const auto& kv) { return kv.second.id == id; });
    if (it == tokens_.end()) return makeError(Errc::not_found, "id", "there is no token '" + id + "'");
    const std::string key = it->first, name = it->second.name;
    return commit(
        [&]() -> Status {
            tokens_.erase(key);
            return {};
        },
        "token " + name + " revoked", origin);
}

json::object AccessControl::usersJson() const {
    json::array a;
    auto sorted = users_;
    std::sort(sorted.begin(), sorted.end(), [](const UserInfo& x, const UserInfo& y) { return x.name < y.name; });
    for (const auto& u : sorted)
        a.push_back(json::object{{"name", u.name}, {"role", roleName(u.role)}, {"kind", u.pin ? "pin" : "password"},
                                 {"must_change", u.mustChange}});
    return json::object{{"users", std::move(a)}};
}

json::object AccessControl::tokensJson() const {
    json::array a;
    for (const auto& [key, t] : tokens_)
        a.push_back(json::object{{"id", t.id}, {"name", t.name}, {"role", roleName(t.role)}, {"user", t.user}, {"created", t.created}});
    std::sort(a.begin(), a.end(), [](const json::value& x, const json::value& y) {
        return x.as_object().at("created").as_string() < y.as_object().at("created").as_string();
    });
    return json::object{{"tokens", std::move(a)}};
}

json::object AccessControl::sessionJson(const Identity& id) const {
    json::object o{{"authenticated", id.authenticated()}, {"setup_required", setupRequired()}, {"must_change", id.mustChange}};
    o["user"] = id.authenticated() ? json::value(id.user) : json::value(nullptr);
    o["role"] = id.authenticated() ? json::value(roleName(id.role)) : json::value(nullptr);
    o["via"] = id.via == Identity::Via::cookie  ? json::value("cookie")
               : id.via == Identity::Via::token ? json::value("token")
                                                : json::value(nullptr);
    o["csrf"] = id.via == Identity::Via::cookie ? json::value(id.csrf) : json::value(nullptr);
    return o;
}

}  // namespace cuebox::web
