#include "ipc/Socket.h"

#include <CppUTest/TestHarness.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

using namespace cuebox;
using namespace cuebox::ipc;

TEST_GROUP(IpcSocket){};

TEST(IpcSocket, framesCrossAUnixSocketAndEofIsReported) {
    char tmpl[] = "/tmp/cuebox-ipc-XXXXXX";
    CHECK(mkdtemp(tmpl) != nullptr);
    std::string path = std::string(tmpl) + "/engine.sock";
    auto lfd = listenUnix(path);
    CHECK(lfd.ok());
    auto cfd = connectUnix(path);
    CHECK(cfd.ok());
    pollfd p{*lfd, POLLIN, 0};
    CHECK(::poll(&p, 1, 1000) == 1);
    int sfd = ::accept(*lfd, nullptr, nullptr);
    CHECK(sfd >= 0);

    Connection client(*cfd), server(sfd);
    CHECK(client.send(MsgType::hello, {{"role", "web"}}).ok());
    pollfd q{server.fd(), POLLIN, 0};
    CHECK(::poll(&q, 1, 1000) == 1);
    CHECK(server.receive().ok());
    auto f = server.next();
    CHECK(f.ok() && f->has_value());
    STRCMP_EQUAL("web", (*f)->body.at("role").as_string().c_str());

    client.close();
    CHECK(::poll(&q, 1, 1000) == 1);
    CHECK_FALSE(server.receive().ok());
    ::close(*lfd);
    ::unlink(path.c_str());
    ::rmdir(tmpl);
}
