// The engine process's control thread: serves the IPC socket, turns commands
// into engine commands, builds clip tables from the store off the RT thread,
// and sends events and live state back to cuebox-web. Never touches the
// network; never blocks the RT thread (it only talks to it through the
// engine's lock-free queues).
#pragma once

#include "app/ClipLoader.h"
#include "app/TimeSources.h"
#include "engine/Engine.h"
#include "engine/jack/JackDriver.h"
#include "ipc/Socket.h"
#include "media/AudioFile.h"
#include "store/Store.h"

#include <atomic>
#include <chrono>
#include <array>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <optional>
#include <string>
#include <vector>

namespace cuebox::app {

// The engine's mix configuration for a show's audio configuration.
engine::MixConfig mixConfig(const model::AudioConfig& a, int outputs);

struct EngineServiceOptions {
    std::string dataDir;
    std::string socketPath;
    // Clips longer than this stream from disk. Unset: the show's
    // voices.stream_above_s setting; set (--stream-above, CUEBOX_STREAM_ABOVE_S)
    // it overrides the show.
    std::optional<double> streamAboveS;
};

class EngineService {
public:
    EngineService(EngineServiceOptions o, engine::Engine& e, engine::JackDriver& jack);
    ~EngineService();
    // Runs until `stop` becomes true or JACK shuts the client down.
    Status run(const std::atomic<bool>& stop);

private:
    using Clock = std::chrono::steady_clock;
    struct Client {
        ipc::Connection conn;
        bool greeted = false;
    };
    struct Pending {
        int fd = -1;
        boost::json::value webReq;
        std::string op;
    };

    void accept();
    void serve(Client& c);
    void handleFrame(Client& c, const ipc::Frame& f);
    void handleCommand(Client& c, const boost::json::object& body);
    void drainEvents();
    void reply(int fd, const boost::json::object& body);
    void broadcast(ipc::MsgType t, const boost::json::object& body);
    void refreshShow(bool force);
    boost::json::object liveState();
    boost::json::object engineStatus() const;
    boost::json::object meters();
    bool clipSounding(std::uint64_t clip) const;

    EngineServiceOptions opt_;
    engine::Engine& engine_;
    // Time sources: LTC from cuebox:ltc_in (decoded here), MTC and MIDI
    // clock from cuebox:sync_in_1..4, PTP from ptp4l; the arbiter; quantized
    // and timecode-triggered starts.
    std::unique_ptr<TimeSources> time_;
    std::vector<float> ltcBlock_;
    void serviceTime();
    boost::json::object ltcLive() const;
    struct ClipTiming {
        std::string quantize;  // "" = the show's
        int group = 0;
        std::string timecode;  // trigger ("" = none)
        bool fired = false;    // its timecode passed (re-armed when the time goes back before it)
    };
    std::map<std::uint64_t, ClipTiming> timing_;
    std::string ltcPort_;
    int audioCpu_ = -1;      // emergency.audio_cpu applied
    std::string cpuError_;   // why it could not be applied
    std::array<std::string, 4> syncPorts_;
    void postTimecodeStart(std::uint64_t clip, std::uint64_t frame, const std::string& source);
    engine::JackDriver& jack_;
    std::vector<std::string> midiAllow_;  // JACK port patterns allowed on cuebox:midi_in ([] = any)
    void checkMidiSources();
    ClipLoader loader_;
    std::unique_ptr<store::Store> store_;
    std::uint64_t revision_ = 0;
    bool haveShow_ = false;
    std::vector<model::ClipId> missing_;
    std::unique_ptr<engine::ClipTable> unpublished_;
    std::unique_ptr<engine::MixConfig> unpublishedMix_;

    int listenFd_ = -1;
    std::vector<std::unique_ptr<Client>> clients_;
    std::map<std::uint32_t, Pending> pending_;
    std::uint32_t nextReq_ = 1;
    Clock::time_point lastStoreCheck_{};
    Clock::time_point lastState_{};
    std::uint64_t lastXruns_ = 0;
    std::uint64_t lastUnderruns_ = 0;
    std::thread disk_;
    std::atomic<bool> diskStop_{false};
    void diskLoop();
    bool serviceRecorder(int rec);
    struct Take {
        int rec = 0;
        std::string file;  // relative to the data folder
        std::int64_t frames = 0;
        std::uint64_t overruns = 0;
        std::string error;
        bool done = false;  // false: started
    };
    std::array<media::WavWriter, engine::kRecorders> writers_;  // disk thread
    std::mutex takesMutex_;  // disk thread -> control thread
    std::vector<Take> takes_;
    bool testHooks_ = false;
    std::array<std::string, engine::kBusses> lastUsed_;  // ISO time a voice last started on each bus
    std::deque<std::string> dropouts_;                  // ISO times of the last xruns
};

}  // namespace cuebox::app
