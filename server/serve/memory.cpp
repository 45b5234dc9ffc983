#include "serve/memory.h"

#include <malloc.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

namespace dsw::server::memory {

namespace {

// The CPU quota of the cgroup, in CPUs (fractional), or 0 when there is none.
double cgroup_quota() {
  {
    std::ifstream f("/sys/fs/cgroup/cpu.max");  // v2: "max 100000" or "150000 100000"
    std::string quota;
    double period = 0;
    if (f >> quota >> period && quota != "max" && period > 0) {
      try {
        return std::stod(quota) / period;
      } catch (...) {
      }
    }
  }
  std::ifstream q("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");  // v1: -1 without a quota
  std::ifstream p("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  double quota = 0, period = 0;
  if (q >> quota && p >> period && quota > 0 && period > 0) return quota / period;
  return 0;
}

}  // namespace

unsigned usable_cpus() {
  unsigned n = 1;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = static_cast<unsigned>(CPU_COUNT(&set));
  double quota = cgroup_quota();
  if (quota > 0) n = std::min(n, static_cast<unsigned>(std::ceil(quota)));
  return std::max(n, 1u);
}

int cap_arenas() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr ||
      (tunables != nullptr && std::string(tunables).find("glibc.malloc.arena_max") != std::string::npos))
    return 0;
  int cap = static_cast<int>(std::min((usable_cpus() + 1) / 2, kMaxArenas));
  mallopt(M_ARENA_MAX, cap);
  return cap;
}

Trimmer::Trimmer(std::chrono::milliseconds interval, std::function<std::uint64_t()> work)
    : interval_(interval), work_(std::move(work)) {
  thread_ = std::thread([this] {
    std::uint64_t seen = work_();
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
      std::uint64_t now = work_();
      if (now == seen) continue;
      seen = now;
      lock.unlock();
      malloc_trim(0);
      lock.lock();
      ++trims_;
    }
  });
}

Trimmer::~Trimmer() { stop(); }

void Trimmer::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Trimmer::trims() const {
  std::lock_guard<std::mutex> lock(mu_);
  return trims_;
}

}  // namespace dsw::server::memory
