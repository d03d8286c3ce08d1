// systemd's service notification protocol, written here (no libsystemd):
// READY=1 and WATCHDOG=1 datagrams to $NOTIFY_SOCKET. Without that variable
// (not started by systemd) every call does nothing. Not for the RT thread.
#pragma once

#include <chrono>
#include <string_view>

namespace cuebox::sd {

// Sends one notification ("READY=1", "WATCHDOG=1", "STATUS=..."); false when
// there is no socket or the send failed.
bool notify(std::string_view state);

// The watchdog interval systemd asked for (WatchdogSec=, from
// $WATCHDOG_USEC when $WATCHDOG_PID is ours or absent); zero when none.
std::chrono::microseconds watchdogInterval();

}  // namespace cuebox::sd
