#include "store/Keys.h"

#include <CppUTest/TestHarness.h>

using cuebox::store::Key;

TEST_GROUP(Keys){};

TEST(Keys, byteOrderFollowsNumericOrder) {
    CHECK(Key().u64(1).u16(2).bytes() < Key().u64(1).u16(10).bytes());
    CHECK(Key().u64(255).bytes() < Key().u64(256).bytes());
    CHECK(Key().u64(1).u16(65535).bytes() < Key().u64(2).u16(0).bytes());
    auto k = Key().u64(0x0102030405060708ull).u16(0xabcd).bytes();
    CHECK(Key::readU64(k, 0) == 0x0102030405060708ull);
    LONGS_EQUAL(0xabcd, Key::readU16(k, 8));
}
