#include "serve/task_queue.h"

#include <algorithm>
#include <exception>

namespace dsw::server {

ElasticTaskQueue::ElasticTaskQueue(Limits limits, std::function<void()> after_task,
                                   std::function<void(const char*)> on_exception)
    : limits_(limits), after_task_(std::move(after_task)), on_exception_(std::move(on_exception)) {
  if (limits_.max_threads < 1) limits_.max_threads = 1;
  if (limits_.min_threads > limits_.max_threads) limits_.min_threads = limits_.max_threads;
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < limits_.min_threads; ++i) spawn_locked(nullptr);
}

ElasticTaskQueue::~ElasticTaskQueue() { shutdown(); }

void ElasticTaskQueue::enqueue(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      // To the thread that became idle last.
      Worker* w = idle_.back();
      idle_.pop_back();
      w->job = std::move(fn);
      w->wake.notify_one();
    } else if (workers_.size() < limits_.max_threads) {
      spawn_locked(std::move(fn));
    } else {
      jobs_.push_back(std::move(fn));
    }
  }
  join_ended();
}

void ElasticTaskQueue::shutdown() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    for (Worker* w : idle_) w->wake.notify_one();
    done_cv_.wait(lock, [this] { return workers_.empty(); });
  }
  join_ended();
}

std::size_t ElasticTaskQueue::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return workers_.size();
}

std::size_t ElasticTaskQueue::idle_threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

void ElasticTaskQueue::spawn_locked(std::function<void()> first_job) {
  // The thread is started after its slot exists; it reads the slot only under the lock, which
  // is held here until the handle is in place.
  workers_.emplace_back();
  WorkerSlot self = std::prev(workers_.end());
  self->job = std::move(first_job);
  try {
    self->thread = std::thread([this, self] { run(self); });
  } catch (const std::exception& e) {
    // No thread to be had (a process or memory limit): the job waits for one that is running.
    if (self->job) jobs_.push_back(std::move(self->job));
    workers_.erase(self);
    if (on_exception_) on_exception_(e.what());
  }
}

void ElasticTaskQueue::run(WorkerSlot self) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!self->job && !jobs_.empty()) {
      self->job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    if (self->job) {
      auto job = std::move(self->job);
      self->job = nullptr;
      lock.unlock();
      try {
        job();
      } catch (const std::exception& e) {
        if (on_exception_) on_exception_(e.what());
      } catch (...) {
        if (on_exception_) on_exception_("unknown exception");
      }
      job = nullptr;  // what the task captured is released on this thread, before the next
      if (after_task_) after_task_();
      lock.lock();
      continue;
    }
    if (stopping_) break;
    idle_.push_back(&*self);
    bool handed = self->wake.wait_for(lock, limits_.idle_timeout,
                                      [&] { return self->job != nullptr || stopping_; });
    if (self->job) continue;  // enqueue() took it off the idle stack
    idle_.erase(std::find(idle_.begin(), idle_.end(), &*self));
    if (stopping_) break;
    if (!handed && workers_.size() > limits_.min_threads) break;
  }
  // Hand this thread's handle to whoever joins next; after the unlock the thread touches nothing
  // of the queue's.
  ended_.push_back(std::move(self->thread));
  workers_.erase(self);
  done_cv_.notify_all();
}

void ElasticTaskQueue::join_ended() {
  std::vector<std::thread> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ended.swap(ended_);
  }
  for (auto& t : ended) t.join();
}

}  // namespace dsw::server
