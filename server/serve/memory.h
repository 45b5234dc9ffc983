// How `serve` keeps its memory flat: a cap on glibc's malloc arenas, set once at start-up.
//
// cpp-httplib serves each connection on a thread of its own (task_queue.h), and glibc gives each
// thread that allocates under contention an arena of its own, up to 8 per CPU of the machine.
// Memory freed in an arena stays there for that arena's later use, so a server with many threads
// holds the high-water mark of each of many arenas, and a burst of connections (or a few large
// reviews landing on different threads) raises the total step by step. With one arena per usable
// CPU (at most kMaxArenas), what is held is bounded by the arenas, not by the connections: the
// threads share them, and at most as many run at once as there are CPUs.
//
// glibc's per-thread cache (tcache) is left at its default (7 blocks per size): raising it, as
// the image once did with GLIBC_TUNABLES=glibc.malloc.tcache_count=256, keeps up to 256 freed
// blocks per size in every thread, so memory grew with the number of threads that had served a
// review (docs/reliability.md has the measurements).
#pragma once

namespace dsw::server::memory {

inline constexpr unsigned kMaxArenas = 4;

// The CPUs this process may use: its affinity mask, lowered to its cgroup's CPU quota (cgroup v2
// cpu.max or v1 cpu.cfs_quota_us), rounded up; at least 1.
unsigned usable_cpus();

// Caps glibc's malloc arenas with mallopt(M_ARENA_MAX): one per usable CPU, at most kMaxArenas.
// Call before any thread starts. An operator's own setting (GLIBC_TUNABLES with
// glibc.malloc.arena_max, or MALLOC_ARENA_MAX) wins and is left alone. Returns the cap set, or 0
// when the operator's is in force.
int cap_arenas();

}  // namespace dsw::server::memory
