#include "model/Show.h"

#include <algorithm>

namespace cuebox::model {

const Clip* Show::findClip(ClipId id) const {
    auto it = std::lower_bound(clips.begin(), clips.end(), id, [](const Clip& c, ClipId v) { return c.id < v; });
    return it != clips.end() && it->id == id ? &*it : nullptr;
}

Clip* Show::findClip(ClipId id) {
    return const_cast<Clip*>(static_cast<const Show*>(this)->findClip(id));
}

Page makePage(std::string name) {
    Page p;
    p.name = std::move(name);
    for (int i = 0; i < kTabsPerPage; ++i) p.tabs[static_cast<std::size_t>(i)].name = "Tab " + std::to_string(i + 1);
    return p;
}

bool validColor(const std::string& c) {
    if (c.size() != 7 || c[0] != '#') return false;
    return std::all_of(c.begin() + 1, c.end(), [](char ch) {
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
    });
}

bool validGroup(char g) { return g >= 'A' && g <= 'D'; }

}  // namespace cuebox::model
