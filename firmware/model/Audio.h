// The show's audio configuration: the output busses (clip groups A-D and the
// audition bus) with level, choke mode and pre-fade listen; physical outputs
// with level and format; the routing matrix (a gain per bus channel and
// output); master and monitor levels. Levels and gains are in dB; -90 dB or
// below is off.
#pragma once

#include "base/Error.h"

#include <boost/json/value.hpp>

#include <array>
#include <string>
#include <vector>

namespace cuebox::model {

enum class FadeCurve { linear, equalPower, exponential, sCurve };

struct FadeSpec {
    int ms = 0;  // 0 to 3000
    FadeCurve curve = FadeCurve::linear;
};

// The show's fade defaults; a clip overrides any of them.
struct FadeDefaults {
    FadeSpec in{0, FadeCurve::linear};
    FadeSpec out{150, FadeCurve::linear};
    FadeSpec crossfade{0, FadeCurve::equalPower};
    bool inPowerComp = true;   // a fade in that overlaps a fade out keeps power
    bool outPowerComp = true;
};

inline constexpr int kBusCount = 5;  // A, B, C, D, audition
inline constexpr int kAuditionBusIndex = 4;
inline constexpr int kMaxOutputs = 32;

struct BusConfig {
    double levelDb = 0.0;
    bool choke = false;  // groups A-D only
    bool pfl = false;    // pre-fade listen on the monitor
};

struct OutputConfig {
    double levelDb = 0.0;
    bool stereo = true;  // part of a stereo pair (with its neighbour) or mono
};

struct Crosspoint {
    int bus = 0;      // 0-3 = A-D, 4 = audition
    int channel = 0;  // 0 = left, 1 = right
    int output = 0;   // 0-based
    double gainDb = 0.0;
};

struct AudioConfig {
    std::array<BusConfig, kBusCount> busses{};
    double masterDb = 0.0;
    double monitorDb = 0.0;
    std::vector<OutputConfig> outputs;
    std::vector<Crosspoint> routing;
    FadeDefaults fades;

    // Groups A-D left/right to outputs 1/2; audition to the monitor only.
    static AudioConfig defaults(int outputs = 8);
};

const char* busName(int bus);                 // "A".."D", "audition"
int parseBus(const std::string& s);            // -1 if unknown

boost::json::object toJson(const AudioConfig& a);
Result<AudioConfig> audioFromJson(const boost::json::value& v);

// Validated edits (every member checked before anything applies; errors
// name the member).
// master_db, monitor_db, fade_defaults {in|out: {ms, curve, power_comp}, crossfade: {ms, curve}}
Status patchAudio(AudioConfig& a, const boost::json::value& body);
Status patchBus(AudioConfig& a, int bus, const boost::json::value& body);       // level_db, choke, pfl
Status patchOutput(AudioConfig& a, int output, const boost::json::value& body); // level_db, format
// {"bus":"A","channel":"L","output":3,"gain_db":-6} (gain_db null removes)
Status setCrosspoint(AudioConfig& a, const boost::json::value& body);

}  // namespace cuebox::model
