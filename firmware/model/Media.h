// The show's media library and the state of its files: one record per
// imported media file (where the converted file and the kept original are,
// their content hashes, the source's format and the analysis), and per clip
// the result of the last media check (missing-file status, search
// candidates, patterns used, last known good paths and the reconciliation
// history). Plain values, no I/O.
#pragma once

#include "base/Error.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cuebox::model {

struct MediaRecord {
    std::string id;            // SHA-256 (hex) of the original file: the content hash
    std::string name;          // the original's file name
    std::string file;          // the converted file that plays (engine rate, float WAV); data-folder relative or absolute
    std::string fileSha256;    // hash of the converted file
    std::int64_t fileBytes = 0;
    std::string original;      // the original, kept as it came
    std::int64_t originalBytes = 0;
    std::string source;        // where it came from: "upload", a path, "record A"
    std::string format;        // the original's container and encoding ("FLAC, 24-bit")
    int sourceRate = 0;
    int sourceChannels = 0;
    int rate = 0;              // the converted file's rate (the engine's)
    std::string location;      // "project" or "repository"
    std::string importedAt;    // ISO 8601 UTC
    boost::json::object analysis;  // media::toJson(Analysis) without the waveform
    boost::json::object waveform;  // {"min": [...], "max": [...]}
    // Tempo/pitch renders made of it: [{file, time_ratio, pitch_semitones, made_at}]
    boost::json::array renders;
    bool operator==(const MediaRecord&) const = default;

    double bpm() const;          // analysed tempo, 0 = none
    double loudnessLufs() const;  // -200 = not measured
    double truePeakDb() const;
};

// The result of checking one clip's media file.
struct MediaCheck {
    std::uint64_t clip = 0;
    std::string status = "ok";   // ok | missing | unreadable
    std::string path;            // the path checked (absolute)
    std::string checkedAt;       // ISO 8601 UTC
    boost::json::array lastKnownGood;  // paths where it was found before, newest first
    boost::json::array candidates;     // [{path, score, hash_match, where, reasons}], best first
    boost::json::array patterns;       // the searches made
    boost::json::array history;        // [{at, from, to, how: "auto"|"user", by, score}]
    bool operator==(const MediaCheck&) const = default;
};

boost::json::object toJson(const MediaRecord& m, bool withWaveform = true);
Result<MediaRecord> mediaFromJson(const boost::json::value& v);
boost::json::object toJson(const MediaCheck& c);
Result<MediaCheck> mediaCheckFromJson(const boost::json::value& v);
// A content hash as the library names media: 64 lower-case hex digits.
bool validMediaId(const std::string& id);

}  // namespace cuebox::model
