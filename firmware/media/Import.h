// Importing one media file: checked, decoded, resampled to the engine's rate
// with soxr (very high quality), analysed, written as a float WAV the engine
// plays without converting, with the original kept beside it and both
// hashed. Worker threads only.
#pragma once

#include "base/Error.h"
#include "media/Analysis.h"

#include <cstdint>
#include <string>

namespace cuebox::media {

struct ImportRequest {
    std::string source;      // the file to import
    std::string name;        // its file name as the user knows it ("" = the source's)
    std::string targetDir;   // where the converted file goes (originals/ below it keeps the original)
    int rate = 48000;        // the engine's rate
    bool moveSource = false; // the source is ours to take (an upload): moved, not copied
};

struct Imported {
    std::string id;            // SHA-256 of the original: the content hash
    std::string name;          // the original's file name
    std::string file;          // the converted file (absolute)
    std::string fileSha256;
    std::int64_t fileBytes = 0;
    std::string original;      // the kept original (absolute)
    std::int64_t originalBytes = 0;
    bool createdFile = false;      // this import wrote the converted file (it was not there)
    bool createdOriginal = false;  // this import put the original in place
    std::string format;        // "FLAC, 24-bit"
    int sourceRate = 0;
    int sourceChannels = 0;
    std::int64_t sourceFrames = 0;
    int rate = 0;
    Analysis analysis;
    // Where the time went (wall clock). The analysis runs beside the
    // resampler, so `secondsReady` (start to decoded, resampled and
    // analysed) is less than the sum of the parts.
    double secondsDecode = 0, secondsResample = 0, secondsAnalyse = 0, secondsWrite = 0, secondsReady = 0;
};

// The container and encoding libsndfile reports for an open file, in words.
std::string formatName(int sfFormat);

// Refusals (Errc::bad_request, field "file") say why: an empty file, not
// audio libsndfile reads, more than 8 channels, no audio, a truncated file
// (fewer frames decode than its header declares), more than 2 GiB of
// decoded audio. Nothing is written then, and a file that was there before
// (the same media imported earlier) is never removed.
// `progress` covers the whole import (decode 0-0.3, resample 0.3-0.45,
// analysis 0.45-0.9, writing 0.9-1).
Result<Imported> importFile(const ImportRequest& r, const Progress& progress = {});

// Writes interleaved float as a 32-bit float WAV (RF64 when it would pass
// 4 GiB), through a temporary name, synced, then renamed into place.
Status writeFloatWav(const std::string& path, const AudioData& a);

}  // namespace cuebox::media
