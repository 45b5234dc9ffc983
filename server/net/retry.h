// Retrying a request that failed for a passing reason, within bounds: a number of retries, a
// backoff that doubles up to a cap (with jitter), `Retry-After` honoured up to a cap, and a total
// time after which no new attempt starts. A Stop cuts every wait short (SIGTERM).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>

#include "net/https_client.h"

namespace dsw::net {

struct RetryPolicy {
  int retries = 6;                                      // attempts after the first
  std::chrono::milliseconds initial_backoff{250};       // doubled after each retry ...
  std::chrono::milliseconds max_backoff{8'000};         // ... up to this
  std::chrono::milliseconds max_retry_after{30'000};    // a longer Retry-After is cut to this
  std::chrono::milliseconds budget{120'000};            // no attempt starts later than this
                                                        // after the first one
};

// A flag that ends waits early: set once (e.g. by the signal thread), seen by every wait.
class Stop {
 public:
  void request();
  bool requested() const;
  // Waits `d` or until request(); returns false when stopped.
  bool wait_for(std::chrono::milliseconds d) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopped_ = false;
};

// Whether an answer is worth trying again: no answer at all (connection refused, reset or lost,
// a timeout; not a refused certificate), 429 Too Many Requests, 502, 503 and 504.
bool transient(const Response& r);

// The delay a `Retry-After` header asks for: a whole number of seconds (what the apiserver
// sends). Nothing when absent or in another form (an HTTP date is not read).
std::optional<std::chrono::milliseconds> retry_after(const Response& r);

// The wait before retry number `retry` (1 for the first retry): initial_backoff * 2^(retry-1) up
// to max_backoff, times a jitter factor in [0.8, 1.2]; a Retry-After (capped) replaces it.
std::chrono::milliseconds backoff(const RetryPolicy& p, int retry,
                                  std::optional<std::chrono::milliseconds> asked);

// Called before each wait: the answer that is retried, the retry number, the wait.
using OnRetry = std::function<void(const Response&, int retry, std::chrono::milliseconds wait)>;

// Sends `request` until the answer is not transient(), the retries or the budget are used up, or
// `stop` is requested (then the last answer is returned, with error "stopped" when it was a
// transport failure). `is_transient` replaces transient() when given.
Response send_with_retry(Client& client, const Request& request, const RetryPolicy& policy,
                         const Stop* stop, const OnRetry& on_retry = {},
                         const std::function<bool(const Response&)>& is_transient = {});

}  // namespace dsw::net
