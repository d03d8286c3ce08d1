#include "engine/ClipTable.h"

#include <algorithm>

namespace cuebox::engine {

void ClipTable::add(ClipEntry e, std::shared_ptr<const MediaBuffer> media) {
    e.media = media.get();
    entries_.push_back(e);
    if (media) keepAlive_.push_back(std::move(media));
}

void ClipTable::finish() {
    std::sort(entries_.begin(), entries_.end(), [](const ClipEntry& a, const ClipEntry& b) { return a.id < b.id; });
}

const ClipEntry* ClipTable::find(std::uint64_t id) const {
    std::size_t lo = 0, hi = entries_.size();
    while (lo < hi) {
        std::size_t mid = (lo + hi) / 2;
        if (entries_[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < entries_.size() && entries_[lo].id == id ? &entries_[lo] : nullptr;
}

}  // namespace cuebox::engine
