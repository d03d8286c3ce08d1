// Transport-neutral request and response, so the API can be exercised
// without sockets.
#pragma once

#include "base/Error.h"
#include "web/Routes.h"

#include <boost/json/object.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace cuebox::web {

// Who a request comes from (web/Access.h finds it from the request's cookie
// or bearer token; none for OSC and MIDI, which have their own access rules).
struct Identity {
    enum class Via { none, cookie, token };
    Via via = Via::none;
    std::string user;
    Role role = Role::public_;
    std::string key;          // SHA-256 of the session id or token secret
    std::string csrf;         // a session's CSRF token
    bool mustChange = false;  // logged in with a one-time password: may only set a new one
    bool authenticated() const { return via != Via::none; }
};

struct HttpRequest {
    std::string method;  // "GET", "POST", ...
    std::string target;  // path and query as received
    std::string contentType;
    std::string body;
    std::string client;  // "http 192.168.1.20 (stage-left iPad)"; "" in tests
    std::string address;  // the peer's address ("192.168.1.20"), for login throttling
    Identity identity;
};

struct HttpResponse {
    int status = 200;
    std::string contentType = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra: Set-Cookie, Retry-After
};

using Respond = std::function<void(HttpResponse)>;

int httpStatus(Errc c);
// {"error":{"status","code","field","reason"}}
boost::json::object errorJson(int status, const Error& e);
HttpResponse errorResponse(const Error& e);
HttpResponse jsonResponse(int status, const boost::json::object& body);

}  // namespace cuebox::web
