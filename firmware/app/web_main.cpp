// cuebox-web: HTTP, WebSocket and every edit; unprivileged. Talks to
// cuebox-engine over a UNIX socket. See ARCHITECTURE.md.
#include "base/Log.h"
#include "web/OpenApi.h"
#include "web/WebService.h"

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <string>

using namespace cuebox;

int main(int argc, char** argv) {
    web::WebOptions o;
    // The field-update options may also come from the environment (a test
    // stack started through scripts/run); the command line wins.
    auto env = [](const char* name, std::string& into) {
        if (const char* v = std::getenv(name); v && *v) into = v;
    };
    env("CUEBOX_RAUC", o.firmware.rauc);
    env("CUEBOX_RAUC_CONF", o.firmware.raucConf);
    env("CUEBOX_RELEASE", o.firmware.release);
    env("CUEBOX_REBOOT_REQUEST", o.firmware.rebootRequest);
    env("CUEBOX_IMAGE_KEYRING", o.firmware.imageKeyring);
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--data") o.dataDir = next();
        else if (a == "--webui") o.webuiDir = next();
        else if (a == "--socket") o.socketPath = next();
        else if (a == "--bind") o.bind = next();
        else if (a == "--port") o.port = static_cast<unsigned short>(std::stoi(next()));
        else if (a == "--demo") o.demo = true;
        else if (a == "--osc-port") o.oscPort = std::stoi(next());
        else if (a == "--rauc") o.firmware.rauc = next();
        else if (a == "--rauc-conf") o.firmware.raucConf = next();
        else if (a == "--release") o.firmware.release = next();
        else if (a == "--image-keyring") o.firmware.imageKeyring = next();
        else if (a == "--reboot-request") o.firmware.rebootRequest = next();
        else if (a == "--routes") {
            // The HTTP route table as JSON (test/integration/test_openapi.py).
            std::printf("%s\n", web::routesJson().c_str());
            return 0;
        }
        else {
            std::fprintf(stderr,
                         "usage: cuebox-web --data DIR --webui DIR [--socket PATH] [--bind ADDR] [--port N] [--osc-port N] [--demo]\n"
                         "                  [--rauc PATH] [--rauc-conf FILE] [--release FILE] [--reboot-request FILE] [--image-keyring DIR] | --routes\n");
            return 2;
        }
    }
    if (o.dataDir.empty() || o.webuiDir.empty()) {
        std::fprintf(stderr, "cuebox-web: --data and --webui are required\n");
        return 2;
    }
    if (o.socketPath.empty()) o.socketPath = o.dataDir + "/engine.sock";
    std::signal(SIGPIPE, SIG_IGN);
    if (auto st = web::runWeb(o); !st) {
        log::error("web", st.error().reason);
        return 1;
    }
    return 0;
}
