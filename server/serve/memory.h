// How `serve` keeps its memory flat: a cap on glibc's malloc arenas, set once at start-up.
//
// cpp-httplib serves each connection on a thread of its own (task_queue.h), and glibc gives each
// thread that allocates under contention an arena of its own, up to 8 per CPU of the machine.
// Memory freed in an arena stays there for that arena's later use, so a server with many threads
// holds the high-water mark of each of many arenas, and a burst of connections (or a few large
// reviews landing on different threads) raises the total step by step. With one arena per two
// usable CPUs (at most kMaxArenas), what is held is bounded by the arenas, not by the
// connections: the threads share them. Sharing has a price, though at most as many threads run
// at once as there are CPUs and glibc's per-thread cache serves most small allocations without
// the arena's lock: measured on 2 CPUs (docs/performance.md), one arena costs 7-10%
// more CPU per review under concurrency than glibc's default of 8 per CPU (62-73 us against
// 57-64 us at concurrency 8 and 64), and two arenas left the memory at rest up to 10% higher at
// the end of the soak than after its warm-up where one keeps it within 2.5%. Flat memory is
// what the chart's limit relies on, so one per two CPUs; MALLOC_ARENA_MAX buys the CPU back.
//
// Within each arena, memory freed in the middle of its heap stays resident (glibc gives back only
// the top of a heap on its own): a large review (hundreds of KiB of body and many MiB of parsed
// document) leaves its pages in whichever arena served it. The Trimmer gives them back with
// malloc_trim(0) once a second after work was done, so what the server holds between reviews is
// what it uses, not the high-water mark of each arena.
//
// glibc's per-thread cache (tcache) is left at its default (7 blocks per size): raising it, as
// the image once did with GLIBC_TUNABLES=glibc.malloc.tcache_count=256, keeps up to 256 freed
// blocks per size in every thread, so memory grew with the number of threads that had served a
// review (docs/reliability.md has the measurements).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace dsw::server::memory {

inline constexpr unsigned kMaxArenas = 4;

// The CPUs this process may use: its affinity mask, lowered to its cgroup's CPU quota (cgroup v2
// cpu.max or v1 cpu.cfs_quota_us), rounded up; at least 1.
unsigned usable_cpus();

// Caps glibc's malloc arenas with mallopt(M_ARENA_MAX): one per two usable CPUs (rounded up), at
// most kMaxArenas.
// Call before any thread starts. An operator's own setting (GLIBC_TUNABLES with
// glibc.malloc.arena_max, or MALLOC_ARENA_MAX) wins and is left alone. Returns the cap set, or 0
// when the operator's is in force.
int cap_arenas();

// Gives memory the process has freed back to the system (malloc_trim(0): the free pages inside
// every arena, not only at a heap's top), at most once per `interval` and only when `work` (a
// counter of work done, such as responses written) has moved since the last time. A thread of
// its own, joined by stop() or the destructor.
class Trimmer {
 public:
  Trimmer(std::chrono::milliseconds interval, std::function<std::uint64_t()> work);
  ~Trimmer();
  Trimmer(const Trimmer&) = delete;
  Trimmer& operator=(const Trimmer&) = delete;

  void stop();
  // How many times it trimmed (for tests).
  std::uint64_t trims() const;

 private:
  std::chrono::milliseconds interval_;
  std::function<std::uint64_t()> work_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::uint64_t trims_ = 0;
  std::thread thread_;
};

}  // namespace dsw::server::memory
