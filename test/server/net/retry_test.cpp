// Unit tests of net/retry: what is transient, Retry-After, the backoff's growth, cap and jitter,
// and the loop's bounds (retries, budget, a stop) against a local plain-HTTP server that answers
// from a script.
#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "net/retry.h"

using namespace dsw::net;
using namespace std::chrono_literals;

namespace {

Response answer(int status, std::string retry_after = "") {
  Response r;
  r.status = status;
  if (!retry_after.empty()) r.headers.emplace_back("retry-after", retry_after);
  return r;
}

// A plain-HTTP server on 127.0.0.1 answering GET /x with the statuses of `script` in turn (the
// last one from then on), with a Retry-After (0 s by default).
class Scripted {
 public:
  explicit Scripted(std::vector<int> script, std::string retry_after = "0")
      : script_(std::move(script)), retry_after_(std::move(retry_after)) {
    srv_.Get("/x", [this](const httplib::Request&, httplib::Response& res) {
      std::size_t i = calls_++;
      res.status = script_[std::min(i, script_.size() - 1)];
      res.set_header("Retry-After", retry_after_);
      res.set_content("s", "text/plain");
    });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
    while (!srv_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~Scripted() {
    srv_.stop();
    thread_.join();
  }
  std::unique_ptr<Client> client() {
    std::string error;
    auto url = parse_url("http://127.0.0.1:" + std::to_string(port_), error);
    REQUIRE(url);
    auto c = Client::create(*url, {}, {}, error);
    REQUIRE_MESSAGE(c, error);
    return c;
  }
  std::size_t calls() const { return calls_; }

 private:
  httplib::Server srv_;
  std::vector<int> script_;
  std::string retry_after_;
  std::atomic<std::size_t> calls_{0};
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST_CASE("transient: no answer (but a refused certificate), 429, 502, 503, 504") {
  Response lost;
  lost.error = "connection lost";
  CHECK(transient(lost));
  Response refused;
  refused.tls_verify_failed = true;
  CHECK_FALSE(transient(refused));
  for (int s : {429, 502, 503, 504}) CHECK(transient(answer(s)));
  for (int s : {200, 201, 400, 401, 403, 404, 409, 410, 413, 422, 500}) CHECK_FALSE(transient(answer(s)));
}

TEST_CASE("Retry-After in whole seconds; anything else is not read") {
  CHECK(retry_after(answer(429, "1")).value() == 1000ms);
  CHECK(retry_after(answer(429, " 30 ")).value() == 30000ms);
  CHECK(retry_after(answer(503, "0")).value() == 0ms);
  CHECK_FALSE(retry_after(answer(429)));
  CHECK_FALSE(retry_after(answer(429, "-1")));
  CHECK_FALSE(retry_after(answer(429, "1.5")));
  CHECK_FALSE(retry_after(answer(429, "Wed, 21 Oct 2015 07:28:00 GMT")));
  CHECK_FALSE(retry_after(answer(429, "99999999999")));
}

TEST_CASE("backoff doubles up to its cap with jitter; Retry-After replaces it, capped") {
  RetryPolicy p;
  p.initial_backoff = 100ms;
  p.max_backoff = 1000ms;
  p.max_retry_after = 5000ms;
  for (int i = 0; i < 50; ++i) {
    auto first = backoff(p, 1, std::nullopt);
    CHECK(first >= 80ms);
    CHECK(first <= 120ms);
    auto third = backoff(p, 3, std::nullopt);
    CHECK(third >= 320ms);
    CHECK(third <= 480ms);
    auto late = backoff(p, 40, std::nullopt);
    CHECK(late >= 800ms);
    CHECK(late <= 1200ms);
  }
  CHECK(backoff(p, 1, 2000ms) == 2000ms);
  CHECK(backoff(p, 1, 60000ms) == 5000ms);
}

TEST_CASE("the loop retries transient answers up to the retries, then returns the last") {
  RetryPolicy p;
  p.retries = 3;
  {
    Scripted srv({429, 503, 200});
    auto c = srv.client();
    int retried = 0;
    Response r = send_with_retry(*c, Request{"GET", "/x", {}, "", ""}, p, nullptr,
                                 [&](const Response&, int n, std::chrono::milliseconds wait) {
                                   CHECK(n == ++retried);
                                   CHECK(wait == 0ms);  // Retry-After: 0
                                 });
    CHECK(r.status == 200);
    CHECK(srv.calls() == 3);
    CHECK(retried == 2);
  }
  {
    Scripted srv({503});
    auto c = srv.client();
    Response r = send_with_retry(*c, Request{"GET", "/x", {}, "", ""}, p, nullptr);
    CHECK(r.status == 503);
    CHECK(srv.calls() == 4);
  }
  {
    Scripted srv({404});
    auto c = srv.client();
    CHECK(send_with_retry(*c, Request{"GET", "/x", {}, "", ""}, p, nullptr).status == 404);
    CHECK(srv.calls() == 1);
  }
}

TEST_CASE("no attempt starts past the budget, and a stop ends the wait") {
  RetryPolicy p;
  p.retries = 10;
  p.max_retry_after = 10ms;  // Retry-After: 1 waits 10 ms, longer than the budget
  p.budget = 5ms;
  Scripted srv({429}, "1");
  auto c = srv.client();
  CHECK(send_with_retry(*c, Request{"GET", "/x", {}, "", ""}, p, nullptr).status == 429);
  CHECK(srv.calls() == 1);

  // No server at all: connection refused is transient, the stop ends the loop in its wait.
  std::string error;
  auto url = parse_url("http://127.0.0.1:1", error);
  auto refused = Client::create(*url, {}, {}, error);
  RetryPolicy slow;
  slow.retries = 5;
  slow.initial_backoff = 60000ms;
  slow.max_backoff = 60000ms;
  Stop stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    stop.request();
  });
  Response r = send_with_retry(*refused, Request{"GET", "/x", {}, "", ""}, slow, &stop);
  stopper.join();
  CHECK_FALSE(r.answered());
  CHECK(r.error.find("stopped") == 0);
  CHECK(stop.requested());
  CHECK_FALSE(stop.wait_for(1000ms));
}
