// The demo show's clips, synthesised on first start (nothing is downloaded):
// tones, a chord, a sweep, noise bursts, click tracks and a few effects.
#pragma once

#include "base/Error.h"

#include <string>
#include <vector>

namespace cuebox::media {

struct DemoClip {
    std::string label;
    std::string file;  // file name inside the media folder
    std::string color;
    char group;
    int channels;
    double durationS;
    bool loop;
};

// Writes the demo media files into `mediaDir` at `sampleRate` (existing
// files are rewritten) and describes them, in grid order (4x4).
Result<std::vector<DemoClip>> generateDemoMedia(const std::string& mediaDir, int sampleRate);

}  // namespace cuebox::media
