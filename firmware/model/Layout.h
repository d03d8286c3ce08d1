// Validated layout edits: a tab's name and grid size, a page's name and
// active tab, the show's name, view mode and active page. Every member is
// checked before anything applies; errors name the member.
#pragma once

#include "base/Error.h"
#include "model/Show.h"

#include <boost/json/value.hpp>

#include <string>

namespace cuebox::model {

// {name, rows, cols}. A size change records the previous size, the time
// (`now`, ISO 8601) and bumps the layout version; cells are never touched.
Status patchTab(Tab& t, const boost::json::value& body, const std::string& now);
Status patchPage(Page& p, const boost::json::value& body);                   // {name, active_tab}
Status patchShowInfo(Show& s, const boost::json::value& body);               // {name, view_mode, active_page}

}  // namespace cuebox::model
