// Unit tests of serve/memory: the arena cap leaves an operator's own setting alone, and the
// trimmer gives memory back only after work was done, and stops (joined) at once.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "serve/memory.h"

using namespace std::chrono_literals;
namespace memory = dsw::server::memory;

TEST_CASE("usable CPUs: at least one, at most what the affinity mask allows") {
  unsigned n = memory::usable_cpus();
  CHECK(n >= 1);
  CHECK(n <= std::thread::hardware_concurrency());
}

TEST_CASE("the arena cap is one per two CPUs, at most kMaxArenas, unless the operator set one") {
  ::unsetenv("MALLOC_ARENA_MAX");
  ::unsetenv("GLIBC_TUNABLES");
  int cap = memory::cap_arenas();
  CHECK(cap == static_cast<int>(std::min((memory::usable_cpus() + 1) / 2, memory::kMaxArenas)));
  CHECK(cap >= 1);

  ::setenv("MALLOC_ARENA_MAX", "8", 1);
  CHECK(memory::cap_arenas() == 0);
  ::unsetenv("MALLOC_ARENA_MAX");
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=3", 1);
  CHECK(memory::cap_arenas() == 0);
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);  // other tunables: capped
  CHECK(memory::cap_arenas() == cap);
  ::unsetenv("GLIBC_TUNABLES");
}

TEST_CASE("the trimmer trims only after work was done, once per interval") {
  std::atomic<std::uint64_t> work{0};
  memory::Trimmer t(20ms, [&] { return work.load(); });
  std::this_thread::sleep_for(150ms);
  CHECK(t.trims() == 0);  // nothing done: nothing to give back

  work = 1;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (t.trims() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  CHECK(t.trims() == 1);
  std::this_thread::sleep_for(150ms);
  CHECK(t.trims() == 1);  // no more work since
}

TEST_CASE("stop() ends the trimmer's thread at once, whatever its interval") {
  auto t0 = std::chrono::steady_clock::now();
  {
    memory::Trimmer t(std::chrono::hours(1), [] { return std::uint64_t{0}; });
    t.stop();
    t.stop();  // twice is fine; the destructor stops it a third time
  }
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}
