#include "net/retry.h"

#include <algorithm>
#include <random>

namespace dsw::net {

void Stop::request() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

bool Stop::requested() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_;
}

bool Stop::wait_for(std::chrono::milliseconds d) const {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopped_; });
}

bool transient(const Response& r) {
  if (!r.answered()) return !r.tls_verify_failed;
  return r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504;
}

std::optional<std::chrono::milliseconds> retry_after(const Response& r) {
  std::string v = r.header("Retry-After");
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  std::size_t i = 0;
  while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
  v.erase(0, i);
  if (v.empty() || v.size() > 9) return std::nullopt;
  long long s = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    s = s * 10 + (c - '0');
  }
  return std::chrono::milliseconds(s * 1000);
}

std::chrono::milliseconds backoff(const RetryPolicy& p, int retry,
                                  std::optional<std::chrono::milliseconds> asked) {
  if (asked) return std::min(*asked, p.max_retry_after);
  double ms = static_cast<double>(p.initial_backoff.count());
  for (int i = 1; i < retry && ms < static_cast<double>(p.max_backoff.count()); ++i) ms *= 2;
  ms = std::min(ms, static_cast<double>(p.max_backoff.count()));
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::chrono::milliseconds(static_cast<long long>(ms * jitter(rng)));
}

Response send_with_retry(Client& client, const Request& request, const RetryPolicy& policy,
                         const Stop* stop, const OnRetry& on_retry,
                         const std::function<bool(const Response&)>& is_transient) {
  const auto start = std::chrono::steady_clock::now();
  for (int attempt = 0;; ++attempt) {
    Response r = client.send(request);
    const bool again = is_transient ? is_transient(r) : transient(r);
    if (!again || attempt >= policy.retries) return r;
    auto wait = backoff(policy, attempt + 1, retry_after(r));
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (elapsed + wait > policy.budget) return r;
    if (on_retry) on_retry(r, attempt + 1, wait);
    if (stop != nullptr && !stop->wait_for(wait)) {
      if (!r.answered()) r.error = "stopped; last attempt: " + r.error;
      return r;
    }
  }
}

}  // namespace dsw::net
