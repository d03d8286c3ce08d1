// cuebox-engine: the audio process. JACK client with a SCHED_FIFO process
// thread; owns voices, busses and clocks; no network. See ARCHITECTURE.md.
#include "app/EngineService.h"
#include "base/Log.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <sys/resource.h>
#include <unistd.h>

using namespace cuebox;

namespace {
std::atomic<bool> g_stop{false};
void onSignal(int) { g_stop.store(true); }

void usage() {
    std::fprintf(stderr,
                 "usage: cuebox-engine --data DIR [--socket PATH] [--client NAME] [--server NAME] [--outputs N] [--stream-above SECONDS] [--no-connect]\n");
}
}  // namespace

int main(int argc, char** argv) {
    app::EngineServiceOptions o;
    engine::JackOptions jo;
    if (const char* s = std::getenv("JACK_DEFAULT_SERVER")) jo.serverName = s;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--data") o.dataDir = next();
        else if (a == "--socket") o.socketPath = next();
        else if (a == "--client") jo.clientName = next();
        else if (a == "--server") jo.serverName = next();
        else if (a == "--no-connect") jo.connectOutputs = false;
        else if (a == "--outputs") jo.outputs = std::atoi(next().c_str());
        else if (a == "--stream-above") o.streamAboveS = std::atof(next().c_str());
        else {
            usage();
            return 2;
        }
    }
    if (o.dataDir.empty()) {
        usage();
        return 2;
    }
    if (o.socketPath.empty()) o.socketPath = o.dataDir + "/engine.sock";
    if (const char* s = std::getenv("CUEBOX_STREAM_ABOVE_S")) o.streamAboveS = std::atof(s);
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    std::signal(SIGPIPE, SIG_IGN);

    auto jack = engine::JackDriver::open(jo);
    if (!jack) {
        log::error("engine", jack.error().reason);
        return 1;
    }
    if (jo.outputs < 1 || jo.outputs > engine::kMaxOutputs) {
        log::error("engine", "--outputs must be from 1 to " + std::to_string(engine::kMaxOutputs));
        return 2;
    }
    engine::Engine eng(engine::Config{(*jack)->sampleRate(), 5, 1000, jo.outputs});
    // Lock memory so the RT thread never page-faults: everything now and, when
    // the limit allows it, everything allocated later (media buffers).
    rlimit rl{};
    getrlimit(RLIMIT_MEMLOCK, &rl);
    const bool unlimited = ::geteuid() == 0 || rl.rlim_cur == RLIM_INFINITY;
    if (mlockall(MCL_CURRENT | (unlimited ? MCL_FUTURE : 0)) != 0)
        log::warn("engine", std::string("mlockall failed: ") + std::strerror(errno));
    if (auto st = (*jack)->start(eng); !st) {
        log::error("engine", st.error().reason);
        return 1;
    }
    log::info("engine", "JACK client '" + (*jack)->clientName() + "' at " + std::to_string((*jack)->sampleRate()) +
                            " Hz, period " + std::to_string((*jack)->bufferSize()));

    app::EngineService svc(o, eng, **jack);
    // Report the scheduling the process thread really got once it has run.
    std::atomic<bool> reported{false};
    std::thread reporter([&] {
        for (int i = 0; i < 50 && !g_stop && !reported; ++i) {
            usleep(20000);
            auto s = (*jack)->sched();
            if (!s.policy.empty()) {
                log::info("engine", "process thread scheduling: " + s.policy + " priority " + std::to_string(s.priority));
                reported = true;
            }
        }
    });
    Status st = svc.run(g_stop);
    // Shutting down must not hang: a JACK client whose server is already gone
    // can block in deactivate/close. SIGALRM's default action ends us.
    alarm(3);
    reporter.join();
    if (!(*jack)->shutDown()) (*jack)->stop();
    if (!st) {
        log::error("engine", st.error().reason);
        return 1;
    }
    return 0;
}
