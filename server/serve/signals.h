// The stop signals of a long-running command (`serve`, `audit`), taken by one thread of its own.
#pragma once

#include <signal.h>

namespace dsw::server::signals {

// Ignores SIGPIPE (a peer that goes away while we write must not end the process) and blocks
// SIGTERM and SIGINT in the calling thread, so that every thread it starts inherits the mask and
// only the thread that waits for them with sigwait() sees them. Call before any thread starts;
// returns the set to wait on.
sigset_t take_stop_signals();

}  // namespace dsw::server::signals
