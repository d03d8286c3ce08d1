// The session, first setup, login and logout, users and tokens: the HTTP
// side of web/Access.h. Passwords are hashed and checked on the hasher
// thread; everything else on the io thread.
#include "web/Api.h"

#include <boost/json.hpp>
#include <sodium.h>

namespace cuebox::web {
namespace json = boost::json;

namespace {
std::string sessionCookie(const std::string& id) {
    return std::string(AccessControl::kCookie) + "=" + id + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(AccessControl::kSessionLife).count());
}

std::string clearedCookie() { return std::string(AccessControl::kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"; }

// A string member of `b`: absent gives nullopt, another type an error.
Result<std::optional<std::string>> optString(const json::object& b, const char* key) {
    const json::value* v = b.if_contains(key);
    if (!v) return std::optional<std::string>{};
    if (!v->is_string()) return makeError(Errc::bad_request, key, std::string(key) + " must be a string");
    return std::optional<std::string>(std::string(v->as_string()));
}

Result<std::string> needString(const json::object& b, const char* key) {
    auto s = optString(b, key);
    if (!s) return s.error();
    if (!*s) return makeError(Errc::bad_request, key, std::string(key) + " is required");
    return **s;
}

// A user's secret from a body: "password" or "pin" (one of them), checked.
Result<std::optional<std::pair<std::string, bool>>> secretOf(const json::object& b, bool required) {
    auto pw = optString(b, "password");
    if (!pw) return pw.error();
    auto pin = optString(b, "pin");
    if (!pin) return pin.error();
    if (*pw && *pin) return makeError(Errc::bad_request, "pin", "give a password or a PIN, not both");
    if (!*pw && !*pin) {
        if (required) return makeError(Errc::bad_request, "password", "a password (8-128 characters) or a PIN (4-12 digits) is required");
        return std::optional<std::pair<std::string, bool>>{};
    }
    const bool isPin = pin->has_value();
    const std::string& secret = isPin ? **pin : **pw;
    if (auto s = AccessControl::checkSecret(secret, isPin, isPin ? "pin" : "password"); !s) return s.error();
    return std::optional<std::pair<std::string, bool>>(std::make_pair(secret, isPin));
}

// A hash that matches nothing: an unknown user's login costs as much as a
// known one's (no telling users apart by the answer's time). Hasher thread.
// (A plain array: made once, never freed, never counted as a leak.)
std::string decoyHash() {
    static char h[crypto_pwhash_STRBYTES];
    static const bool made = [] {
        const std::string secret = AccessControl::randomHex(16);
        return crypto_pwhash_str(h, secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
    }();
    return made ? h : "";
}
}  // namespace

namespace {
HttpResponse held(int wait) {
    HttpResponse r = errorResponse(makeError(Errc::too_many_attempts, "password",
                                             "too many wrong passwords from this address: try again in " + std::to_string(wait) + " s"));
    r.headers.emplace_back("Retry-After", std::to_string(wait));
    return r;
}
}  // namespace

// When the hasher refuses the job (503), the attempt begun for it ends.
Respond Api::respondAndEnd(Respond respond, const std::string& address) {
    return [this, respond, address](HttpResponse r) {
        access_.endAttempt(address, true, AuthClock::now());
        respond(std::move(r));
    };
}

void Api::hashThen(std::function<std::string()> work, std::function<void(std::string)> done, const Respond& busy) {
    if (!hasher_.run(std::move(work), std::move(done)))
        busy(errorResponse(makeError(Errc::unavailable, "password", "too many logins at once; try again in a moment")));
}

Result<std::string> Api::oneTimeAdmin() {
    const UserInfo* waiting = access_.oneTimeAdmin();
    if (!access_.setupRequired() && !(waiting && waiting->name == "admin")) return std::string();
    const std::string password = AccessControl::randomHex(6);
    auto hash = hashSecret(password);
    if (!hash) return hash.error();
    const store::Origin origin{"cuebox-web --demo", ""};
    Status s = access_.setupRequired() ? access_.setupAdmin("admin", *hash, true, origin)
                                       : access_.updateUser("admin", std::nullopt, std::make_pair(*hash, false), true, "", origin);
    if (!s) return s.error();
    return password;
}

bool Api::handleAccess(const HttpRequest& req, const std::vector<std::string_view>& seg, Respond& respond) {
    if (seg.size() < 2) return false;
    const std::string_view what = seg[1];
    if (what != "session" && what != "setup" && what != "login" && what != "logout" && what != "users" && what != "tokens")
        return false;
    auto methodNotAllowed = [&](const char* allowed) {
        respond(errorResponse(makeError(Errc::method_not_allowed, "method", req.method + " is not allowed here (use " + allowed + ")")));
    };
    const store::Origin origin{req.client.empty() ? req.identity.user : req.client + " " + req.identity.user, ""};
    const Identity& me = req.identity;

    // GET /api/session
    if (what == "session" && seg.size() == 2) {
        if (req.method != "GET") return methodNotAllowed("GET"), true;
        respond(jsonResponse(200, access_.sessionJson(me)));
        return true;
    }
    // After a login or setup: the session, its cookie.
    auto opened = [this](Respond respond, const std::string& name, const std::string& hash, const store::Origin& origin,
                         int status) {
        auto ns = access_.openSession(name, hash, origin);
        if (!ns) return respond(errorResponse(ns.error()));
        HttpResponse r = jsonResponse(status, access_.sessionJson(ns->identity));
        r.headers.emplace_back("Set-Cookie", sessionCookie(ns->id));
        respond(std::move(r));
    };

    // POST /api/setup {"user","password"}
    if (what == "setup" && seg.size() == 2) {
        if (req.method != "POST") return methodNotAllowed("POST"), true;
        if (!access_.setupRequired())
            return respond(errorResponse(makeError(Errc::conflict, "user", "the box is set up already: log in instead"))), true;
        auto body = parseBody(req, true);
        if (!body) return respond(errorResponse(body.error())), true;
        auto name = optString(*body, "user");
        if (!name) return respond(errorResponse(name.error())), true;
        const std::string user = name->value_or("admin");
        auto pw = needString(*body, "password");
        if (!pw) return respond(errorResponse(pw.error())), true;
        if (auto s = AccessControl::checkName(user, "user"); !s) return respond(errorResponse(s.error())), true;
        if (auto s = AccessControl::checkSecret(*pw, false, "password"); !s) return respond(errorResponse(s.error())), true;
        hashThen([pw = *pw] { auto h = hashSecret(pw); return h ? *h : std::string(); },
                 [this, respond, user, origin, opened](std::string hash) {
                     if (hash.empty()) return respond(errorResponse(makeError(Errc::unavailable, "password", "could not hash the password; try again")));
                     if (auto s = access_.setupAdmin(user, hash, false, origin); !s) return respond(errorResponse(s.error()));
                     opened(respond, user, hash, origin, 201);
                 },
                 respond);
        return true;
    }

    // POST /api/login {"user","password"}
    if (what == "login" && seg.size() == 2) {
        if (req.method != "POST") return methodNotAllowed("POST"), true;
        auto body = parseBody(req, true);
        if (!body) return respond(errorResponse(body.error())), true;
        auto user = needString(*body, "user");
        if (!user) return respond(errorResponse(user.error())), true;
        auto pw = needString(*body, "password");
        if (!pw) return respond(errorResponse(pw.error())), true;
        if (access_.setupRequired())
            return respond(errorResponse(makeError(Errc::setup_required, "user", "the box has no users yet: set it up first"))), true;
        if (int wait = access_.beginAttempt(req.address, AuthClock::now()); wait > 0) return respond(held(wait)), true;
        const UserInfo* u = access_.user(*user);
        const std::string hash = u ? u->hash : std::string();
        hashThen([hash, pw = *pw] { return verifySecret(hash.empty() ? decoyHash() : hash, pw) && !hash.empty() ? "ok" : ""; },
                 [this, respond, user = *user, hash, origin, opened, address = req.address](std::string ok) {
                     access_.endAttempt(address, !ok.empty(), AuthClock::now());
                     if (ok.empty()) {
                         (void)show_.store().appendLog(
                             {store::LogEntry{0, 0, "login", "web", origin.client, "failed login as '" + user + "'", ""}});
                         return respond(errorResponse(makeError(Errc::bad_credentials, "password", "wrong user name or password")));
                     }
                     opened(respond, user, hash, origin, 200);
                 },
                 respondAndEnd(respond, req.address));
        return true;
    }

    // POST /api/logout
    if (what == "logout" && seg.size() == 2) {
        if (req.method != "POST") return methodNotAllowed("POST"), true;
        if (me.via == Identity::Via::cookie)
            if (auto s = access_.closeSession(me.key, origin); !s) return respond(errorResponse(s.error())), true;
        if (accessChanged_) accessChanged_();
        HttpResponse r = jsonResponse(200, {{"ok", true}});
        r.headers.emplace_back("Set-Cookie", clearedCookie());
        respond(std::move(r));
        return true;
    }

    // POST /api/session/password {"current","password"}: the new secret is
    // of the user's kind (a PIN user gives a new PIN in "password").
    if (what == "session" && seg.size() == 3 && seg[2] == "password") {
        if (req.method != "POST") return methodNotAllowed("POST"), true;
        // A person's own password, from their own session: a token (a
        // script's, perhaps a viewer's) never changes its maker's.
        if (me.via != Identity::Via::cookie)
            return respond(errorResponse(makeError(Errc::forbidden, "session", "log in to change your password (a token cannot)"))), true;
        const UserInfo* u = access_.user(me.user);
        if (!u) return respond(errorResponse(makeError(Errc::unauthenticated, "session", "log in first"))), true;
        auto body = parseBody(req, true);
        if (!body) return respond(errorResponse(body.error())), true;
        auto pw = needString(*body, "password");
        if (!pw) return respond(errorResponse(pw.error())), true;
        if (auto s = AccessControl::checkSecret(*pw, u->pin, "password"); !s) return respond(errorResponse(s.error())), true;
        std::string current;
        if (!me.mustChange) {
            auto c = needString(*body, "current");
            if (!c) return respond(errorResponse(c.error())), true;
            current = *c;
        }
        // Checking the current password is a guess like a login's: throttled alike.
        if (int wait = access_.beginAttempt(req.address, AuthClock::now()); wait > 0) return respond(held(wait)), true;
        hashThen(
            [check = !me.mustChange, stored = u->hash, current, pw = *pw] {
                if (check && !verifySecret(stored, current)) return std::string();
                auto h = hashSecret(pw);
                return h ? *h : std::string("!");
            },
            [this, respond, name = me.user, key = me.key, via = me.via, pin = u->pin, origin, address = req.address](std::string hash) {
                access_.endAttempt(address, !hash.empty(), AuthClock::now());
                if (hash.empty())
                    return respond(errorResponse(makeError(Errc::bad_credentials, "current", "the current password is wrong")));
                if (hash == "!")
                    return respond(errorResponse(makeError(Errc::unavailable, "password", "could not hash the password; try again")));
                if (auto s = access_.updateUser(name, std::nullopt, std::make_pair(hash, pin), false, key, origin); !s)
                    return respond(errorResponse(s.error()));
                if (accessChanged_) accessChanged_();
                respond(jsonResponse(200, access_.sessionJson(access_.byKey(key, via))));
            },
            respondAndEnd(respond, req.address));
        return true;
    }

    // /api/users[/{name}]
    if (what == "users") {
        if (seg.size() == 2 && req.method == "GET") return respond(jsonResponse(200, access_.usersJson())), true;
        auto userJson = [this](const std::string& name) {
            const json::object all = access_.usersJson();
            for (const auto& v : all.at("users").as_array())
                if (v.as_object().at("name").as_string() == name) return json::object{{"user", v}};
            return json::object{};
        };
        if (seg.size() == 2 && req.method == "POST") {
            auto body = parseBody(req, true);
            if (!body) return respond(errorResponse(body.error())), true;
            auto name = needString(*body, "name");
            if (!name) return respond(errorResponse(name.error())), true;
            if (auto s = AccessControl::checkName(*name, "name"); !s) return respond(errorResponse(s.error())), true;
            if (access_.user(*name))
                return respond(errorResponse(makeError(Errc::conflict, "name", "there is already a user '" + *name + "'"))), true;
            auto roleText = needString(*body, "role");
            if (!roleText) return respond(errorResponse(roleText.error())), true;
            auto role = AccessControl::parseRole(*roleText);
            if (!role) return respond(errorResponse(makeError(Errc::bad_request, "role", "role is viewer, operator, designer or admin"))), true;
            auto secret = secretOf(*body, true);
            if (!secret) return respond(errorResponse(secret.error())), true;
            hashThen([pw = (*secret)->first] { auto h = hashSecret(pw); return h ? *h : std::string(); },
                     [this, respond, name = *name, role = *role, pin = (*secret)->second, origin, userJson](std::string hash) {
                         if (hash.empty()) return respond(errorResponse(makeError(Errc::unavailable, "password", "could not hash the password")));
                         if (auto s = access_.addUser(UserInfo{name, role, pin, false, hash}, origin); !s)
                             return respond(errorResponse(s.error()));
                         respond(jsonResponse(201, userJson(name)));
                     },
                     respond);
            return true;
        }
        if (seg.size() == 3) {
            const std::string name(seg[2]);
            if (!access_.user(name)) return respond(errorResponse(makeError(Errc::not_found, "name", "there is no user '" + name + "'"))), true;
            if (req.method == "DELETE") {
                if (auto s = access_.removeUser(name, origin); !s) return respond(errorResponse(s.error())), true;
                if (accessChanged_) accessChanged_();
                return respond(jsonResponse(200, {{"ok", true}})), true;
            }
            if (req.method != "PATCH") return methodNotAllowed("PATCH or DELETE"), true;
            auto body = parseBody(req, true);
            if (!body) return respond(errorResponse(body.error())), true;
            for (const auto& kv : *body)
                if (kv.key() != "role" && kv.key() != "password" && kv.key() != "pin")
                    return respond(errorResponse(makeError(Errc::bad_request, std::string(kv.key()),
                                                           "unknown member (role, password or pin)"))),
                           true;
            std::optional<Role> role;
            if (auto r = optString(*body, "role"); !r) {
                return respond(errorResponse(r.error())), true;
            } else if (*r) {
                role = AccessControl::parseRole(**r);
                if (!role) return respond(errorResponse(makeError(Errc::bad_request, "role", "role is viewer, operator, designer or admin"))), true;
            }
            auto secret = secretOf(*body, false);
            if (!secret) return respond(errorResponse(secret.error())), true;
            if (!role && !*secret) return respond(errorResponse(makeError(Errc::bad_request, "body", "nothing to change (role, password or pin)"))), true;
            auto apply = [this, respond, name, role, origin, userJson, me](std::optional<std::pair<std::string, bool>> hashed) {
                // An admin giving themselves a new password stays logged in here.
                const std::string keep = name == me.user && me.via == Identity::Via::cookie ? me.key : "";
                if (auto s = access_.updateUser(name, role, std::move(hashed), false, keep, origin); !s) return respond(errorResponse(s.error()));
                if (accessChanged_) accessChanged_();
                respond(jsonResponse(200, userJson(name)));
            };
            if (!*secret) return apply(std::nullopt), true;
            hashThen([pw = (*secret)->first] { auto h = hashSecret(pw); return h ? *h : std::string(); },
                     [respond, apply, pin = (*secret)->second](std::string hash) {
                         if (hash.empty()) return respond(errorResponse(makeError(Errc::unavailable, "password", "could not hash the password")));
                         apply(std::make_pair(hash, pin));
                     },
                     respond);
            return true;
        }
        if (seg.size() == 2) return methodNotAllowed("GET or POST"), true;
        return false;
    }

    // /api/tokens[/{id}]
    if (what == "tokens") {
        if (seg.size() == 2 && req.method == "GET") return respond(jsonResponse(200, access_.tokensJson())), true;
        if (seg.size() == 2 && req.method == "POST") {
            auto body = parseBody(req, true);
            if (!body) return respond(errorResponse(body.error())), true;
            auto name = needString(*body, "name");
            if (!name) return respond(errorResponse(name.error())), true;
            auto roleText = needString(*body, "role");
            if (!roleText) return respond(errorResponse(roleText.error())), true;
            auto role = AccessControl::parseRole(*roleText);
            if (!role) return respond(errorResponse(makeError(Errc::bad_request, "role", "role is viewer, operator, designer or admin"))), true;
            auto made = access_.addToken(*name, *role, me.user, origin);
            if (!made) return respond(errorResponse(made.error())), true;
            return respond(jsonResponse(201, {{"token", made->first}, {"secret", made->second}})), true;
        }
        if (seg.size() == 2) return methodNotAllowed("GET or POST"), true;
        if (seg.size() == 3) {
            if (req.method != "DELETE") return methodNotAllowed("DELETE"), true;
            if (auto s = access_.removeToken(std::string(seg[2]), origin); !s) return respond(errorResponse(s.error())), true;
            if (accessChanged_) accessChanged_();
            return respond(jsonResponse(200, {{"ok", true}})), true;
        }
        return false;
    }
    return false;
}

}  // namespace cuebox::web
