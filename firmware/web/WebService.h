// Wires cuebox-web: the store (writer), the demo show on first start, the
// engine link, the API and the HTTP/WebSocket server, on one io thread.
#pragma once

#include "base/Error.h"
#include "web/Firmware.h"

#include <string>

namespace cuebox::web {

struct WebOptions {
    std::string dataDir;
    std::string webuiDir;
    std::string socketPath;
    std::string bind = "0.0.0.0";
    unsigned short port = 8080;
    bool demo = false;  // create the demo show when the store has none
    int oscPort = 0;    // OSC UDP and TCP port; 0: the box's setting (GET /api/control)
    FirmwareOptions firmware;  // field updates through RAUC
};

// Runs until SIGINT/SIGTERM. Prints "cuebox-web listening on http://HOST:PORT/".
Status runWeb(const WebOptions& o);

}  // namespace cuebox::web
