#include "web/EngineLink.h"

#include <CppUTest/TestHarness.h>

#include <boost/asio/io_context.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

using namespace cuebox;

namespace {
// Waits up to `ms` for a connection on the listening socket; -1 if none came.
int acceptWithin(int listener, int ms) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return -1;
    return ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
}
}  // namespace

TEST_GROUP(EngineLink) {
    std::string dir;
    int listener = -1;
    void setup() override {
        char tmpl[] = "/tmp/cuebox-link-XXXXXX";
        dir = mkdtemp(tmpl);
        auto fd = ipc::listenUnix(dir + "/engine.sock");
        CHECK_TRUE(static_cast<bool>(fd));
        listener = *fd;
    }
    void teardown() override {
        ::close(listener);
        std::filesystem::remove_all(dir);
    }
};

// A send that fails (the engine went away while cuebox-web was sending a
// reload) must not leave the link believing it is connected: it reconnects
// as soon as the engine listens again. The engine's side stops reading
// without hanging up, so only the failed send can reveal the loss.
TEST(EngineLink, a_failed_send_rebuilds_the_link) {
    boost::asio::io_context io;
    web::EngineLink link(io, dir + "/engine.sock");
    link.start();
    int first = acceptWithin(listener, 3000);
    CHECK_TRUE(first >= 0);
    for (int i = 0; i < 300 && !link.connected(); ++i) ::usleep(10000);
    CHECK_TRUE(link.connected());
    ::shutdown(first, SHUT_RD);  // the engine's end: no more reading; sends now fail with EPIPE
    link.reload(7);
    int second = acceptWithin(listener, 3000);
    CHECK_TRUE_TEXT(second >= 0, "the link did not reconnect after a failed send");
    link.stop();
    ::close(first);
    if (second >= 0) ::close(second);
}
