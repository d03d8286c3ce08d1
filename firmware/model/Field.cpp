#include "model/Field.h"

#include "model/Show.h"

#include <cmath>

namespace cuebox::model::field {

Error bad(const std::string& field, const std::string& reason) { return makeError(Errc::bad_request, field, reason); }

Result<std::string> text(const boost::json::value& v, const std::string& field, std::size_t minBytes) {
    if (!v.is_string()) return bad(field, "must be a string");
    std::string s(v.as_string());
    if (s.size() < minBytes || s.size() > 64)
        return bad(field, "must be " + std::to_string(minBytes) + " to 64 bytes");
    for (unsigned char ch : s)
        if (ch < 0x20 || ch == 0x7f) return bad(field, "must not contain control characters");
    return s;
}

Result<int> wholeNumber(const boost::json::value& v, const std::string& field, int lo, int hi) {
    if (!v.is_int64() || v.as_int64() < lo || v.as_int64() > hi)
        return bad(field, "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
    return static_cast<int>(v.as_int64());
}

Result<bool> flag(const boost::json::value& v, const std::string& field) {
    if (!v.is_bool()) return bad(field, "must be true or false");
    return v.as_bool();
}

Result<double> levelDb(const boost::json::value& v, const std::string& field) {
    if (!v.is_number()) return bad(field, "must be a number of dB");
    const double d = v.to_number<double>();
    if (!std::isfinite(d) || d < kLevelMinDb || d > kLevelMaxDb) return bad(field, "must be from -90 to +12 dB");
    return d;
}

Result<double> number(const boost::json::value& v, const std::string& field, double lo, double hi) {
    auto range = [&] {
        auto f = [](double d) { std::string s = std::to_string(d); s.erase(s.find_last_not_of('0') + 1); if (s.back() == '.') s.pop_back(); return s; };
        return bad(field, "must be a number from " + f(lo) + " to " + f(hi));
    };
    if (!v.is_number()) return range();
    const double d = v.to_number<double>();
    if (!std::isfinite(d) || d < lo || d > hi) return range();
    return d;
}

Result<int> fadeMs(const boost::json::value& v, const std::string& field) {
    if (!v.is_number()) return bad(field, "must be a number of milliseconds");
    const double d = v.to_number<double>();
    if (!std::isfinite(d) || d < 0 || d > kFadeMaxMs || d != std::floor(d))
        return bad(field, "must be a whole number of milliseconds from 0 to 3000");
    return static_cast<int>(d);
}

bool plainPath(std::string_view p, bool allowAbsolute) {
    if (p.empty() || p.find('\\') != std::string_view::npos || p.find('\0') != std::string_view::npos) return false;
    if (p[0] == '/') {
        if (!allowAbsolute || p.size() == 1) return false;
        p.remove_prefix(1);
    }
    while (true) {
        const std::size_t slash = p.find('/');
        const std::string_view part = p.substr(0, slash);
        if (part.empty() || part == "." || part == "..") return false;
        if (slash == std::string_view::npos) return true;
        p.remove_prefix(slash + 1);
    }
}

std::optional<std::uint64_t> count(const boost::json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_uint64()) return v->as_uint64();
    if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
    return std::nullopt;
}

}  // namespace cuebox::model::field
