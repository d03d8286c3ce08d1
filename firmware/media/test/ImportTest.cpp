// Importing media: every format libsndfile reads, at odd rates, widths and
// channel counts, converted to the engine's rate; bad files refused with
// their reason and nothing written.
#include "media/Import.h"

#include "base/Sha256.h"

#include <CppUTest/TestHarness.h>

#include <sndfile.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace cuebox;
using namespace cuebox::media;
namespace fs = std::filesystem;

namespace {

// A `seconds` long 440 Hz tone (a quieter copy on every further channel).
void writeTone(const std::string& path, int format, int rate, int channels, double seconds) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    CHECK_TEXT(f != nullptr, (path + ": " + sf_strerror(nullptr)).c_str());
    const auto frames = static_cast<sf_count_t>(seconds * rate);
    std::vector<float> buf(static_cast<std::size_t>(frames * channels));
    for (sf_count_t i = 0; i < frames; ++i)
        for (int c = 0; c < channels; ++c)
            buf[static_cast<std::size_t>(i * channels + c)] =
                static_cast<float>(0.5 / (c + 1) * std::sin(2 * M_PI * 440.0 * static_cast<double>(i) / rate));
    sf_writef_float(f, buf.data(), frames);
    sf_close(f);
}

std::size_t filesUnder(const std::string& dir) {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it)
        if (it->is_regular_file()) ++n;
    return n;
}

}  // namespace

TEST_GROUP(Import) {
    std::string dir;
    void setup() override {
        char tmpl[] = "/tmp/cuebox-import-XXXXXX";
        dir = mkdtemp(tmpl);
        fs::create_directories(dir + "/in");
    }
    void teardown() override { fs::remove_all(dir); }

    Result<Imported> run(const std::string& name) {
        ImportRequest r;
        r.source = dir + "/in/" + name;
        r.targetDir = dir + "/show";
        r.rate = 48000;
        return importFile(r);
    }

    void expectImported(const char* name, int format, int rate, int channels, double seconds, const char* formatText) {
        writeTone(dir + "/in/" + name, format, rate, channels, seconds);
        auto r = run(name);
        CHECK_TEXT(r.ok(), r.ok() ? "" : r.error().reason.c_str());
        STRCMP_EQUAL(formatText, r->format.c_str());
        LONGS_EQUAL(rate, r->sourceRate);
        LONGS_EQUAL(channels, r->sourceChannels);
        // The converted file: 48 kHz float, the same duration and channels.
        SF_INFO info{};
        SNDFILE* f = sf_open(r->file.c_str(), SFM_READ, &info);
        CHECK(f != nullptr);
        sf_close(f);
        LONGS_EQUAL(48000, info.samplerate);
        LONGS_EQUAL(channels, info.channels);
        LONGS_EQUAL(SF_FORMAT_WAV | SF_FORMAT_FLOAT, info.format);
        // Lossy codecs pad a little; PCM converts to the exact length.
        const double slack = (format & SF_FORMAT_SUBMASK) == SF_FORMAT_MPEG_LAYER_III ? 0.1 : 0.001;
        DOUBLES_EQUAL_TEXT(seconds, static_cast<double>(info.frames) / 48000, slack, name);
        DOUBLES_EQUAL(seconds, r->analysis.durationS, slack);
        // The original is kept as it came, and both files are hashed.
        STRCMP_EQUAL(sha256File(dir + "/in/" + name)->c_str(), r->id.c_str());
        STRCMP_EQUAL(sha256File(r->original)->c_str(), r->id.c_str());
        STRCMP_EQUAL(sha256File(r->file)->c_str(), r->fileSha256.c_str());
        CHECK(fs::exists(dir + "/in/" + name));  // copied, not moved
        // A first-channel tone at -6 dBFS (lossy codecs within a dB).
        DOUBLES_EQUAL_TEXT(-6.02, r->analysis.peakDb, 1.0, name);
    }
};

TEST(Import, everyFormatAndOddShapeConvertsToTheEngineRate) {
    expectImported("tone.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 1.0, "WAV, 16-bit");
    expectImported("bwf.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 48000, 1, 1.0, "WAV, 24-bit");
    expectImported("eight.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 22050, 1, 1.0, "WAV, 8-bit");
    expectImported("hires.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 96000, 2, 1.0, "WAV, 32-bit");
    expectImported("float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 88200, 2, 0.5, "WAV, 32-bit float");
    expectImported("six.wav", SF_FORMAT_WAVEX | SF_FORMAT_PCM_24, 48000, 6, 0.5, "WAV (extensible), 24-bit");
    expectImported("eight_ch.wav", SF_FORMAT_WAVEX | SF_FORMAT_FLOAT, 44100, 8, 0.5, "WAV (extensible), 32-bit float");
    expectImported("big.rf64", SF_FORMAT_RF64 | SF_FORMAT_PCM_24, 96000, 2, 0.5, "RF64, 24-bit");
    expectImported("tone.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 32000, 2, 1.0, "AIFF, 16-bit");
    expectImported("tone.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 44100, 2, 1.0, "FLAC, 24-bit");
    expectImported("tone.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 2, 1.0, "OGG, Vorbis");
    expectImported("tone.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 2, 1.0, "OGG, Opus");
    expectImported("tone.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 2, 1.0, "MPEG, MP3");
}

TEST(Import, badFilesAreRefusedWithTheirReasonAndNothingIsWritten) {
    std::ofstream(dir + "/in/empty.wav").close();
    std::ofstream(dir + "/in/text.wav") << "this is not audio, just words in a file named .wav\n";
    writeTone(dir + "/in/whole.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 1.0);
    writeTone(dir + "/in/whole.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, 1.0);
    writeTone(dir + "/in/whole.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 44100, 2, 1.0);
    auto cut = [&](const char* from, const char* to, std::uintmax_t keep) {
        fs::copy_file(dir + "/in/" + from, dir + "/in/" + to);
        fs::resize_file(dir + "/in/" + to, keep);
    };
    cut("whole.wav", "cut.wav", 40000);
    cut("whole.flac", "cut.flac", fs::file_size(dir + "/in/whole.flac") / 3);
    cut("whole.aiff", "cut.aiff", 40000);
    const std::pair<const char*, const char*> cases[] = {
        {"empty.wav", "is empty"},         {"text.wav", "is not audio this box reads"},
        {"cut.wav", "is truncated"},       {"cut.flac", "truncated"},
        {"cut.aiff", "is truncated"},      {"missing.wav", "cannot be read"},
    };
    for (const auto& [name, why] : cases) {
        auto r = run(name);
        CHECK_FALSE_TEXT(r.ok(), name);
        CHECK(r.error().code == Errc::bad_request);
        STRCMP_EQUAL("file", r.error().field.c_str());
        CHECK_TEXT(r.error().reason.find(why) != std::string::npos, (std::string(name) + ": " + r.error().reason).c_str());
        CHECK_TEXT(r.error().reason.find(name) != std::string::npos, r.error().reason.c_str());
    }
    LONGS_EQUAL(0, filesUnder(dir + "/show"));
}

TEST(Import, anUploadIsMovedAndTheSameOriginalIsKeptOnce) {
    writeTone(dir + "/in/upload.partial", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, 0.5);
    ImportRequest r;
    r.source = dir + "/in/upload.partial";
    r.name = "door slam.flac";
    r.targetDir = dir + "/show";
    r.moveSource = true;
    auto a = importFile(r);
    CHECK_TEXT(a.ok(), a.ok() ? "" : a.error().reason.c_str());
    CHECK_FALSE(fs::exists(r.source));
    STRCMP_EQUAL((dir + "/show/originals/door slam.flac").c_str(), a->original.c_str());
    CHECK(a->file.find("door slam-") != std::string::npos);
    // The same content again (another upload): one original, one converted file.
    writeTone(r.source, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, 0.5);
    auto b = importFile(r);
    CHECK(b.ok());
    STRCMP_EQUAL(a->id.c_str(), b->id.c_str());
    STRCMP_EQUAL(a->file.c_str(), b->file.c_str());
    LONGS_EQUAL(2, filesUnder(dir + "/show"));
    // Other content under the same name keeps both originals.
    writeTone(r.source, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, 0.25);
    auto c = importFile(r);
    CHECK(c.ok());
    CHECK(c->id != a->id);
    CHECK(c->original != a->original);
    LONGS_EQUAL(4, filesUnder(dir + "/show"));
}

TEST(Import, progressRisesAndCancellingWritesNothing) {
    writeTone(dir + "/in/long.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 5.0);
    ImportRequest r;
    r.source = dir + "/in/long.wav";
    r.targetDir = dir + "/show";
    double last = -1;
    bool rising = true;
    auto ok = importFile(r, [&](double f) {
        rising = rising && f >= last;
        last = f;
        return true;
    });
    CHECK(ok.ok());
    CHECK(rising);
    DOUBLES_EQUAL(1.0, last, 1e-9);
    fs::remove_all(dir + "/show");
    auto cancelled = importFile(r, [](double f) { return f < 0.5; });
    CHECK_FALSE(cancelled.ok());
    STRCMP_EQUAL("cancelled", cancelled.error().field.c_str());
    LONGS_EQUAL(0, filesUnder(dir + "/show"));
}

TEST(Import, aCancelledReimportLeavesTheFilesOfTheFirstImport) {
    writeTone(dir + "/in/bell.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 2.0);
    ImportRequest r;
    r.source = dir + "/in/bell.wav";
    r.targetDir = dir + "/show";
    auto first = importFile(r);
    CHECK(first.ok());
    CHECK(first->createdFile);
    CHECK(first->createdOriginal);
    // The same content again: the converted file is found, not rewritten,
    // and cancelling late removes nothing that was there.
    for (double stopAt : {0.2, 0.5, 0.85}) {  // past 0.9 the import completes
        auto again = importFile(r, [stopAt](double f) { return f < stopAt; });
        CHECK_FALSE(again.ok());
        CHECK(fs::exists(first->file));
        CHECK(fs::exists(first->original));
        STRCMP_EQUAL(first->fileSha256.c_str(), sha256File(first->file)->c_str());
    }
    auto third = importFile(r);
    CHECK(third.ok());
    CHECK_FALSE(third->createdFile);
    CHECK_FALSE(third->createdOriginal);
    STRCMP_EQUAL(first->fileSha256.c_str(), third->fileSha256.c_str());
    LONGS_EQUAL(2, filesUnder(dir + "/show"));
}
