// The task queue cpp-httplib runs connections on: a thread per waiting connection, made on demand
// up to a cap, reaped after a minute of idleness, and joined: every thread the queue starts is
// joined by the queue (a reaped one by the next enqueue or by shutdown()), so that when
// shutdown() returns no thread of it is left running, not even its thread-exit destructors
// (OpenSSL's per-thread state among them, which must not race the process's exit).
//
// cpp-httplib 0.11.4 keeps a connection on one pool thread from accept to close, idle keep-alive
// time included. Its own ThreadPool has a fixed number of threads, so once that many keep-alive
// connections are open (the apiserver keeps up to 25 idle ones per instance, and a cluster may
// run three, plus probes and scrapes) every new connection waits until one of them closes. Here a
// connection never waits while fewer than `max_threads` are open; beyond that it waits in the
// queue.
//
// A new task goes to the thread that became idle last (a stack, not a queue of idle threads):
// the threads that serve are the ones that served a moment ago, warm in the CPU's caches and in
// glibc's per-thread cache of freed blocks, while the others stay cold and, above min_threads,
// are reaped. With a first-in first-out hand-off every thread in turn would take a share of the
// work and fill a per-thread cache of its own (docs/reliability.md, Soak).
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace dsw::server {

class ElasticTaskQueue final : public httplib::TaskQueue {
 public:
  struct Limits {
    std::size_t min_threads = 8;  // kept even when idle
    std::size_t max_threads = 1024;
    std::chrono::milliseconds idle_timeout{60000};  // a thread above min_threads idle this long ends
  };
  // `after_task` runs on the task's thread after each task (cpp-httplib has closed the
  // connection by then); `on_exception` is told of anything a task threw, which ends that task
  // but never the process.
  ElasticTaskQueue(Limits limits, std::function<void()> after_task,
                   std::function<void(const char* what)> on_exception);
  ~ElasticTaskQueue() override;

  void enqueue(std::function<void()> fn) override;
  // Lets every queued and running task finish, then ends and joins every thread.
  void shutdown() override;

  // Threads running (reaped ones not yet joined are not counted), and those of them waiting for
  // a task.
  std::size_t threads() const;
  std::size_t idle_threads() const;

 private:
  struct Worker {
    std::thread thread;
    std::condition_variable wake;
    std::function<void()> job;  // handed to it by enqueue() while it was idle
  };
  using WorkerSlot = std::list<Worker>::iterator;
  void spawn_locked(std::function<void()> first_job);
  void run(WorkerSlot self);
  // Joins the threads that have ended; called without the lock held.
  void join_ended();

  Limits limits_;
  std::function<void()> after_task_;
  std::function<void(const char*)> on_exception_;
  mutable std::mutex mu_;
  std::condition_variable done_cv_;
  std::deque<std::function<void()>> jobs_;  // waiting for a thread (all busy, at the cap)
  std::list<Worker> workers_;               // one per thread whose loop has not ended
  std::vector<Worker*> idle_;               // idle threads, the most recently idle last
  std::vector<std::thread> ended_;          // moved here by each thread as its loop ends
  bool stopping_ = false;
};

}  // namespace dsw::server
