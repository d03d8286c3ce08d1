// The show lock: an operator mode in which only performing is possible
// (starting and stopping clips, group stops, panic, faders, switching pages)
// and every edit is refused with 423, on every tablet and over every
// protocol, until the PIN chosen when locking is entered. The state lives in
// the store (it survives restarts of either process); the PIN is kept only
// as a salted SHA-256. io thread only.
#pragma once

#include "base/Error.h"
#include "store/Store.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <string>

namespace cuebox::web {

class ShowLock {
public:
    explicit ShowLock(store::Store& store) : store_(store) {}
    // Reads the stored state (at start; a damaged record reads as unlocked
    // and is reported).
    Status load();
    bool locked() const { return locked_; }
    // {"locked", "since"?, "by"?}: what clients see (never the PIN).
    boost::json::object json() const;
    // Locks with a new PIN of 4-8 digits; 409 if already locked.
    Status lock(const std::string& pin, const store::Origin& origin);
    // Unlocks with the PIN; 403 `pin` when wrong. After 5 wrong PINs in a
    // row further tries are refused for 30 s (409 `pin`), so a PIN cannot be
    // guessed by trying all 10^4 at network speed.
    Status unlock(const std::string& pin, const store::Origin& origin);

private:
    Status save(const std::string& what, const store::Origin& origin);

    store::Store& store_;
    bool locked_ = false;
    std::string salt_, hash_, since_, by_;
    int failures_ = 0;
    std::chrono::steady_clock::time_point blockedUntil_{};
};

}  // namespace cuebox::web
