// Prometheus metrics of the webhook, kept in atomics and rendered in the text exposition format.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "dsw/handler.h"

namespace dsw::server {

class Metrics {
 public:
  // Upper bounds of the request duration histogram, in seconds (0.25 ms .. 2.5 s).
  static constexpr std::array<double, 13> kBuckets{0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                   0.025,   0.05,   0.1,   0.25,   0.5,   1.0,
                                                   2.5};

  Metrics();

  // One admission request finished (answered with any status) after `seconds`. `kind` is the
  // reviewed object's (ObjectKind::Other for anything else and for a refused request).
  void observe_review(Endpoint endpoint, ObjectKind kind, Verdict outcome, double seconds);
  // Any HTTP response, by status code.
  void observe_status(int status);
  void in_flight_add(int delta) { in_flight_.fetch_add(delta, std::memory_order_relaxed); }
  void certificate_loaded(std::int64_t not_after_unix) { cert_expiry_.store(not_after_unix); }
  void certificate_reload(bool ok) { (ok ? reload_ok_ : reload_failed_).fetch_add(1); }

  // The whole exposition, including process_* metrics read from /proc.
  std::string render() const;
  // HTTP responses written so far, every status (a measure of the work done).
  std::uint64_t responses() const;

 private:
  static constexpr std::size_t kEndpoints = 2, kKinds = 4, kVerdicts = 5;
  struct Histogram {
    std::array<std::atomic<std::uint64_t>, kBuckets.size()> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_ns{0};
  };
  template <class T>
  using PerKind = std::array<std::array<T, kKinds>, kEndpoints>;
  PerKind<std::array<std::atomic<std::uint64_t>, kVerdicts>> requests_{};
  PerKind<Histogram> durations_{};
  // Status codes 100..599.
  std::array<std::atomic<std::uint64_t>, 500> statuses_{};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::int64_t> cert_expiry_{0};
  std::atomic<std::uint64_t> reload_ok_{0}, reload_failed_{0};
  double start_time_;
};

}  // namespace dsw::server
