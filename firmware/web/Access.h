// Who may use the HTTP API and the WebSocket: users with a role (viewer,
// operator, designer, admin), each with a password or a PIN hashed with
// libsodium's argon2id; browser sessions (an HttpOnly SameSite=Strict
// cookie, with a CSRF token for state-changing requests) and bearer tokens
// for scripts. Session ids and token secrets are 32 random bytes; only their
// SHA-256 is stored. Everything lives in the store's box record `access`
// (written in one synced transaction before a change is acknowledged, kept
// across backup restores), so a restart of cuebox-web logs nobody out.
//
// Hashing and checking a password takes ~0.1 s and 64 MiB: never on the io
// thread. `Hasher` runs them on a thread of its own, one at a time (so a
// burst of logins cannot take the box's memory), and a bounded queue.
// AccessControl itself is io-thread only.
#pragma once

#include "base/Error.h"
#include "store/Store.h"
#include "web/Http.h"
#include "web/Routes.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace cuebox::web {

using AuthClock = std::chrono::steady_clock;

// argon2id (crypto_pwhash_str, the interactive limits): the stored string
// carries its own salt and parameters. Any thread.
Result<std::string> hashSecret(const std::string& secret);
bool verifySecret(const std::string& stored, const std::string& secret);

// Runs hashing jobs on one thread; `done` goes through `post` (to the io
// thread). A job queued behind more than `kQueue` others is refused at once.
class Hasher {
public:
    static constexpr std::size_t kQueue = 16;
    using Post = std::function<void(std::function<void()>)>;
    Hasher() = default;
    ~Hasher();
    void setPost(Post post) { post_ = std::move(post); }  // before the first run()
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;
    // `work` runs on the hasher thread (without a poster: at once, here),
    // then `done` with its result on the io thread. False when the queue is
    // full (nothing runs).
    bool run(std::function<std::string()> work, std::function<void(std::string)> done);

private:
    void loop();
    Post post_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::pair<std::function<std::string()>, std::function<void(std::string)>>> jobs_;
    bool stop_ = false;
    std::thread thread_;
};

struct UserInfo {
    std::string name;
    Role role = Role::viewer;
    bool pin = false;         // a PIN (4-12 digits) rather than a password
    bool mustChange = false;  // has only a one-time password
    std::string hash;         // argon2id string; "" once a one-time password is used
};

// What a new session gives the browser.
struct NewSession {
    std::string id;  // the cookie's value (never stored)
    Identity identity;
};

class AccessControl {
public:
    // Login failures from one address (within 15 minutes of each other) ...
    static constexpr int kMaxFailures = 5;
    // ... then its logins are refused this long, without checking the
    // password. Per address, not per user: a stranger failing on purpose
    // must not lock the operator out of their own box mid-show.
    static constexpr std::chrono::seconds kHold{30};
    static constexpr std::chrono::hours kSessionLife{24 * 14};
    static constexpr std::size_t kMaxUsers = 64, kMaxTokens = 64, kMaxSessionsPerUser = 32;
    static constexpr const char* kCookie = "cuebox_session";

    explicit AccessControl(store::Store& store);
    Status load();  // reads the record (no users when there is none)

    bool setupRequired() const { return users_.empty(); }

    // From the request's Cookie and Authorization headers: a bearer token
    // wins over a cookie. Unknown or expired credentials give Via::none.
    Identity identify(std::string_view cookieHeader, std::string_view authorization) const;
    // The identity behind a key from identify() now (a WebSocket checks each
    // command: a logout, a deleted user or a changed role applies at once).
    Identity byKey(const std::string& key, Identity::Via via) const;

    // Whether `id` may make this request: the route's least role (a PATCH
    // whose body holds only a route's operator members needs operator;
    // PATCH /api/settings/platform needs admin), a CSRF token for a
    // cookie's state-changing request, no other call while a one-time
    // password must be changed. `body` is the JSON body ("" when none).
    // Paths that match no route pass (the dispatch answers 404/405) once
    // the caller is authenticated. Errors: unauthenticated/setup_required
    // (401), csrf/password_change_required/forbidden (403).
    Status check(const Identity& id, std::string_view method, std::string_view path, std::string_view body,
                 std::string_view csrfHeader) const;

    // --- Password checks (logins, password changes), throttled per address ---
    // Seconds the address is held, 0 when it may try now.
    int holdSeconds(const std::string& address, AuthClock::time_point now) const;
    // Starts an attempt: 0, or the seconds to wait (nothing is checked).
    // Attempts in flight count as failures, so parallel guesses get no more
    // tries than sequential ones. endAttempt() with the outcome, always.
    int beginAttempt(const std::string& address, AuthClock::time_point now);
    void endAttempt(const std::string& address, bool ok, AuthClock::time_point now);
    const UserInfo* user(const std::string& name) const;

    // A session for `user` after its secret was checked against `hash`
    // (which must still be the user's: a password changed meanwhile loses).
    // A one-time password is used up here.
    Result<NewSession> openSession(const std::string& user, const std::string& hash, const store::Origin& origin);
    Status closeSession(const std::string& key, const store::Origin& origin);

    // --- Users (admin) ---
    // Name 1-32 of [A-Za-z0-9._-]; secrets checked by checkSecret first.
    static Status checkName(const std::string& name, const char* field);
    static Status checkSecret(const std::string& secret, bool pin, const char* field);
    Status addUser(UserInfo u, const store::Origin& origin);
    // Changes role and/or secret ({argon2id hash, is a PIN}). A new secret
    // ends the user's other sessions (all but `keepKey`, which may then do
    // everything again) and is a one-time one when `oneTime`. The last
    // admin keeps the admin role.
    Status updateUser(const std::string& name, std::optional<Role> role, std::optional<std::pair<std::string, bool>> secret,
                      bool oneTime, const std::string& keepKey, const store::Origin& origin);
    Status removeUser(const std::string& name, const store::Origin& origin);
    // The first admin (POST /api/setup; only while there are no users).
    // `oneTime`: the demo's printed password, to be changed at first login.
    Status setupAdmin(const std::string& name, const std::string& hash, bool oneTime, const store::Origin& origin);
    // The one-time admin that still waits for its first login (its password
    // may be printed anew after a restart), or nullptr.
    const UserInfo* oneTimeAdmin() const;

    // --- Tokens (admin): {"id","name","role","user","created"} ---
    Result<std::pair<boost::json::object, std::string>> addToken(const std::string& name, Role role, const std::string& user,
                                                                 const store::Origin& origin);
    Status removeToken(const std::string& id, const store::Origin& origin);

    boost::json::object usersJson() const;
    boost::json::object tokensJson() const;
    // GET /api/session's body.
    boost::json::object sessionJson(const Identity& id) const;
    std::size_t sessionCount() const { return sessions_.size(); }

    static std::optional<Role> parseRole(std::string_view s);
    static std::string randomHex(std::size_t bytes);

private:
    struct Session {
        std::string user, csrf, created;
        std::int64_t expires = 0;  // unix seconds
        bool mustChange = false;
    };
    struct Token {
        std::string id, name, user, created;
        Role role = Role::viewer;
    };
    struct Failures {
        int count = 0, pending = 0;
        AuthClock::time_point last{}, until{};
    };

    // Runs `change` on the records and stores them; on any error the
    // records are as before (nothing half-changed in memory).
    Status commit(const std::function<Status()>& change, const std::string& what, const store::Origin& origin);
    Status save(const std::string& what, const store::Origin& origin);
    void dropSessionsOf(const std::string& user, const std::string& keepKey);
    std::size_t adminCount() const;

    store::Store& store_;
    std::vector<UserInfo> users_;
    std::map<std::string, Session> sessions_;  // by SHA-256 of the session id
    std::map<std::string, Token> tokens_;      // by SHA-256 of the secret
    std::map<std::string, Failures> failures_;  // by address
};

}  // namespace cuebox::web
