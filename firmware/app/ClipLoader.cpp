#include "app/ClipLoader.h"

#include "base/Log.h"
#include "media/AudioFile.h"
#include "media/Render.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <cstdio>
#include <functional>
#include <set>

namespace cuebox::app {

// The model's enums and the engine's list the same values in the same order.
static_assert(static_cast<int>(model::PlayMode::gate) == static_cast<int>(engine::PlayMode::gate));
static_assert(static_cast<int>(model::PlayMode::retrigger) == static_cast<int>(engine::PlayMode::retrigger));
static_assert(static_cast<int>(model::SecondPress::nothing) == static_cast<int>(engine::SecondPress::nothing));
static_assert(static_cast<int>(model::SecondPress::restart) == static_cast<int>(engine::SecondPress::restart));
static_assert(static_cast<int>(model::FadeCurve::sCurve) == static_cast<int>(engine::Curve::sCurve));
static_assert(static_cast<int>(model::FadeCurve::exponential) == static_cast<int>(engine::Curve::exponential));

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
    const std::int64_t mtime = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    std::shared_ptr<const engine::MediaBuffer> result;
    if (static_cast<double>(audio->frames) > streamAboveS_ * rate_) {
        result = streamed(path, st.st_size, mtime, std::move(audio->samples), audio->channels, audio->frames);
        if (!result) return nullptr;
    } else {
        auto m = std::make_shared<engine::MediaBuffer>();
        m->channels = audio->channels;
        m->frames = m->headFrames = audio->frames;
        m->samples = std::move(audio->samples);
        result = m;
    }
    cache_[path] = Cached{st.st_size, mtime, result};
    return result;
}

// Writes the decoded, resampled clip as raw float32 once (named after the
// source's path, size, time and the engine rate, so an edit of the file makes
// a new one) and keeps only the head in RAM.
std::shared_ptr<const engine::MediaBuffer> ClipLoader::streamed(const std::string& path, std::int64_t size,
                                                                std::int64_t mtime, std::vector<float> samples,
                                                                int channels, std::int64_t frames) {
    const std::string dir = (std::filesystem::path(dataDir_) / "cache").string();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    char name[64];
    std::snprintf(name, sizeof name, "%016zx-%d.f32",
                  std::hash<std::string>{}(path + "|" + std::to_string(size) + "|" + std::to_string(mtime)), rate_);
    const std::string file = dir + "/" + name;
    const auto bytes = static_cast<std::uintmax_t>(samples.size() * sizeof(float));
    if (std::filesystem::file_size(file, ec) != bytes || ec) {
        const std::string tmp = file + ".tmp";
        FILE* f = std::fopen(tmp.c_str(), "wb");
        const bool ok = f && std::fwrite(samples.data(), sizeof(float), samples.size(), f) == samples.size();
        if (f) std::fclose(f);
        if (!ok || std::rename(tmp.c_str(), file.c_str()) != 0) {
            log::warn("engine", "media: cannot write the stream cache " + file);
            std::remove(tmp.c_str());
            return nullptr;
        }
    }
    auto m = std::make_shared<engine::MediaBuffer>();
    m->channels = channels;
    m->frames = frames;
    m->headFrames = std::min<std::int64_t>(frames, static_cast<std::int64_t>(headS_ * rate_));
    samples.resize(static_cast<std::size_t>(m->headFrames * channels));
    samples.shrink_to_fit();
    m->samples = std::move(samples);
    m->streamPath = file;
    return m;
}

double ClipLoader::normalizeGainDb(const model::Clip& c, const model::Show& show) {
    if (!c.normalize || c.media.empty()) return 0.0;
    const model::MediaRecord* m = show.findMedia(c.media);
    if (!m || m->loudnessLufs() <= -199.0) return 0.0;
    double target = -23.0;
    if (auto it = show.settings.find("media"); it != show.settings.end())
        if (auto* t = it->second.if_contains("loudness_target_lufs"); t && t->is_number()) target = t->to_number<double>();
    double g = target - m->loudnessLufs();
    // Never pushed past -1 dBTP: the true peak ceiling wins over the target.
    if (m->truePeakDb() > -199.0) g = std::min(g, -1.0 - m->truePeakDb());
    return g;
}

std::string ClipLoader::playPath(const model::Clip& c, const model::Show& show) const {
    // A tempo-synced or pitched clip plays its render once it is made (the
    // web process renders it in the background); until then the media as it is.
    if (auto need = model::renderNeed(c, show)) {
        const media::RenderRequest r{need->timeRatio, need->pitchSemitones};
        const std::string p = dataDir_ + "/cache/renders/" + media::renderFileName(c.media, r);
        if (media::checkRender(r) && ::access(p.c_str(), R_OK) == 0) return p;
    }
    return resolve(c.file);
}

engine::ClipEntry ClipLoader::entry(const model::Clip& c, const model::FadeDefaults& defaults, double extraDb) const {
    auto frames = [this](int ms) { return static_cast<std::uint32_t>(static_cast<std::int64_t>(ms) * rate_ / 1000); };
    // The model's enums list the same names in the same order as the engine's.
    auto curve = [](model::FadeCurve f) { return static_cast<engine::Curve>(f); };
    engine::ClipEntry e;
    e.id = c.id;
    e.gain = c.levelDb <= model::kLevelMinDb ? 0.0f : static_cast<float>(std::pow(10.0, (c.levelDb + extraDb) / 20.0));
    const model::EffectiveFades f = model::effectiveFades(c, defaults);
    e.fadeIn = {frames(f.in.ms), curve(f.in.curve)};
    e.fadeOut = {frames(f.out.ms), curve(f.out.curve)};
    e.crossfade = {frames(f.crossfade.ms), curve(f.crossfade.curve)};
    e.powerComp = f.powerComp;
    e.group = static_cast<std::uint8_t>(model::validGroup(c.group) ? c.group - 'A' : 0);
    e.mode = static_cast<engine::PlayMode>(c.playMode);
    e.secondPress = static_cast<engine::SecondPress>(c.secondPress);
    e.loops = c.loop ? static_cast<std::uint32_t>(c.loopCount) : 1u;
    return e;
}

ClipLoader::Built ClipLoader::build(const model::Show& show) {
    Built b;
    b.table = std::make_unique<engine::ClipTable>();
    std::set<std::string> used;
    for (const auto& c : show.clips) {
        const std::string path = playPath(c, show);
        used.insert(path);
        auto m = load(path);
        if (!m) b.missing.push_back(c.id);
        b.table->add(entry(c, show.audio.fades, normalizeGainDb(c, show)), std::move(m));
    }
    b.table->finish();
    // Forget media no clip refers to any more (tables still holding it keep
    // it alive until they are freed).
    for (auto it = cache_.begin(); it != cache_.end();) it = used.count(it->first) ? std::next(it) : cache_.erase(it);
    return b;
}

}  // namespace cuebox::app
