#include "media/AudioFile.h"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace cuebox::media {
namespace {

struct SndfileCloser {
    void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

Result<SndfilePtr> openRead(const std::string& path, SF_INFO& info) {
    info = SF_INFO{};
    SndfilePtr f(sf_open(path.c_str(), SFM_READ, &info));
    if (!f) return makeError(Errc::bad_request, "file", "cannot read '" + path + "': " + sf_strerror(nullptr));
    if (info.channels < 1 || info.channels > 8)
        return makeError(Errc::bad_request, "file", "'" + path + "' has " + std::to_string(info.channels) +
                                                         " channels (1 to 8 are supported)");
    if (info.frames <= 0) return makeError(Errc::bad_request, "file", "'" + path + "' holds no audio");
    return f;
}

}  // namespace

Result<AudioInfo> probeAudioFile(const std::string& path) {
    SF_INFO info;
    auto f = openRead(path, info);
    if (!f) return f.error();
    return AudioInfo{info.samplerate, info.channels, info.frames};
}

Result<AudioData> readAudioFile(const std::string& path, int targetRate) {
    SF_INFO info;
    auto f = openRead(path, info);
    if (!f) return f.error();
    AudioData a;
    a.sampleRate = info.samplerate;
    a.channels = info.channels;
    a.samples.resize(static_cast<std::size_t>(info.frames) * static_cast<std::size_t>(info.channels));
    sf_count_t got = sf_readf_float(f->get(), a.samples.data(), info.frames);
    if (got <= 0) return makeError(Errc::bad_request, "file", "'" + path + "' could not be decoded");
    // A truncated file yields fewer frames than its header claims: keep what
    // decoded.
    a.frames = got;
    a.samples.resize(static_cast<std::size_t>(got) * static_cast<std::size_t>(info.channels));
    if (targetRate > 0 && targetRate != a.sampleRate) return resample(a, targetRate);
    return a;
}

Result<AudioData> resample(const AudioData& in, int targetRate, int threads) {
    AudioData out;
    out.sampleRate = targetRate;
    out.channels = in.channels;
    const double ratio = static_cast<double>(targetRate) / in.sampleRate;
    const std::size_t olen = static_cast<std::size_t>(std::ceil(static_cast<double>(in.frames) * ratio)) + 16;
    out.samples.resize(olen * static_cast<std::size_t>(in.channels));
    std::size_t odone = 0;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
    // soxr works its channels on separate threads when asked (OpenMP).
    soxr_runtime_spec_t rt = soxr_runtime_spec(static_cast<unsigned>(std::max(1, std::min(threads, in.channels))));
    soxr_error_t err = soxr_oneshot(in.sampleRate, targetRate, static_cast<unsigned>(in.channels), in.samples.data(),
                                    static_cast<std::size_t>(in.frames), nullptr, out.samples.data(), olen, &odone, &io,
                                    &q, &rt);
    if (err) return makeError(Errc::internal, "file", std::string("resampling failed: ") + err);
    out.frames = static_cast<std::int64_t>(odone);
    out.samples.resize(odone * static_cast<std::size_t>(in.channels));
    return out;
}

Status writeWav(const std::string& path, const AudioData& a) {
    SF_INFO info{};
    info.samplerate = a.sampleRate;
    info.channels = a.channels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_24;
    SndfilePtr f(sf_open(path.c_str(), SFM_WRITE, &info));
    if (!f) return makeError(Errc::io, "file", "cannot write '" + path + "': " + sf_strerror(nullptr));
    if (sf_writef_float(f.get(), a.samples.data(), a.frames) != a.frames)
        return makeError(Errc::io, "file", "short write to '" + path + "'");
    return {};
}

WavWriter::~WavWriter() { close(); }

Status WavWriter::open(const std::string& path, int sampleRate, int channels) {
    close();
    SF_INFO info{};
    info.samplerate = sampleRate;
    info.channels = channels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_24;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!f) return makeError(Errc::io, "file", "cannot write '" + path + "': " + sf_strerror(nullptr));
    file_ = f;
    path_ = path;
    frames_ = 0;
    return {};
}

Status WavWriter::write(const float* interleaved, std::int64_t frames) {
    if (!file_) return makeError(Errc::io, "file", "not open");
    if (sf_writef_float(static_cast<SNDFILE*>(file_), interleaved, frames) != frames)
        return makeError(Errc::io, "file", "short write to '" + path_ + "' (disk full?)");
    frames_ += frames;
    return {};
}

void WavWriter::close() {
    if (file_) sf_close(static_cast<SNDFILE*>(file_));
    file_ = nullptr;
}

}  // namespace cuebox::media
