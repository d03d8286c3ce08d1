#include "base/Error.h"

namespace cuebox {

const char* errcName(Errc c) {
    switch (c) {
    case Errc::bad_request: return "bad_request";
    case Errc::not_found: return "not_found";
    case Errc::method_not_allowed: return "method_not_allowed";
    case Errc::conflict: return "conflict";
    case Errc::forbidden: return "forbidden";
    case Errc::unauthenticated: return "unauthenticated";
    case Errc::setup_required: return "setup_required";
    case Errc::bad_credentials: return "bad_credentials";
    case Errc::csrf: return "csrf";
    case Errc::password_change_required: return "password_change_required";
    case Errc::too_many_attempts: return "too_many_attempts";
    case Errc::locked: return "locked";
    case Errc::payload_too_large: return "payload_too_large";
    case Errc::unavailable: return "unavailable";
    case Errc::io: return "io";
    case Errc::corrupt: return "corrupt";
    case Errc::internal: return "internal";
    }
    return "internal";
}

}  // namespace cuebox
