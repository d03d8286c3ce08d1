// Import of a 5-minute 44.1 kHz stereo file (16-bit WAV, music-like: a beat,
// a bass line and chords): decoded, resampled to 48 kHz with soxr VHQ,
// analysed (levels, true peak, EBU R128, waveform, silence, tempo), hashed,
// written and the original kept: media::importFile, the path every import
// takes. Budget (DESIGN.md): decoded, resampled and analysed in under 2 s.
#include "media/Import.h"

#include <sndfile.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

using namespace cuebox;

int main() {
    const std::string dir = "/tmp/cuebox-media-bench";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const std::string src = dir + "/five-minutes.wav";
    const int rate = 44100;
    const long frames = 300L * rate;
    {
        SF_INFO info{};
        info.samplerate = rate;
        info.channels = 2;
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
        SNDFILE* f = sf_open(src.c_str(), SFM_WRITE, &info);
        if (!f) return 1;
        std::vector<float> buf(static_cast<std::size_t>(frames) * 2);
        std::uint32_t noise = 12345;
        const double beat = 60.0 / 124.0;
        for (long i = 0; i < frames; ++i) {
            const double t = static_cast<double>(i) / rate;
            const double inBeat = std::fmod(t, beat);
            const int bar = static_cast<int>(t / (4 * beat)) % 4;
            const double root = 55.0 * std::pow(2.0, (bar == 1 ? 5 : bar == 2 ? 7 : bar == 3 ? 3 : 0) / 12.0);
            noise = noise * 1664525u + 1013904223u;
            const double n = (static_cast<double>(noise >> 8) / 8388608.0 - 1.0);
            double kick = std::exp(-inBeat * 30.0) * std::sin(2 * M_PI * 60.0 * inBeat);
            double hat = std::fmod(t + beat / 2, beat) < 0.03 ? 0.15 * n : 0.0;
            double bass = 0.2 * std::sin(2 * M_PI * root * t);
            double chord = 0.05 * (std::sin(2 * M_PI * root * 4 * t) + std::sin(2 * M_PI * root * 5 * t) + std::sin(2 * M_PI * root * 6 * t));
            buf[static_cast<std::size_t>(i) * 2] = static_cast<float>(0.5 * kick + hat + bass + chord);
            buf[static_cast<std::size_t>(i) * 2 + 1] = static_cast<float>(0.5 * kick + 0.8 * hat + bass + 1.1 * chord);
        }
        sf_writef_float(f, buf.data(), frames);
        sf_close(f);
    }
    std::vector<double> totals;
    for (int run = 0; run < 3; ++run) {
        std::filesystem::remove_all(dir + "/show");
        media::ImportRequest r;
        r.source = src;
        r.targetDir = dir + "/show";
        r.rate = 48000;
        const auto t0 = std::chrono::steady_clock::now();
        auto imp = media::importFile(r);
        const double all = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!imp) {
            std::fprintf(stderr, "import failed: %s\n", imp.error().reason.c_str());
            return 1;
        }
        const double dra = imp->secondsReady;
        totals.push_back(dra);
        std::printf("import, 5 min 44.1 kHz stereo WAV -> 48 kHz: decoded, resampled and analysed in %.3f s (budget < 2 s)"
                    " [decode %.3f s, then resample %.3f s beside analysis %.3f s]; whole import incl. hashing, writing"
                    " and keeping the original %.3f s; tempo %.1f bpm, %.1f LUFS\n",
                    dra, imp->secondsDecode, imp->secondsResample, imp->secondsAnalyse, all, imp->analysis.tempo.bpm,
                    imp->analysis.loudnessLufs);
    }
    std::sort(totals.begin(), totals.end());
    std::printf("import decode+resample+analyse: median %.3f s, worst %.3f s of 3 (budget < 2 s)\n", totals[1], totals[2]);
    std::filesystem::remove_all(dir);
    return 0;
}
