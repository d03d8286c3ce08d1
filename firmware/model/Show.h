// The show (session) model: plain values, no I/O. The store persists it, the
// web layer serves it, the engine app turns its clips into a clip table.
// Names follow the glossary in ARCHITECTURE.md.
#pragma once

#include "model/Audio.h"
#include "model/Media.h"
#include "model/Settings.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cuebox::model {

using ClipId = std::uint64_t;
using ShowId = std::uint64_t;

inline constexpr int kTabsPerPage = 8;
inline constexpr int kMaxGridSide = 16;
inline constexpr int kFadeMaxMs = 3000;
inline constexpr double kLevelMinDb = -90.0;
inline constexpr double kLevelMaxDb = 12.0;

enum class ViewMode { single, dual };

// A tab remembers its current and previous size, when it was resized and a
// layout version. Shrinking never deletes cells: cells outside the current
// size are hidden and come back when the grid grows.
struct Grid {
    int rows = 4;
    int cols = 4;
    int prevRows = 4;
    int prevCols = 4;
    std::string resizedAt;  // ISO 8601 UTC, "" if never resized
    std::uint32_t layoutVersion = 1;
    bool operator==(const Grid&) const = default;
};

struct Tab {
    std::string name;
    Grid grid;
    bool operator==(const Tab&) const = default;
};

struct Page {
    std::string name;
    int activeTab = 0;
    std::array<Tab, kTabsPerPage> tabs;
    bool operator==(const Page&) const = default;
};

// One occupied grid position.
struct Cell {
    int page = 0;
    int tab = 0;
    int row = 0;
    int col = 0;
    ClipId clip = 0;
    bool operator==(const Cell&) const = default;
};

enum class PlayMode { oneShot, toggle, retrigger, gate };
enum class SecondPress { stop, fadeOut, restart, nothing };

const char* name(PlayMode m);
const char* name(SecondPress p);
const char* name(FadeCurve c);
bool parse(const std::string& s, PlayMode& m);
bool parse(const std::string& s, SecondPress& p);
bool parse(const std::string& s, FadeCurve& c);

struct Clip {
    ClipId id = 0;
    std::string label;
    std::string color = "#3b82f6";  // #rrggbb
    std::string file;               // relative to the data folder, or absolute
    char group = 'A';               // clip group A-D
    double levelDb = 0.0;
    bool loop = false;
    int loopCount = 0;       // with loop: times to play, 0 = forever
    bool tempoSync = false;  // follows the show's tempo (transport.tempo_bpm) through an offline render
    double pitchSemitones = 0.0;  // -24..24, played through an offline render
    std::optional<double> bpm;    // the media's own tempo; unset = the analysed one
    std::string media;            // the media library record (content hash), "" = a file not imported
    bool normalize = false;       // adds the gain that brings the media to media.loudness_target_lufs
    // A start waits for the next boundary of the time division: "off",
    // "beat", "bar", "frame"; "" = the show's time_division.quantize.
    std::string quantize;
    // Starts by itself when the timecode source (LTC or MTC) reaches this
    // time, "HH:MM:SS:FF"; "" = never.
    std::string timecode;
    // Fades: unset = the show's fade defaults (AudioConfig::fades).
    std::optional<int> fadeInMs;
    std::optional<int> fadeOutMs;
    std::optional<int> crossfadeMs;  // retrigger / restart crossfade
    std::optional<FadeCurve> fadeInCurve;
    std::optional<FadeCurve> fadeOutCurve;
    std::optional<FadeCurve> crossfadeCurve;
    std::optional<bool> powerComp;   // crossfades keep constant power
    PlayMode playMode = PlayMode::toggle;
    SecondPress secondPress = SecondPress::stop;
    int channels = 0;        // from the media file at import
    double durationS = 0.0;  // from the media file at import
    bool operator==(const Clip&) const = default;
};

struct Show {
    ShowId id = 0;
    std::string name;
    ViewMode viewMode = ViewMode::single;
    int activePage = 0;
    std::vector<Page> pages;
    std::vector<Clip> clips;  // ordered by id
    std::vector<Cell> cells;  // ordered by (page, tab, row, col)
    AudioConfig audio = AudioConfig::defaults();
    Settings settings = defaultSettings();
    std::vector<Mapping> mappings;  // ordered by id
    std::vector<MediaRecord> media;   // the media library, ordered by id
    std::vector<MediaCheck> checks;   // last media check per clip, ordered by clip

    const MediaRecord* findMedia(const std::string& id) const;
    const MediaCheck* findCheck(ClipId clip) const;

    const Clip* findClip(ClipId id) const;
    Clip* findClip(ClipId id);
};

// A clip's fades with the show's defaults filled in.
struct EffectiveFades {
    FadeSpec in, out, crossfade;
    bool powerComp;
};
EffectiveFades effectiveFades(const Clip& c, const FadeDefaults& d);

// What a clip plays through an offline render: its tempo ratio (output /
// input duration) and pitch shift. None when it plays its media as it is:
// no media record, or neither tempo sync (with a known tempo that differs
// from the show's) nor a pitch shift.
struct RenderNeed {
    double timeRatio = 1.0;
    double pitchSemitones = 0.0;
};
std::optional<RenderNeed> renderNeed(const Clip& c, const Show& s);
double clipBpm(const Clip& c, const Show& s);  // its own tempo, else the analysed one, else 0

Page makePage(std::string name);
bool validColor(const std::string& c);
bool validGroup(char g);
// "HH:MM:SS:FF" (';' before FF for drop-frame), hours 0-23, frames 0-29.
bool validTimecodeText(const std::string& t);

}  // namespace cuebox::model
