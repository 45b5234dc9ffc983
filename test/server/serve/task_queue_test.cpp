// Unit tests of serve/task_queue: cpp-httplib's connections run on it, one task per connection
// for the connection's whole life, so a task that blocks (an idle keep-alive connection) must
// never keep a new one waiting while there is room for another thread.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <filesystem>
#include <thread>

#include "serve/task_queue.h"

using dsw::server::ElasticTaskQueue;
using namespace std::chrono_literals;

namespace {

// A gate that blocked tasks wait on, like idle keep-alive connections waiting for a request.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return open; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

}  // namespace

TEST_CASE("200 blocked tasks do not keep a new one waiting") {
  ElasticTaskQueue::Limits limits;
  limits.min_threads = 4;
  limits.max_threads = 1024;
  std::atomic<int> after{0};
  ElasticTaskQueue q(limits, [&] { ++after; }, nullptr);
  Gate gate;
  std::atomic<int> started{0};
  for (int i = 0; i < 200; ++i) {
    q.enqueue([&] {
      ++started;
      gate.wait();
    });
  }
  std::promise<void> ran;
  auto t0 = std::chrono::steady_clock::now();
  q.enqueue([&] { ran.set_value(); });
  auto f = ran.get_future();
  CHECK(f.wait_for(5s) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(q.threads() >= 201);
  gate.release();
  q.shutdown();
  CHECK(started == 200);
  CHECK(after == 201);  // the after-task hook ran once per task
  CHECK(q.threads() == 0);
}

TEST_CASE("beyond the cap, tasks wait in the queue and run in turn") {
  ElasticTaskQueue::Limits limits;
  limits.min_threads = 0;
  limits.max_threads = 3;
  ElasticTaskQueue q(limits, nullptr, nullptr);
  Gate gate;
  std::atomic<int> running{0}, peak{0}, done{0};
  for (int i = 0; i < 10; ++i) {
    q.enqueue([&] {
      int now = ++running;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      gate.wait();
      --running;
      ++done;
    });
  }
  // Wait (bounded) until the cap is reached; a loaded machine or a sanitizer build may take a
  // while to start three threads. Then give the queue time to (wrongly) start a fourth.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (running.load() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);
  CHECK(q.threads() == 3);
  CHECK(peak == 3);
  CHECK(done == 0);
  gate.release();
  q.shutdown();
  CHECK(done == 10);
}

TEST_CASE("threads above the minimum end after being idle") {
  ElasticTaskQueue::Limits limits;
  limits.min_threads = 2;
  limits.max_threads = 64;
  limits.idle_timeout = 50ms;
  ElasticTaskQueue q(limits, nullptr, nullptr);
  Gate gate;
  for (int i = 0; i < 20; ++i) q.enqueue([&] { gate.wait(); });
  std::this_thread::sleep_for(50ms);
  CHECK(q.threads() >= 20);
  gate.release();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (q.threads() > 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK(q.threads() == 2);
  q.shutdown();
}

TEST_CASE("a task that throws ends, is reported, and the queue goes on") {
  ElasticTaskQueue::Limits limits;
  limits.min_threads = 1;
  limits.max_threads = 1;  // the same thread must survive the exception
  std::string reported;
  std::mutex mu;
  ElasticTaskQueue q(
      limits, nullptr, [&](const char* what) {
        std::lock_guard<std::mutex> lock(mu);
        reported = what;
      });
  q.enqueue([] { throw std::runtime_error("bad request state"); });
  std::promise<void> ran;
  q.enqueue([&] { ran.set_value(); });
  CHECK(ran.get_future().wait_for(5s) == std::future_status::ready);
  q.shutdown();
  CHECK(reported == "bad request state");
}

namespace {

// Threads of this process, from /proc (a thread that has ended but is not joined still counts
// until it has run its thread-exit destructors).
std::size_t process_threads() {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    (void)e;
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("when shutdown() returns, every thread the queue started has ended, reaped ones too") {
  const std::size_t before = process_threads();
  {
    ElasticTaskQueue::Limits limits;
    limits.min_threads = 2;
    limits.max_threads = 64;
    limits.idle_timeout = 20ms;
    // Each task leaves a thread-exit destructor behind, as OpenSSL's per-thread state does: it
    // must have run when shutdown() returns.
    static std::atomic<int> destructed{0};
    struct ExitWork {
      ~ExitWork() {
        std::this_thread::sleep_for(5ms);
        ++destructed;
      }
    };
    destructed = 0;
    ElasticTaskQueue q(limits, nullptr, nullptr);
    Gate gate;
    for (int i = 0; i < 30; ++i) {
      q.enqueue([&] {
        thread_local ExitWork work;
        (void)work;
        gate.wait();
      });
    }
    gate.release();
    // Some threads are reaped after their idle time; the rest end at shutdown.
    std::this_thread::sleep_for(100ms);
    q.shutdown();
    CHECK(q.threads() == 0);
    CHECK(process_threads() == before);
    CHECK(destructed.load() >= 1);
    int seen = destructed.load();
    std::this_thread::sleep_for(50ms);
    CHECK(destructed.load() == seen);  // nothing left running to add to it
  }
  CHECK(process_threads() == before);
}

TEST_CASE("a task goes to the thread that became idle last, so a few threads do the work") {
  ElasticTaskQueue::Limits limits;
  limits.min_threads = 8;
  limits.max_threads = 64;
  ElasticTaskQueue q(limits, nullptr, nullptr);
  // A burst: 8 tasks at once, each on a thread of its own.
  Gate gate;
  std::atomic<int> started{0};
  for (int i = 0; i < 8; ++i) {
    q.enqueue([&] {
      ++started;
      gate.wait();
    });
  }
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (started < 8 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  REQUIRE(started == 8);
  gate.release();
  deadline = std::chrono::steady_clock::now() + 5s;
  while (q.idle_threads() < q.threads() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100us);
  CHECK(q.threads() >= 8);
  // Then one task at a time: every one runs on the same thread.
  std::set<std::thread::id> ran_on;
  for (int i = 0; i < 50; ++i) {
    std::promise<std::thread::id> id;
    q.enqueue([&] { id.set_value(std::this_thread::get_id()); });
    auto f = id.get_future();
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    ran_on.insert(f.get());
    // The next task only once every thread is idle again.
    deadline = std::chrono::steady_clock::now() + 5s;
    while (q.idle_threads() < q.threads() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(100us);
    REQUIRE(q.idle_threads() == q.threads());
  }
  CHECK(ran_on.size() == 1);
  q.shutdown();
}
