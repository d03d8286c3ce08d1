// Transport-neutral request and response, so the API can be exercised
// without sockets.
#pragma once

#include "base/Error.h"

#include <boost/json/object.hpp>

#include <functional>
#include <string>

namespace cuebox::web {

struct HttpRequest {
    std::string method;  // "GET", "POST", ...
    std::string target;  // path and query as received
    std::string contentType;
    std::string body;
    std::string client;  // "http 192.168.1.20 (stage-left iPad)"; "" in tests
};

struct HttpResponse {
    int status = 200;
    std::string contentType = "application/json";
    std::string body;
};

using Respond = std::function<void(HttpResponse)>;

int httpStatus(Errc c);
// {"error":{"status","code","field","reason"}}
boost::json::object errorJson(int status, const Error& e);
HttpResponse errorResponse(const Error& e);
HttpResponse jsonResponse(int status, const boost::json::object& body);

}  // namespace cuebox::web
