// JSON forms of the show model: the API shape of docs/PROTOCOL.md and the
// stored record shape (the same members, so a record is readable by eye).
#pragma once

#include "base/Error.h"
#include "model/Show.h"

#include <boost/json/value.hpp>

namespace cuebox::model {

boost::json::object toJson(const Clip& c);
boost::json::object toJson(const Grid& g);
// The whole show as GET /api/show's "show" member. `missing(clip)` says
// whether a clip's media is unavailable.
template <typename MissingFn>
boost::json::object toJson(const Show& s, MissingFn missing);

Result<Clip> clipFromJson(const boost::json::value& v);
Result<Grid> gridFromJson(const boost::json::value& v);

// The pages with their 8 tabs, grids and cells (the "pages" member), and
// one of them (`page` < s.pages.size()).
boost::json::array pagesToJson(const Show& s);
boost::json::object pageToJson(const Show& s, std::size_t page);
// Implementation detail of toJson(Show).
boost::json::object showToJson(const Show& s, const std::vector<bool>& missingByClipIndex);

template <typename MissingFn>
boost::json::object toJson(const Show& s, MissingFn missing) {
    std::vector<bool> m;
    m.reserve(s.clips.size());
    for (const auto& c : s.clips) m.push_back(missing(c));
    return showToJson(s, m);
}

}  // namespace cuebox::model
