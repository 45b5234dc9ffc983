// The HTTPS side of `serve`: cpp-httplib's SSLServer (Debian's libcpp-httplib 0.11.4), tuned and
// guarded for an admission webhook.
//
// A request's path: accept → a thread of the elastic task queue (task_queue.h) → TLS handshake
// (tls.h: policy, current certificate) → cpp-httplib reads the request line and headers, counted
// and timed under it (head_guard.h) → the pre-routing hook decides the route once and refuses
// what the line and headers alone decide (request_checks.h: 404/405/411/413/415, before any body
// byte is read), and answers the GET endpoints → cpp-httplib reads a review's body
// (Content-Length only) → the one POST handler calls the admission function
// (dsw::answer_review) → cpp-httplib writes the answer → the logger hook logs, counts and, after a
// refusal that left bytes unread, closes the connection (linger.h). What the hooks know of the
// connection and the request is one thread-local object (connection_state.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dsw/handler.h"
#include "serve/metrics.h"
#include "serve/tls.h"

namespace dsw::server {

struct ServerConfig {
  std::string bind_address = "0.0.0.0";
  int port = 8443;  // 0: any free port (logged)
  std::size_t max_request_bytes = 7 * 1024 * 1024;
  // Threads serving connections (one per open connection): kept warm / at most. Beyond the cap
  // new connections wait in the queue.
  std::size_t min_threads = 8;
  std::size_t max_threads = 1024;
  // Per read and per write (handshake, request, answer); a whole request also has 10 s from its
  // first byte (head_guard.h).
  std::time_t io_timeout_sec = 10;
  // Idle keep-alive connections are kept this long (the apiserver drops its own after 90 s).
  std::time_t keep_alive_timeout_sec = 120;
  std::size_t keep_alive_max_requests = 100000;
};

// Bytes of an AdmissionReview in, the answer out: dsw::answer_review with the admission options,
// or a stand-in in tests.
using AdmitFunction = std::function<Outcome(Endpoint, std::string_view body)>;

class WebhookServer {
 public:
  WebhookServer(ServerConfig config, CertStore& certs, Metrics& metrics, AdmitFunction admit);
  ~WebhookServer();

  // Sets up TLS and binds the listening socket. Returns a one-line error, or nothing.
  std::optional<std::string> bind();
  int bound_port() const { return bound_port_; }
  // Serves until stop() and every connection's task has ended (their threads joined); returns
  // false when the listener failed on its own.
  bool run();

  // Readiness: the certificate is loaded (checked before construction), the listener is up and
  // shutdown has not begun.
  bool ready() const { return listening_.load() && !shutting_down_.load(); }
  // First step of a graceful shutdown: /readyz answers 503, everything else keeps working.
  void begin_shutdown() { shutting_down_.store(true); }
  // Stops accepting and closes idle keep-alive connections; requests under way are answered
  // (with `Connection: close`) and run() returns once they are.
  void stop();
  std::size_t open_connections() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> listening_{false}, shutting_down_{false};
  int bound_port_ = 0;
};

}  // namespace dsw::server
