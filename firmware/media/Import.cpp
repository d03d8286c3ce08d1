#include "media/Import.h"

#include "base/Sha256.h"

#include <sndfile.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>

namespace cuebox::media {
namespace fs = std::filesystem;

namespace {

constexpr double kMaxDecodedBytes = 2.0 * 1024 * 1024 * 1024;

struct SndfileCloser {
    void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

double since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Error refuse(const std::string& name, const std::string& why) {
    return makeError(Errc::bad_request, "file", "'" + name + "' " + why);
}

// libsndfile repairs a WAV/AIFF whose data chunk runs past the end of the
// file (it plays what is there) and says so only in its log, as
// "data : 352800 (should be 99920)": that is a truncated file.
bool logSaysTruncated(SNDFILE* f) {
    char log[8192] = {};
    sf_command(f, SFC_GET_LOG_INFO, log, sizeof log);
    const std::string text(log);
    for (const char* chunk : {"\ndata : ", "\nSSND : ", "\nds64", "Chunk size"}) {
        const auto at = text.find(chunk);
        if (at == std::string::npos) continue;
        const auto eol = text.find('\n', at + 1);
        const std::string line = text.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
        if (line.find("should be") != std::string::npos || line.find("> file length") != std::string::npos) return true;
    }
    return false;
}

Status fsyncFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return makeError(Errc::io, "file", "cannot open '" + path + "' to sync it");
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return makeError(Errc::io, "file", "cannot sync '" + path + "'");
    return {};
}

// A rename is durable once the folder that holds the name is synced.
void fsyncDir(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

// Keeps the original: moved (an upload) or copied into `dir`, under its own
// name unless another file has that name already.
Result<std::string> keepOriginal(const ImportRequest& r, const std::string& name, const std::string& id, bool& created) {
    created = false;
    const fs::path dir = fs::path(r.targetDir) / "originals";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return makeError(Errc::io, "file", "cannot make '" + dir.string() + "': " + ec.message());
    fs::path dst = dir / name;
    if (fs::exists(dst, ec)) {
        auto h = sha256File(dst.string());
        if (h && *h == id) {  // the same original is there already
            if (r.moveSource) fs::remove(r.source, ec);
            return dst.string();
        }
        const fs::path n(name);
        dst = dir / (n.stem().string() + "-" + id.substr(0, 8) + n.extension().string());
    }
    const std::string tmp = dst.string() + ".partial";
    if (r.moveSource) {
        fs::rename(r.source, tmp, ec);
        if (ec) {  // another file system: copy
            ec.clear();
            fs::copy_file(r.source, tmp, fs::copy_options::overwrite_existing, ec);
            if (!ec) fs::remove(r.source, ec), ec.clear();
        }
    } else {
        fs::copy_file(r.source, tmp, fs::copy_options::overwrite_existing, ec);
    }
    if (ec) {
        fs::remove(tmp, ec);
        return makeError(Errc::io, "file", "cannot keep the original as '" + dst.string() + "': " + ec.message());
    }
    if (auto st = fsyncFile(tmp); !st) {
        fs::remove(tmp, ec);
        return st.error();
    }
    fs::rename(tmp, dst, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return makeError(Errc::io, "file", "cannot keep the original as '" + dst.string() + "': " + ec.message());
    }
    fsyncDir(dir);
    created = true;
    return dst.string();
}

}  // namespace

std::string formatName(int f) {
    std::string container = "audio", encoding;
    if (sf_command(nullptr, SFC_GET_FORMAT_MAJOR_COUNT, nullptr, 0) > 0) {
        int n = 0;
        sf_command(nullptr, SFC_GET_FORMAT_MAJOR_COUNT, &n, sizeof n);
        for (int i = 0; i < n; ++i) {
            SF_FORMAT_INFO m{};
            m.format = i;
            if (sf_command(nullptr, SFC_GET_FORMAT_MAJOR, &m, sizeof m) == 0 && m.format == (f & SF_FORMAT_TYPEMASK)) {
                container = m.extension ? m.extension : container;
                break;
            }
        }
    }
    for (auto& c : container) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    switch (f & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8: encoding = "8-bit"; break;
    case SF_FORMAT_PCM_16: encoding = "16-bit"; break;
    case SF_FORMAT_PCM_24: encoding = "24-bit"; break;
    case SF_FORMAT_PCM_32: encoding = "32-bit"; break;
    case SF_FORMAT_FLOAT: encoding = "32-bit float"; break;
    case SF_FORMAT_DOUBLE: encoding = "64-bit float"; break;
    case SF_FORMAT_VORBIS: encoding = "Vorbis"; break;
    case SF_FORMAT_OPUS: encoding = "Opus"; break;
    case SF_FORMAT_MPEG_LAYER_III: encoding = "MP3"; break;
    case SF_FORMAT_ULAW: encoding = "u-law"; break;
    case SF_FORMAT_ALAW: encoding = "A-law"; break;
    default: encoding = "encoded"; break;
    }
    if ((f & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAVEX) container = "WAV (extensible)";
    if ((f & SF_FORMAT_TYPEMASK) == SF_FORMAT_OGG) container = "OGG";
    if ((f & SF_FORMAT_TYPEMASK) == SF_FORMAT_RF64) container = "RF64";
    if ((f & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG) container = "MPEG";
    return container + ", " + encoding;
}

Status writeFloatWav(const std::string& path, const AudioData& a) {
    SF_INFO info{};
    info.samplerate = a.sampleRate;
    info.channels = a.channels;
    const bool big = static_cast<double>(a.samples.size()) * sizeof(float) > 4.0e9;
    info.format = (big ? SF_FORMAT_RF64 : SF_FORMAT_WAV) | SF_FORMAT_FLOAT;
    const std::string tmp = path + ".partial";
    {
        SndfilePtr f(sf_open(tmp.c_str(), SFM_WRITE, &info));
        if (!f) return makeError(Errc::io, "file", "cannot write '" + path + "': " + sf_strerror(nullptr));
        if (sf_writef_float(f.get(), a.samples.data(), a.frames) != a.frames) {
            f.reset();
            std::remove(tmp.c_str());
            return makeError(Errc::io, "file", "short write to '" + path + "' (disk full?)");
        }
    }
    if (auto st = fsyncFile(tmp); !st) return st;
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        return makeError(Errc::io, "file", "cannot rename '" + tmp + "' into place");
    }
    fsyncDir(fs::path(path).parent_path());
    return {};
}

Result<Imported> importFile(const ImportRequest& r, const Progress& progress) {
    const auto t0 = std::chrono::steady_clock::now();
    auto step = [&](double f) { return !progress || progress(f); };
    const std::string name = r.name.empty() ? fs::path(r.source).filename().string() : r.name;
    std::error_code ec;
    const auto size = fs::file_size(r.source, ec);
    if (ec) return refuse(name, "cannot be read: " + ec.message());
    if (size == 0) return refuse(name, "is empty (0 bytes)");
    if (r.rate < 8000 || r.rate > 384000) return makeError(Errc::bad_request, "rate", "the engine rate is unknown");

    SF_INFO info{};
    SndfilePtr f(sf_open(r.source.c_str(), SFM_READ, &info));
    if (!f) return refuse(name, std::string("is not audio this box reads (") + sf_strerror(nullptr) + ")");
    if (info.channels < 1 || info.channels > 8)
        return refuse(name, "has " + std::to_string(info.channels) + " channels (1 to 8 are supported)");
    if (info.frames <= 0) return refuse(name, "holds no audio");
    const bool mpeg = (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG;
    if (logSaysTruncated(f.get()))
        return refuse(name, "is truncated: its header declares more audio than the file holds");

    Imported out;
    out.name = name;
    out.format = formatName(info.format);
    out.sourceRate = info.samplerate;
    out.sourceChannels = info.channels;
    out.rate = r.rate;

    // The content hash of the original, on another thread while decoding.
    auto hashing = std::async(std::launch::async, [src = r.source] { return sha256File(src); });

    AudioData a;
    a.sampleRate = info.samplerate;
    a.channels = info.channels;
    const std::size_t ch = static_cast<std::size_t>(info.channels);
    // An MP3's frame count is an estimate from its size: a little slack.
    const sf_count_t declared = info.frames;
    // The decoded file and its resampled copy are both held in memory while
    // converting: a file whose decoded audio would pass 2 GiB is refused
    // before anything is allocated (93 minutes of stereo at 48 kHz).
    const double decodedBytes = static_cast<double>(declared) * static_cast<double>(ch) * sizeof(float) *
                                std::max(1.0, static_cast<double>(r.rate) / info.samplerate);
    if (decodedBytes > kMaxDecodedBytes) {
        hashing.wait();
        return refuse(name, "is too long to import: " + std::to_string(static_cast<long long>(declared / info.samplerate / 60)) +
                                " minutes of " + std::to_string(info.channels) + " channels (at most 2 GiB of decoded audio)");
    }
    try {
        a.samples.resize(static_cast<std::size_t>(declared + (mpeg ? 4096 : 0)) * ch);
    } catch (const std::bad_alloc&) {
        hashing.wait();
        return makeError(Errc::unavailable, "file", "'" + name + "': not enough memory to decode it");
    }
    sf_count_t got = 0;
    const sf_count_t block = 65536;
    for (;;) {
        sf_count_t want = std::min<sf_count_t>(block, static_cast<sf_count_t>(a.samples.size() / ch) - got);
        if (want <= 0) {
            if (!mpeg || static_cast<double>(a.samples.size()) * sizeof(float) > kMaxDecodedBytes) break;
            try {
                a.samples.resize(a.samples.size() + static_cast<std::size_t>(block) * ch);  // an estimate that fell short
            } catch (const std::bad_alloc&) {
                hashing.wait();
                return makeError(Errc::unavailable, "file", "'" + name + "': not enough memory to decode it");
            }
            want = block;
        }
        const sf_count_t n = sf_readf_float(f.get(), a.samples.data() + static_cast<std::size_t>(got) * ch, want);
        if (n <= 0) break;
        got += n;
        if (!step(0.3 * std::min(1.0, static_cast<double>(got) / static_cast<double>(declared)))) {
            hashing.wait();
            return makeError(Errc::conflict, "cancelled", "the import was cancelled");
        }
    }
    const int err = sf_error(f.get());
    f.reset();
    if (err != SF_ERR_NO_ERROR) {
        hashing.wait();
        return refuse(name, std::string("is corrupt or truncated: ") + sf_error_number(err) + " after " +
                                std::to_string(got) + " of " + std::to_string(declared) + " frames");
    }
    if (got == 0) {
        hashing.wait();
        return refuse(name, "holds no audio that decodes");
    }
    if (!mpeg && got < declared) {
        hashing.wait();
        return refuse(name, "is truncated: " + std::to_string(got) + " of the " + std::to_string(declared) +
                                " frames its header declares decode");
    }
    a.frames = got;
    a.samples.resize(static_cast<std::size_t>(got) * ch);
    a.samples.shrink_to_fit();
    out.sourceFrames = got;
    out.secondsDecode = since(t0);

    // The analysis reads the decoded audio at its own rate (levels, loudness
    // and tempo do not depend on it) while the resampler makes the copy at
    // the engine's rate: the two run side by side.
    std::atomic<double> analysed{0.0};
    std::atomic<bool> cancelled{false};
    auto t3 = std::chrono::steady_clock::now();
    auto analysing = std::async(std::launch::async, [&a, &analysed, &cancelled, t3, &out] {
        auto res = analyse(a, {}, [&](double fr) {
            analysed = fr;
            return !cancelled.load();
        });
        out.secondsAnalyse = since(t3);
        return res;
    });
    auto finish = [&](Error e) {
        cancelled = true;
        analysing.wait();
        hashing.wait();
        return e;
    };
    auto t1 = std::chrono::steady_clock::now();
    AudioData converted;
    const AudioData* play = &a;
    if (a.sampleRate != r.rate) {
        auto res = resample(a, r.rate);
        if (!res) return finish(res.error());
        converted = std::move(*res);
        play = &converted;
    }
    out.secondsResample = since(t1);
    auto hash = hashing.get();
    if (!hash) return finish(hash.error());
    out.id = *hash;
    out.originalBytes = static_cast<std::int64_t>(size);
    if (!step(0.3 + 0.15 * analysed.load())) return finish(makeError(Errc::conflict, "cancelled", "the import was cancelled"));

    // The converted file is written (and hashed) while the analysis ends.
    fs::create_directories(r.targetDir, ec);
    if (ec) return finish(makeError(Errc::io, "file", "cannot make '" + r.targetDir + "': " + ec.message()));
    const fs::path stem = fs::path(name).stem();
    // Named by the content and the rate: the same original imported again
    // finds its converted file already there (written whole, through a
    // rename) and it is kept as it is; a failure now never removes a file
    // that was there before.
    out.file = (fs::path(r.targetDir) / (stem.string() + "-" + out.id.substr(0, 8) + "-" + std::to_string(r.rate) + ".wav")).string();
    const bool existed = fs::exists(out.file, ec);
    out.createdFile = !existed;
    auto t2 = std::chrono::steady_clock::now();
    auto writing = std::async(std::launch::async, [play, &out, t2, existed]() -> Status {
        if (!existed)
            if (auto st = writeFloatWav(out.file, *play); !st) return st;
        std::uint64_t bytes = 0;
        auto h = sha256File(out.file, &bytes);
        if (!h) return h.error();
        out.fileSha256 = *h;
        out.fileBytes = static_cast<std::int64_t>(bytes);
        out.secondsWrite = since(t2);
        return {};
    });
    // Progress while the analysis finishes (it reports on its own thread).
    while (analysing.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
        if (!step(0.45 + 0.45 * analysed.load())) cancelled = true;
    auto analysis = analysing.get();
    out.secondsReady = since(t0);
    Status written = writing.get();
    // A cancel that came too late to stop the analysis still cancels.
    if (!cancelled && !step(0.9)) cancelled = true;
    if (!analysis || !written || cancelled) {
        if (out.createdFile) std::remove(out.file.c_str());
        if (cancelled) return makeError(Errc::conflict, "cancelled", "the import was cancelled");
        return !written ? written.error() : analysis.error();
    }
    out.analysis = std::move(*analysis);
    // The analysis saw the source rate; the record describes what plays.
    out.analysis.sampleRate = play->sampleRate;
    out.analysis.frames = play->frames;
    auto original = keepOriginal(r, name, out.id, out.createdOriginal);
    if (!original) {
        if (out.createdFile) std::remove(out.file.c_str());
        return original.error();
    }
    out.original = *original;
    step(1.0);
    return out;
}

}  // namespace cuebox::media
