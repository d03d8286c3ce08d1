#include "base/Sha256.h"

#include <CppUTest/TestHarness.h>

#include <cstdio>
#include <unistd.h>

using namespace cuebox;

TEST_GROUP(Sha256){};

// FIPS 180-2 test vectors.
TEST(Sha256, knownVectors) {
    STRCMP_EQUAL("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", sha256Hex("").c_str());
    STRCMP_EQUAL("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", sha256Hex("abc").c_str());
}

TEST(Sha256, fileMatchesBytesAndReportsSize) {
    char path[] = "/tmp/cuebox-sha-XXXXXX";
    int fd = mkstemp(path);
    std::string data(200000, 'x');
    CHECK(write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
    close(fd);
    std::uint64_t n = 0;
    auto h = sha256File(path, &n);
    unlink(path);
    CHECK(h.ok());
    STRCMP_EQUAL(sha256Hex(data).c_str(), h->c_str());
    CHECK_EQUAL(200000u, n);
    CHECK_FALSE(sha256File("/nonexistent/file").ok());
}
