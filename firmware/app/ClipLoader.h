// Turns the show's clips into an engine clip table: resolves media paths,
// decodes them at the engine rate (cached across rebuilds, so an edit does
// not decode everything again) and converts levels and fades. Control
// thread of the engine process.
#pragma once

#include "engine/ClipTable.h"
#include "model/Show.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cuebox::app {

class ClipLoader {
public:
    // Media longer than `streamAboveS` seconds streams from a cache file at
    // the engine's rate (the first `headS` seconds stay in RAM).
    ClipLoader(std::string dataDir, int sampleRate, double streamAboveS = 60.0, double headS = 2.0)
        : dataDir_(std::move(dataDir)), rate_(sampleRate), streamAboveS_(streamAboveS), headS_(headS) {}

    struct Built {
        std::unique_ptr<engine::ClipTable> table;
        std::vector<model::ClipId> missing;  // media missing or unreadable
    };
    Built build(const model::Show& show);
    // A new threshold applies to media loaded from now on: the cache is
    // dropped so every clip is loaded again under it.
    void setStreamAboveS(double s) {
        if (s == streamAboveS_) return;
        streamAboveS_ = s;
        cache_.clear();
    }
    std::string resolve(const std::string& file) const;
    // `extraDb` adds to the clip's level (the loudness normalisation gain).
    engine::ClipEntry entry(const model::Clip& c, const model::FadeDefaults& defaults, double extraDb = 0.0) const;
    // The file a clip plays: its render when one is needed and made, else its media.
    std::string playPath(const model::Clip& c, const model::Show& show) const;
    // The gain that brings a normalised clip's media to the show's loudness
    // target (media.loudness_target_lufs), held under -1 dBTP; 0 otherwise.
    static double normalizeGainDb(const model::Clip& c, const model::Show& show);

private:
    struct Cached {
        std::int64_t size = 0;
        std::int64_t mtime = 0;
        std::shared_ptr<const engine::MediaBuffer> media;
    };
    std::shared_ptr<const engine::MediaBuffer> load(const std::string& path);

    std::shared_ptr<const engine::MediaBuffer> streamed(const std::string& path, std::int64_t size, std::int64_t mtime,
                                                        std::vector<float> samples, int channels, std::int64_t frames);

    std::string dataDir_;
    int rate_;
    double streamAboveS_;
    double headS_;
    std::map<std::string, Cached> cache_;
};

}  // namespace cuebox::app
