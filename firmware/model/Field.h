// Checks of one member of a JSON edit. Each returns the value or an error
// naming `field` and saying what it must be (HTTP 400). Shared by every edit
// parser of the model, so the same kind of value is judged the same way.
#pragma once

#include "base/Error.h"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cuebox::model::field {

Error bad(const std::string& field, const std::string& reason);
// A string of minBytes..64 bytes without control characters.
Result<std::string> text(const boost::json::value& v, const std::string& field, std::size_t minBytes = 0);
Result<int> wholeNumber(const boost::json::value& v, const std::string& field, int lo, int hi);
Result<bool> flag(const boost::json::value& v, const std::string& field);
Result<double> levelDb(const boost::json::value& v, const std::string& field);  // -90 .. +12 dB
// A finite number from lo to hi.
Result<double> number(const boost::json::value& v, const std::string& field, double lo, double hi);
Result<int> fadeMs(const boost::json::value& v, const std::string& field);      // 0 .. 3000, whole ms
// A path made of plain components: none empty, "." or "..", no backslash
// or NUL; absolute ("/...") only when `allowAbsolute`. Keeps a path inside
// the folder it is taken relative to.
bool plainPath(std::string_view p, bool allowAbsolute);
// A non-negative whole number read from a stored or received record, never
// throwing: nullopt for a missing member, a negative, fractional or
// out-of-range number, or anything else.
std::optional<std::uint64_t> count(const boost::json::value* v);

}  // namespace cuebox::model::field
