#include "serve/task_queue.h"

#include <exception>
#include <thread>

namespace dsw::server {

struct ElasticTaskQueue::State {
  Limits limits;
  std::function<void()> after_task;
  std::function<void(const char*)> on_exception;
  std::mutex mu;
  std::condition_variable work_cv, done_cv;
  std::deque<std::function<void()>> jobs;
  std::size_t threads = 0, idle = 0;
  bool stopping = false;
};

ElasticTaskQueue::ElasticTaskQueue(Limits limits, std::function<void()> after_task,
                                   std::function<void(const char*)> on_exception)
    : s_(std::make_shared<State>()) {
  if (limits.max_threads < 1) limits.max_threads = 1;
  if (limits.min_threads > limits.max_threads) limits.min_threads = limits.max_threads;
  s_->limits = limits;
  s_->after_task = std::move(after_task);
  s_->on_exception = std::move(on_exception);
  std::lock_guard<std::mutex> lock(s_->mu);
  for (std::size_t i = 0; i < limits.min_threads; ++i) spawn_locked();
}

ElasticTaskQueue::~ElasticTaskQueue() { shutdown(); }

void ElasticTaskQueue::enqueue(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->jobs.push_back(std::move(fn));
  // One idle thread per queued job; otherwise a new one, up to the cap.
  if (s_->jobs.size() > s_->idle && s_->threads < s_->limits.max_threads) spawn_locked();
  s_->work_cv.notify_one();
}

void ElasticTaskQueue::shutdown() {
  std::unique_lock<std::mutex> lock(s_->mu);
  s_->stopping = true;
  s_->work_cv.notify_all();
  s_->done_cv.wait(lock, [this] { return s_->threads == 0; });
}

std::size_t ElasticTaskQueue::threads() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->threads;
}

void ElasticTaskQueue::spawn_locked() {
  ++s_->threads;
  // The thread holds the state, not the queue: it may outlive a queue being destroyed only
  // until shutdown() has seen it end.
  std::thread([s = s_] {
    std::unique_lock<std::mutex> lock(s->mu);
    for (;;) {
      if (!s->jobs.empty()) {
        auto job = std::move(s->jobs.front());
        s->jobs.pop_front();
        lock.unlock();
        try {
          job();
        } catch (const std::exception& e) {
          if (s->on_exception) s->on_exception(e.what());
        } catch (...) {
          if (s->on_exception) s->on_exception("unknown exception");
        }
        if (s->after_task) s->after_task();
        lock.lock();
        continue;
      }
      if (s->stopping) break;
      ++s->idle;
      bool woke = s->work_cv.wait_for(lock, s->limits.idle_timeout,
                                      [&] { return !s->jobs.empty() || s->stopping; });
      --s->idle;
      if (!woke && s->threads > s->limits.min_threads) break;
    }
    --s->threads;
    s->done_cv.notify_all();
  }).detach();
}

}  // namespace dsw::server
