// Errors at module boundaries: a code, the field it concerns and a reason a
// person can act on. No exceptions cross a module boundary or touch RT code.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace cuebox {

enum class Errc {
    bad_request,
    not_found,
    method_not_allowed,
    conflict,
    forbidden,  // a wrong PIN; a role that may not make the request
    unauthenticated,           // 401: no valid session or token
    setup_required,            // 401: the box has no users yet
    bad_credentials,           // 401: a wrong user name or password
    csrf,                      // 403: a cookie's change without its CSRF token
    password_change_required,  // 403: a one-time password must be replaced first
    too_many_attempts,         // 429: login throttled
    locked,     // the show is locked for performing: edits are refused
    payload_too_large,
    unavailable,
    io,
    corrupt,
    internal,
};

const char* errcName(Errc c);

struct Error {
    Errc code = Errc::internal;
    std::string field;  // the offending field, path segment or "" when none
    std::string reason;

    // Adds context once per boundary: "store: open '/data': map full".
    Error context(const std::string& where) const {
        return Error{code, field, where + ": " + reason};
    }
};

inline Error makeError(Errc c, std::string field, std::string reason) {
    return Error{c, std::move(field), std::move(reason)};
}

// Minimal expected-like result (std::expected is C++23).
template <typename T>
class Result {
public:
    Result(T v) : v_(std::move(v)) {}
    Result(Error e) : v_(std::move(e)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    T* operator->() { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

// Result of an operation with no value.
class Status {
public:
    Status() = default;
    Status(Error e) : e_(std::move(e)) {}
    static Status success() { return {}; }
    bool ok() const { return !e_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return *e_; }

private:
    std::optional<Error> e_;
};

}  // namespace cuebox
