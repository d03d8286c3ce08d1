// Reading and writing audio files (libsndfile) and sample-rate conversion
// (soxr). Control/worker threads only: this does file I/O.
#pragma once

#include "base/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace cuebox::media {

struct AudioData {
    int sampleRate = 0;
    int channels = 0;
    std::int64_t frames = 0;
    std::vector<float> samples;  // interleaved
};

struct AudioInfo {
    int sampleRate = 0;
    int channels = 0;
    std::int64_t frames = 0;
    double durationS() const { return sampleRate > 0 ? static_cast<double>(frames) / sampleRate : 0.0; }
};

Result<AudioInfo> probeAudioFile(const std::string& path);
// Decodes a whole file; resampled to `targetRate` with soxr when it differs
// (0 keeps the file's rate).
Result<AudioData> readAudioFile(const std::string& path, int targetRate = 0);
// Writes 24-bit PCM WAV.
Status writeWav(const std::string& path, const AudioData& a);
// `threads` > 1 lets soxr work channels in parallel.
Result<AudioData> resample(const AudioData& in, int targetRate, int threads = 1);

// A WAV file written piece by piece (recordings): 24-bit PCM.
class WavWriter {
public:
    WavWriter() = default;
    ~WavWriter();
    WavWriter(const WavWriter&) = delete;
    WavWriter& operator=(const WavWriter&) = delete;
    Status open(const std::string& path, int sampleRate, int channels);
    Status write(const float* interleaved, std::int64_t frames);
    void close();
    bool isOpen() const { return file_ != nullptr; }
    std::int64_t frames() const { return frames_; }
    const std::string& path() const { return path_; }

private:
    void* file_ = nullptr;  // SNDFILE*
    std::string path_;
    std::int64_t frames_ = 0;
};

}  // namespace cuebox::media
