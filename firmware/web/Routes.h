// Every HTTP route cuebox-web answers, as one static table: method, path
// template, the least role that may call it and the OpenAPI summary. The
// table is what docs/openapi.yaml documents (test/integration/test_openapi.py
// compares the two through `cuebox-web --routes`), so a route added to the
// dispatch in Api.cpp, ApiSession.cpp, ApiMedia.cpp or Server.cpp without a
// row here, or the other way round, fails a test. Plain data and the
// standard library only: the access check in front of the API and the tests
// read it without the rest of the web layer. Any thread (immutable).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace cuebox::web {

// Ordered: each role includes the ones before it, so "may call" is `>=`.
// public_: anyone, before logging in (the login itself, the session, health).
enum class Role : std::uint8_t { public_, viewer, operator_, designer, admin };

struct Route {
    std::string_view method;  // "GET", "POST", "PATCH", "PUT", "DELETE"
    std::string_view path;    // OpenAPI template, e.g. "/api/clips/{id}/start"
    Role role;                // the least role that may call it
    // For a designer route that an operator may still call when the JSON
    // body holds only these members (comma-separated): the faders and page
    // switching, which are performing although they share an edit's route
    // (the same members the show lock lets through). Empty otherwise.
    std::string_view operatorMembers;
    std::string_view summary;  // one line, the same text as the OpenAPI summary
};

// The whole table, in the order of docs/openapi.yaml.
std::span<const Route> routes();

// The route a request matches (`path` without its query string), or nullptr.
// A {x} segment matches exactly one non-empty segment. The path is chosen
// before the method, and a literal segment wins over a template at the first
// segment where two matching paths differ (/api/shows/import over
// /api/shows/{id}), as the dispatch does: so PATCH /api/shows/import matches
// nothing (405), not a rename of show "import". Empty segments (a doubled or
// trailing slash) match nothing.
const Route* matchRoute(std::string_view method, std::string_view path);

// True when some route has this path (whatever its method): with no
// matchRoute() for the request's method, the answer is 405, not 404.
bool pathKnown(std::string_view path);

const char* roleName(Role r);  // "public", "viewer", "operator", "designer", "admin"

}  // namespace cuebox::web
