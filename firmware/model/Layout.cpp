#include "model/Layout.h"

#include "model/Field.h"

#include <boost/json.hpp>

namespace cuebox::model {
namespace json = boost::json;

namespace {
using field::bad;

Result<std::string> name(const json::value& v, const char* f) { return field::text(v, f, 1); }
Result<int> whole(const json::value& v, const char* f, int lo, int hi) { return field::wholeNumber(v, f, lo, hi); }

bool emptyObject(const json::value& v) { return !v.is_object() || v.as_object().empty(); }
}  // namespace

Status patchTab(Tab& t, const json::value& body, const std::string& now) {
    if (emptyObject(body)) return bad("body", "must be a JSON object naming name, rows or cols");
    Tab next = t;
    int rows = t.grid.rows, cols = t.grid.cols;
    for (const auto& [k, v] : body.as_object()) {
        if (k == "name") {
            auto n = name(v, "name");
            if (!n) return n.error();
            next.name = *n;
        } else if (k == "rows" || k == "cols") {
            auto n = whole(v, k == "rows" ? "rows" : "cols", 1, kMaxGridSide);
            if (!n) return n.error();
            (k == "rows" ? rows : cols) = *n;
        } else {
            return bad(std::string(k), "is not a tab setting (name, rows, cols)");
        }
    }
    if (rows != t.grid.rows || cols != t.grid.cols) {
        next.grid.prevRows = t.grid.rows;
        next.grid.prevCols = t.grid.cols;
        next.grid.rows = rows;
        next.grid.cols = cols;
        next.grid.resizedAt = now;
        ++next.grid.layoutVersion;
    }
    t = next;
    return {};
}

Status patchPage(Page& p, const json::value& body) {
    if (emptyObject(body)) return bad("body", "must be a JSON object naming name or active_tab");
    Page next = p;
    for (const auto& [k, v] : body.as_object()) {
        if (k == "name") {
            auto n = name(v, "name");
            if (!n) return n.error();
            next.name = *n;
        } else if (k == "active_tab") {
            auto n = whole(v, "active_tab", 0, kTabsPerPage - 1);
            if (!n) return n.error();
            next.activeTab = *n;
        } else {
            return bad(std::string(k), "is not a page setting (name, active_tab)");
        }
    }
    p = next;
    return {};
}

Status patchShowInfo(Show& s, const json::value& body) {
    if (emptyObject(body)) return bad("body", "must be a JSON object naming name, view_mode or active_page");
    Show next = s;
    for (const auto& [k, v] : body.as_object()) {
        if (k == "name") {
            auto n = name(v, "name");
            if (!n) return n.error();
            next.name = *n;
        } else if (k == "view_mode") {
            if (!v.is_string() || (v.as_string() != "single" && v.as_string() != "dual"))
                return bad("view_mode", "must be single or dual");
            next.viewMode = v.as_string() == "dual" ? ViewMode::dual : ViewMode::single;
        } else if (k == "active_page") {
            auto n = whole(v, "active_page", 0, static_cast<int>(s.pages.size()) - 1);
            if (!n) return n.error();
            next.activePage = *n;
        } else {
            return bad(std::string(k), "is not a show setting (name, view_mode, active_page)");
        }
    }
    s.name = next.name;
    s.viewMode = next.viewMode;
    s.activePage = next.activePage;
    return {};
}

}  // namespace cuebox::model
