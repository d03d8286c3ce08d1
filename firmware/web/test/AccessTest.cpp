// Users, sessions, tokens and the access check (web/Access.h) through the
// API's own endpoints, on a real store. Hashing runs inline here (no
// poster), with libsodium's real argon2id.
#include "web/Api.h"

#include "Fixtures.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

using namespace cuebox;
using namespace cuebox::web;
namespace json = boost::json;

namespace {
std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
        if (n == name) return v;
    return "";
}

// The cookie header a browser would send back after `r`.
std::string cookieOf(const HttpResponse& r) {
    const std::string c = header(r, "Set-Cookie");
    return c.substr(0, c.find(';'));
}
}  // namespace

TEST_GROUP(Access) {
    std::unique_ptr<LoadedShow> fx;
    AcceptingSink sink;
    std::unique_ptr<Api> api;

    void setup() override {
        fx = std::make_unique<LoadedShow>(true);
        api = std::make_unique<Api>(*fx->show, sink, [](json::object) {});
        CHECK(api->access().load().ok());
    }
    void teardown() override {
        api.reset();
        fx.reset();
    }
    AccessControl& access() { return api->access(); }
    HttpResponse call(const std::string& method, const std::string& target, const json::object& body = {},
                      const Identity& who = {}, const std::string& address = "10.0.0.1") {
        HttpResponse out;
        out.status = 0;
        api->handle(HttpRequest{method, target, "application/json", body.empty() ? "" : json::serialize(body), "unit test", address, who},
                    [&](HttpResponse r) { out = std::move(r); });
        CHECK(out.status != 0);
        return out;
    }
    std::string code(const HttpResponse& r) {
        return std::string(json::parse(r.body).as_object().at("error").at("code").as_string());
    }
    std::string codeOf(const Status& s) { return s ? "" : errcName(s.error().code); }
    Identity cookie(const HttpResponse& r) { return access().identify(cookieOf(r), ""); }
    Identity bearer(const std::string& secret) { return access().identify("", "Bearer " + secret); }
    // An admin set up through POST /api/setup, logged in by its cookie.
    Identity setUp() {
        auto r = call("POST", "/api/setup", {{"user", "boss"}, {"password", "correct horse"}});
        LONGS_EQUAL(201, r.status);
        return cookie(r);
    }
    Identity addAndLogin(const Identity& admin, const std::string& name, const char* role, const json::object& secret) {
        json::object body{{"name", name}, {"role", role}};
        for (const auto& kv : secret) body[kv.key()] = kv.value();
        LONGS_EQUAL(201, call("POST", "/api/users", body, admin).status);
        const auto& pw = secret.contains("pin") ? secret.at("pin") : secret.at("password");
        auto r = call("POST", "/api/login", {{"user", name}, {"password", pw}}, {}, "10.0.0.9");
        LONGS_EQUAL(200, r.status);
        return cookie(r);
    }
};

TEST(Access, aBoxWithoutUsersWantsSettingUpAndNothingElse) {
    CHECK(access().setupRequired());
    STRCMP_EQUAL("setup_required", codeOf(access().check({}, "GET", "/api/show", "", "")).c_str());
    // The session, login, setup and health are public.
    CHECK(access().check({}, "GET", "/api/session", "", "").ok());
    CHECK(access().check({}, "GET", "/api/health", "", "").ok());
    CHECK(access().check({}, "POST", "/api/setup", "", "").ok());
    // A short password is refused and nothing is set up.
    auto r = call("POST", "/api/setup", {{"password", "short"}});
    LONGS_EQUAL(400, r.status);
    CHECK(access().setupRequired());
    Identity admin = setUp();
    CHECK(admin.authenticated());
    STRCMP_EQUAL("boss", admin.user.c_str());
    CHECK(admin.role == Role::admin);
    // Only once.
    LONGS_EQUAL(409, call("POST", "/api/setup", {{"password", "another password"}}).status);
    STRCMP_EQUAL("unauthenticated", codeOf(access().check({}, "GET", "/api/show", "", "")).c_str());
}

TEST(Access, theSessionCookieIsHttpOnlySameSiteAndItsSecretIsNotStored) {
    auto r = call("POST", "/api/setup", {{"password", "correct horse"}});
    const std::string c = header(r, "Set-Cookie");
    CHECK(c.find("HttpOnly") != std::string::npos);
    CHECK(c.find("SameSite=Strict") != std::string::npos);
    const std::string id = cookieOf(r).substr(std::string("cuebox_session=").size());
    LONGS_EQUAL(64, id.size());
    auto rec = fx->store->boxRecord("access");
    CHECK(rec->find(id) == std::string::npos);
    CHECK(rec->find("correct horse") == std::string::npos);
    CHECK(rec->find("$argon2id$") != std::string::npos);
    // A restart (a new AccessControl on the same store) keeps the session.
    AccessControl again(*fx->store);
    CHECK(again.load().ok());
    CHECK(again.identify(cookieOf(r), "").authenticated());
}

TEST(Access, rolesDecideWhatARequestMayDo) {
    Identity admin = setUp();
    Identity op = addAndLogin(admin, "op", "operator", {{"pin", "4711"}});
    Identity viewer = addAndLogin(admin, "ro", "viewer", {{"password", "read only please"}});
    Identity designer = addAndLogin(admin, "des", "designer", {{"password", "designs things"}});
    auto check = [&](const Identity& who, const char* method, const char* path, const char* body = "") {
        return codeOf(access().check(who, method, path, body, who.csrf));
    };
    STRCMP_EQUAL("", check(viewer, "GET", "/api/show").c_str());
    STRCMP_EQUAL("forbidden", check(viewer, "POST", "/api/clips/1/start").c_str());
    STRCMP_EQUAL("", check(op, "POST", "/api/clips/1/start").c_str());
    STRCMP_EQUAL("forbidden", check(op, "PATCH", "/api/clips/1", R"({"label":"x"})").c_str());
    // Faders and page switching are performing, though they share an edit's route.
    STRCMP_EQUAL("", check(op, "PATCH", "/api/audio", R"({"master_db":-6})").c_str());
    STRCMP_EQUAL("forbidden", check(op, "PATCH", "/api/audio", R"({"master_db":-6,"fade_in_ms":10})").c_str());
    STRCMP_EQUAL("", check(op, "PATCH", "/api/pages/0", R"({"active_tab":2})").c_str());
    STRCMP_EQUAL("", check(designer, "PATCH", "/api/clips/1", R"({"label":"x"})").c_str());
    STRCMP_EQUAL("forbidden", check(designer, "PATCH", "/api/settings/platform", R"({"name":"x"})").c_str());
    STRCMP_EQUAL("", check(designer, "PATCH", "/api/settings/fades", R"({"x":1})").c_str());
    STRCMP_EQUAL("", check(admin, "PATCH", "/api/settings/platform", R"({"name":"x"})").c_str());
    STRCMP_EQUAL("forbidden", check(designer, "GET", "/api/users").c_str());
    STRCMP_EQUAL("forbidden", check(op, "PATCH", "/api/control/osc", R"({"enabled":false})").c_str());
    // A path no route has passes to the dispatch (404), once authenticated.
    STRCMP_EQUAL("", check(viewer, "GET", "/api/nothing/here").c_str());
    // A role change applies to a session at once.
    LONGS_EQUAL(200, call("PATCH", "/api/users/op", {{"role", "viewer"}}, admin).status);
    STRCMP_EQUAL("forbidden", codeOf(access().check(access().byKey(op.key, op.via), "POST", "/api/clips/1/start", "", op.csrf)).c_str());
}

TEST(Access, aCookieChangeNeedsItsCsrfTokenAndABearerTokenNeedsNone) {
    Identity admin = setUp();
    STRCMP_EQUAL("csrf", codeOf(access().check(admin, "POST", "/api/clips/1/start", "", "")).c_str());
    STRCMP_EQUAL("csrf", codeOf(access().check(admin, "POST", "/api/clips/1/start", "", "0123")).c_str());
    CHECK(access().check(admin, "POST", "/api/clips/1/start", "", admin.csrf).ok());
    CHECK(access().check(admin, "GET", "/api/show", "", "").ok());  // reading needs none
    auto r = call("POST", "/api/tokens", {{"name", "companion"}, {"role", "operator"}}, admin);
    LONGS_EQUAL(201, r.status);
    const std::string secret(json::parse(r.body).at("secret").as_string());
    CHECK(secret.rfind("cbx_", 0) == 0);
    Identity token = bearer(secret);
    CHECK(token.via == Identity::Via::token);
    CHECK(token.role == Role::operator_);
    CHECK(access().check(token, "POST", "/api/clips/1/start", "", "").ok());
    STRCMP_EQUAL("forbidden", codeOf(access().check(token, "PATCH", "/api/clips/1", R"({"label":"x"})", "")).c_str());
    CHECK(fx->store->boxRecord("access")->find(secret.substr(4)) == std::string::npos);
    // Revoked: gone at once; a wrong token is no identity (never the cookie's).
    const std::string id(json::parse(r.body).at("token").at("id").as_string());
    LONGS_EQUAL(200, call("DELETE", "/api/tokens/" + id, {}, admin).status);
    CHECK(!bearer(secret).authenticated());
    CHECK(!access().identify("cuebox_session=" + std::string(64, 'a'), "Bearer cbx_nope").authenticated());
}

TEST(Access, wrongPasswordsAreRefusedAndThrottledPerAddress) {
    setUp();
    for (int i = 0; i < AccessControl::kMaxFailures; ++i) {
        auto r = call("POST", "/api/login", {{"user", "boss"}, {"password", "wrong password"}});
        LONGS_EQUAL(401, r.status);
        STRCMP_EQUAL("bad_credentials", code(r).c_str());
    }
    // Held: even the right password is refused, without being checked.
    auto r = call("POST", "/api/login", {{"user", "boss"}, {"password", "correct horse"}});
    LONGS_EQUAL(429, r.status);
    STRCMP_EQUAL("too_many_attempts", code(r).c_str());
    const int wait = std::stoi(header(r, "Retry-After"));
    CHECK(wait > 0 && wait <= 30);
    // Another address is not held; an unknown user fails like a wrong password.
    LONGS_EQUAL(200, call("POST", "/api/login", {{"user", "boss"}, {"password", "correct horse"}}, {}, "10.0.0.2").status);
    LONGS_EQUAL(401, call("POST", "/api/login", {{"user", "nobody"}, {"password", "correct horse"}}, {}, "10.0.0.2").status);
    // The hold ends after 30 s.
    CHECK(access().holdSeconds("10.0.0.1", AuthClock::now() + std::chrono::seconds(31)) == 0);
}

TEST(Access, logoutEndsTheSession) {
    Identity admin = setUp();
    CHECK(access().byKey(admin.key, admin.via).authenticated());
    auto r = call("POST", "/api/logout", {}, admin);
    LONGS_EQUAL(200, r.status);
    CHECK(header(r, "Set-Cookie").find("Max-Age=0") != std::string::npos);
    CHECK(!access().byKey(admin.key, admin.via).authenticated());
}

TEST(Access, aOneTimePasswordWorksOnceAndThenOnlyForChangingIt) {
    auto otp = api->oneTimeAdmin();
    CHECK(otp.ok() && otp->size() == 12);
    auto r = call("POST", "/api/login", {{"user", "admin"}, {"password", *otp}});
    LONGS_EQUAL(200, r.status);
    CHECK(json::parse(r.body).at("must_change").as_bool());
    Identity admin = cookie(r);
    STRCMP_EQUAL("password_change_required", codeOf(access().check(admin, "GET", "/api/show", "", "")).c_str());
    // Used up: a second login with it fails; a restart would print a new one.
    LONGS_EQUAL(401, call("POST", "/api/login", {{"user", "admin"}, {"password", *otp}}, {}, "10.0.0.3").status);
    r = call("POST", "/api/session/password", {{"password", "my own secret"}}, admin);
    LONGS_EQUAL(200, r.status);
    CHECK(!json::parse(r.body).at("must_change").as_bool());
    admin = access().byKey(admin.key, admin.via);
    CHECK(access().check(admin, "GET", "/api/show", "", "").ok());
    // Set: no more one-time passwords, and the own one needs the current one to change.
    CHECK(api->oneTimeAdmin()->empty());
    r = call("POST", "/api/session/password", {{"current", "wrong one!"}, {"password", "another secret"}}, admin);
    LONGS_EQUAL(401, r.status);
    LONGS_EQUAL(200, call("POST", "/api/login", {{"user", "admin"}, {"password", "my own secret"}}, {}, "10.0.0.4").status);
}

TEST(Access, usersAreCheckedAndTheLastAdminStays) {
    Identity admin = setUp();
    LONGS_EQUAL(400, call("POST", "/api/users", {{"name", "a b"}, {"role", "viewer"}, {"password", "long enough"}}, admin).status);
    LONGS_EQUAL(400, call("POST", "/api/users", {{"name", "pinny"}, {"role", "operator"}, {"pin", "12ab"}}, admin).status);
    LONGS_EQUAL(400, call("POST", "/api/users", {{"name", "x"}, {"role", "king"}, {"password", "long enough"}}, admin).status);
    LONGS_EQUAL(409, call("POST", "/api/users", {{"name", "boss"}, {"role", "viewer"}, {"password", "long enough"}}, admin).status);
    LONGS_EQUAL(409, call("DELETE", "/api/users/boss", {}, admin).status);
    LONGS_EQUAL(409, call("PATCH", "/api/users/boss", {{"role", "operator"}}, admin).status);
    LONGS_EQUAL(1, access().usersJson().at("users").as_array().size());
    // A deleted user's sessions and tokens end with it.
    Identity op = addAndLogin(admin, "op", "operator", {{"pin", "123456"}});
    auto t = call("POST", "/api/tokens", {{"name", "deck"}, {"role", "operator"}}, admin);
    CHECK(access().byKey(op.key, op.via).authenticated());
    LONGS_EQUAL(200, call("DELETE", "/api/users/op", {}, admin).status);
    CHECK(!access().byKey(op.key, op.via).authenticated());
    // (the token was the admin's: it stays)
    CHECK(bearer(std::string(json::parse(t.body).at("secret").as_string())).authenticated());
    // A new password ends the user's other sessions.
    Identity des = addAndLogin(admin, "des", "designer", {{"password", "designs things"}});
    LONGS_EQUAL(200, call("PATCH", "/api/users/des", {{"password", "new designs"}}, admin).status);
    CHECK(!access().byKey(des.key, des.via).authenticated());
}

TEST(Access, aPathSpelledWithExtraSlashesHasItsRouteRole) {
    Identity admin = setUp();
    Identity viewer = addAndLogin(admin, "ro", "viewer", {{"password", "read only please"}});
    for (const char* path : {"/api/users/", "/api//users", "//api/users"})
        STRCMP_EQUAL("forbidden", codeOf(access().check(viewer, "POST", path, R"({"name":"x"})", viewer.csrf)).c_str());
    STRCMP_EQUAL("forbidden", codeOf(access().check(viewer, "PATCH", "/api//settings/platform", "{}", viewer.csrf)).c_str());
    // A change to a path no route has is no viewer's either (the dispatch would say 404).
    STRCMP_EQUAL("forbidden", codeOf(access().check(viewer, "POST", "/api/nothing", "{}", viewer.csrf)).c_str());
    CHECK(access().check(admin, "POST", "/api/nothing", "{}", admin.csrf).ok());
}

TEST(Access, theBearerSchemeIsCaseInsensitiveAndATokenCannotChangeAPassword) {
    Identity admin = setUp();
    auto r = call("POST", "/api/tokens", {{"name", "prometheus"}, {"role", "viewer"}}, admin);
    const std::string secret(json::parse(r.body).at("secret").as_string());
    Identity token = access().identify("", "bearer " + secret);
    CHECK(token.authenticated());
    r = call("POST", "/api/session/password", {{"current", "correct horse"}, {"password", "taken over"}}, token);
    LONGS_EQUAL(403, r.status);
    LONGS_EQUAL(200, call("POST", "/api/login", {{"user", "boss"}, {"password", "correct horse"}}).status);
}

TEST(Access, guessesInFlightCountAgainstTheAddress) {
    const auto now = AuthClock::now();
    for (int i = 0; i < AccessControl::kMaxFailures; ++i) LONGS_EQUAL(0, access().beginAttempt("10.1.1.1", now));
    CHECK(access().beginAttempt("10.1.1.1", now) > 0);  // five are being checked: no sixth
    for (int i = 0; i < AccessControl::kMaxFailures; ++i) access().endAttempt("10.1.1.1", false, now);
    CHECK(access().holdSeconds("10.1.1.1", now) > 0);
    // A right password clears the count.
    LONGS_EQUAL(0, access().beginAttempt("10.1.1.2", now));
    access().endAttempt("10.1.1.2", false, now);
    LONGS_EQUAL(0, access().beginAttempt("10.1.1.2", now));
    access().endAttempt("10.1.1.2", true, now);
    for (int i = 0; i < AccessControl::kMaxFailures - 1; ++i) {
        LONGS_EQUAL(0, access().beginAttempt("10.1.1.2", now));
        access().endAttempt("10.1.1.2", false, now);
    }
    LONGS_EQUAL(0, access().holdSeconds("10.1.1.2", now));
}

