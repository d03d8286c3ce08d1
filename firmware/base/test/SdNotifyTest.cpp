#include "base/SdNotify.h"

#include <CppUTest/TestHarness.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace cuebox;

namespace {
// A datagram socket bound where systemd's would be; `abstract` binds one in
// the abstract namespace ("@name" in NOTIFY_SOCKET).
int bindSocket(const std::string& name, bool abstract) {
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path + (abstract ? 1 : 0), name.data(), name.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (abstract ? 1 : 0));
    CHECK_EQUAL(0, ::bind(fd, reinterpret_cast<sockaddr*>(&a), len));
    return fd;
}
std::string receive(int fd) {
    char buf[256];
    const auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}
}  // namespace

TEST_GROUP(SdNotify) {
    void teardown() override {
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        ::unsetenv("WATCHDOG_PID");
    }
};

TEST(SdNotify, NothingWithoutASocket) {
    ::unsetenv("NOTIFY_SOCKET");
    CHECK_FALSE(sd::notify("READY=1"));
}

TEST(SdNotify, SendsToAPathSocket) {
    const std::string path = "/tmp/cuebox-sdnotify-" + std::to_string(::getpid());
    ::unlink(path.c_str());
    const int fd = bindSocket(path, false);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    CHECK_TRUE(sd::notify("READY=1"));
    STRCMP_EQUAL("READY=1", receive(fd).c_str());
    ::close(fd);
    ::unlink(path.c_str());
}

TEST(SdNotify, SendsToAnAbstractSocket) {
    const std::string name = "cuebox-sdnotify-abstract-" + std::to_string(::getpid());
    const int fd = bindSocket(name, true);
    ::setenv("NOTIFY_SOCKET", ("@" + name).c_str(), 1);
    CHECK_TRUE(sd::notify("WATCHDOG=1"));
    STRCMP_EQUAL("WATCHDOG=1", receive(fd).c_str());
    ::close(fd);
}

TEST(SdNotify, WatchdogIntervalIsOursOnly) {
    CHECK_EQUAL(0, sd::watchdogInterval().count());
    ::setenv("WATCHDOG_USEC", "5000000", 1);
    CHECK_EQUAL(5000000, sd::watchdogInterval().count());
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    CHECK_EQUAL(5000000, sd::watchdogInterval().count());
    ::setenv("WATCHDOG_PID", "1", 1);  // meant for another process
    CHECK_EQUAL(0, sd::watchdogInterval().count());
}
