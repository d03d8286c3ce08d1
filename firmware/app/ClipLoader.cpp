#include "app/ClipLoader.h"

#include "base/Log.h"
#include "media/AudioFile.h"

#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <set>

namespace cuebox::app {

std::string ClipLoader::resolve(const std::string& file) const {
    if (!file.empty() && file[0] == '/') return file;
    return (std::filesystem::path(dataDir_) / file).string();
}

std::shared_ptr<const engine::MediaBuffer> ClipLoader::load(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) {
        cache_.erase(path);
        return nullptr;
    }
    auto it = cache_.find(path);
    if (it != cache_.end() && it->second.size == st.st_size && it->second.mtime == st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec)
        return it->second.media;
    auto audio = media::readAudioFile(path, rate_);
    if (!audio) {
        log::warn("engine", "media: " + audio.error().reason);
        cache_.erase(path);
        return nullptr;
    }
    auto m = std::make_shared<engine::MediaBuffer>();
    m->channels = audio->channels;
    m->frames = audio->frames;
    m->samples = std::move(audio->samples);
    cache_[path] = Cached{st.st_size, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, m};
    return m;
}

ClipLoader::Built ClipLoader::build(const model::Show& show) {
    Built b;
    b.table = std::make_unique<engine::ClipTable>();
    std::set<std::string> used;
    for (const auto& c : show.clips) {
        const std::string path = resolve(c.file);
        used.insert(path);
        auto m = load(path);
        if (!m) b.missing.push_back(c.id);
        engine::ClipEntry e;
        e.id = c.id;
        e.gain = static_cast<float>(std::pow(10.0, c.levelDb / 20.0));
        e.fadeInFrames = static_cast<std::uint32_t>(static_cast<std::int64_t>(c.fadeInMs) * rate_ / 1000);
        e.fadeOutFrames = static_cast<std::uint32_t>(static_cast<std::int64_t>(c.fadeOutMs) * rate_ / 1000);
        e.loop = c.loop;
        b.table->add(e, std::move(m));
    }
    b.table->finish();
    // Forget media no clip refers to any more (tables still holding it keep
    // it alive until they are freed).
    for (auto it = cache_.begin(); it != cache_.end();) it = used.count(it->first) ? std::next(it) : cache_.erase(it);
    return b;
}

}  // namespace cuebox::app
