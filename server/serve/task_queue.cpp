#include "serve/task_queue.h"

#include <exception>

namespace dsw::server {

ElasticTaskQueue::ElasticTaskQueue(Limits limits, std::function<void()> after_task,
                                   std::function<void(const char*)> on_exception)
    : limits_(limits), after_task_(std::move(after_task)), on_exception_(std::move(on_exception)) {
  if (limits_.max_threads < 1) limits_.max_threads = 1;
  if (limits_.min_threads > limits_.max_threads) limits_.min_threads = limits_.max_threads;
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < limits_.min_threads; ++i) spawn_locked();
}

ElasticTaskQueue::~ElasticTaskQueue() { shutdown(); }

void ElasticTaskQueue::enqueue(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(fn));
    // One idle thread per queued job; otherwise a new one, up to the cap.
    if (jobs_.size() > idle_ && running_.size() < limits_.max_threads) spawn_locked();
    work_cv_.notify_one();
  }
  join_ended();
}

void ElasticTaskQueue::shutdown() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    work_cv_.notify_all();
    done_cv_.wait(lock, [this] { return running_.empty(); });
  }
  join_ended();
}

std::size_t ElasticTaskQueue::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_.size();
}

void ElasticTaskQueue::spawn_locked() {
  // The thread is started after its slot exists; it reads the slot only under the lock, which
  // is held here until the handle is in place.
  running_.emplace_back();
  Worker self = std::prev(running_.end());
  try {
    *self = std::thread([this, self] { run(self); });
  } catch (const std::exception& e) {
    // No thread to be had (a process or memory limit): the job waits for one that is running.
    running_.erase(self);
    if (on_exception_) on_exception_(e.what());
  }
}

void ElasticTaskQueue::run(Worker self) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!jobs_.empty()) {
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
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
    ++idle_;
    bool woke = work_cv_.wait_for(lock, limits_.idle_timeout,
                                  [this] { return !jobs_.empty() || stopping_; });
    --idle_;
    if (!woke && running_.size() > limits_.min_threads) break;
  }
  // Hand this thread's handle to whoever joins next; after the unlock the thread touches nothing
  // of the queue's.
  ended_.push_back(std::move(*self));
  running_.erase(self);
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
