#include "serve/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>

#include "serve/connection_state.h"
#include "serve/head_guard.h"
#include "serve/linger.h"
#include "serve/logging.h"
#include "serve/open_connections.h"
#include "serve/request_checks.h"
#include "serve/task_queue.h"

namespace dsw::server {

namespace {

const std::string kPlain = "text/plain; charset=utf-8";
const std::string kJson = "application/json";

Endpoint endpoint_of(Route r) { return r == Route::Validate ? Endpoint::Validate : Endpoint::Mutate; }

// Exposes the listening socket, to raise the backlog cpp-httplib fixes at 5.
class Listener final : public httplib::SSLServer {
 public:
  using httplib::SSLServer::SSLServer;
  int listen_fd() const { return static_cast<int>(svr_sock_.load()); }
};

// Runs a hook of cpp-httplib: an exception must not leave it, since the library calls the
// hooks outside its own try (one escaping would end the connection's thread and the process).
template <typename F>
void guarded(const char* hook, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    logging::error("request hook failed", {{"hook", hook}, {"reason", e.what()}});
  } catch (...) {
    logging::error("request hook failed", {{"hook", hook}, {"reason", "unknown exception"}});
  }
}

std::string reason_of(const std::exception_ptr& ep) {
  try {
    if (ep) std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "unknown exception";
}

}  // namespace

class WebhookServer::Impl {
 public:
  Impl(WebhookServer& owner, ServerConfig config, CertStore& certs, Metrics& metrics,
       AdmitFunction admit)
      : owner_(owner),
        config_(std::move(config)),
        certs_(certs),
        metrics_(metrics),
        admit_(std::move(admit)) {}

  std::optional<std::string> bind() {
    std::string tls_error;
    svr_ = std::make_unique<Listener>([this, &tls_error](SSL_CTX& ctx) {
      head_guard::install(ctx, &open_);
      return certs_.configure(ctx, tls_error);
    });
    if (!svr_->is_valid()) return tls_error.empty() ? "cannot set up TLS" : tls_error;
    setup();
    bool ok = false;
    errno = 0;
    if (config_.port == 0) {
      int p = svr_->bind_to_any_port(config_.bind_address);
      ok = p > 0;
      owner_.bound_port_ = p;
    } else {
      ok = svr_->bind_to_port(config_.bind_address, config_.port);
      owner_.bound_port_ = config_.port;
    }
    if (!ok) {
      int e = errno;
      return "cannot listen on " + config_.bind_address + ":" + std::to_string(config_.port) +
             (e != 0 ? std::string(": ") + std::strerror(e) : std::string());
    }
    ::listen(svr_->listen_fd(), SOMAXCONN);
    return std::nullopt;
  }

  bool run() {
    owner_.listening_.store(true);
    bool ok = svr_->listen_after_bind();  // returns after the task queue's shutdown()
    owner_.listening_.store(false);
    return ok || stopping_.load();
  }

  void stop() {
    stopping_.store(true);
    if (svr_) svr_->stop();
    std::size_t n = open_.close_idle();
    logging::info("stopped accepting; closed idle connections", {{"closed", n}});
  }

  std::size_t open_connections() const { return open_.size(); }

 private:
  void setup() {
    Listener& s = *svr_;
    ElasticTaskQueue::Limits limits;
    limits.min_threads = config_.min_threads;
    limits.max_threads = config_.max_threads;
    s.new_task_queue = [this, limits] {
      return new ElasticTaskQueue(
          limits,
          [this] {
            // The connection is closed; a request cut short never reached the logger.
            ConnectionState& c = this_connection();
            if (c.request.active) metrics_.in_flight_add(-1);
            c.release();
          },
          [](const char* what) {
            logging::error("connection task failed", {{"reason", what}});
          });
    };
    s.set_tcp_nodelay(true);
    // SO_REUSEADDR only: cpp-httplib's default also sets SO_REUSEPORT, which lets a second
    // process bind the same port and silently take half of the connections.
    s.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    s.set_keep_alive_max_count(config_.keep_alive_max_requests);
    s.set_keep_alive_timeout(config_.keep_alive_timeout_sec);
    s.set_read_timeout(config_.io_timeout_sec, 0);
    s.set_write_timeout(config_.io_timeout_sec, 0);
    s.set_payload_max_length(config_.max_request_bytes);

    s.set_expect_100_continue_handler(
        [this](const httplib::Request& req, httplib::Response& res) -> int {
          int status = 100;
          guarded("expect", [&] {
            RequestState& r = begin(req);
            if (auto refusal = refuse_before_body(req, r.route, config_.max_request_bytes)) {
              refuse(req, res, *refusal);
              // cpp-httplib writes this answer without setting its length.
              res.set_header("Content-Length", std::to_string(res.body.size()));
              status = refusal->status;
            }
          });
          return status;
        });
    // Every request passes here once its line and headers are read: its route is decided, what
    // those alone refuse is answered, the GET endpoints are answered; a review goes on to
    // cpp-httplib, which reads its body and calls the one POST handler.
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      auto handled = httplib::Server::HandlerResponse::Unhandled;
      guarded("pre-routing", [&] {
        RequestState& r = begin(req);
        if (auto refusal = refuse_before_body(req, r.route, config_.max_request_bytes)) {
          refuse(req, res, *refusal);
          handled = httplib::Server::HandlerResponse::Handled;
        } else if (is_review(r.route)) {
          plain_answers_only(req);
        } else {
          answer_get(r.route, res);
          handled = httplib::Server::HandlerResponse::Handled;
        }
      });
      return handled;
    });
    s.Post("/(?:mutate|validate)", [this](const httplib::Request& req, httplib::Response& res) {
      admit(req, res);
    });
    // Every answer at or above 400, before it is written. Ours are already decided; one that
    // cpp-httplib makes itself (400 for a request line or header it cannot parse, 414, 416, a
    // body it could not read) leaves bytes of the request unread, so its connection closes.
    s.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request& req, httplib::Response& res) {
      guarded("error", [&] {
        RequestState& r = this_connection().request;
        bool library_made = !r.active || (is_review(r.route) && !r.refused && !r.answered);
        if (!library_made) return;
        r.close_after = true;
        if (req.get_header_value("Connection") != "close") res.set_header("Connection", "close");
        if (r.active) {
          // A review whose body could not be read (the client stopped sending or went away):
          // cpp-httplib would answer 404.
          r.reason = "request body not read whole";
          res.status = 400;
          res.set_content(r.reason + "\n", kPlain);
          res.set_header("Content-Length", std::to_string(res.body.size()));
        }
      });
      return httplib::Server::HandlerResponse::Unhandled;
    }));
    s.set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
      guarded("post-routing", [&] {
        if (stopping_.load() && !res.has_header("Connection")) res.set_header("Connection", "close");
      });
    });
    // An exception escaping the review handler: answered as an AdmissionReview denying with code
    // 500 (the admission function answers its own failures that way with the review's uid; this
    // is the answer when even it failed). The reason is logged and counted as an error; the
    // process and the other connections go on.
    s.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          guarded("exception", [&] {
            std::string reason = reason_of(ep);
            RequestState& r = this_connection().request;
            logging::error("request handler failed", {{"reason", reason}});
            res.status = is_review(r.route) ? 200 : 500;
            res.headers.clear();
            if (is_review(r.route)) {
              res.set_content(internal_error_review(), kJson);
              r.outcome = Outcome{};
              r.outcome.verdict = Verdict::Error;
              r.answered = true;
            } else {
              res.set_content("internal server error\n", kPlain);
            }
          });
        });
    s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      guarded("logger", [&] { finish(req, res); });
    });
  }

  // The request's line and headers are read (the first hook to run calls this): its route is
  // decided here, once.
  RequestState& begin(const httplib::Request& req) {
    RequestState& r = this_connection().request;
    if (r.active) return r;
    r = RequestState{};
    r.active = true;
    r.start = Clock::now();
    r.route = route_of(req.path);
    metrics_.in_flight_add(1);
    head_guard::request_started();
    return r;
  }

  // Answers a refusal decided before the body; when the request announced a body, that body is
  // never read, so the connection closes after the answer.
  static void refuse(const httplib::Request& req, httplib::Response& res, const Refusal& refusal) {
    RequestState& r = this_connection().request;
    r.reason = refusal.message;
    r.refused = true;
    res.status = refusal.status;
    if (!refusal.allow.empty()) res.set_header("Allow", refusal.allow);
    if (announces_body(req)) {
      r.close_after = true;
      res.set_header("Connection", "close");
    }
    res.set_content(refusal.message + "\n", kPlain);
  }

  void answer_get(Route route, httplib::Response& res) {
    switch (route) {
      case Route::Healthz:
        res.set_content("ok\n", kPlain);
        break;
      case Route::Readyz:
        if (owner_.ready()) {
          res.set_content("ok\n", kPlain);
        } else {
          res.status = 503;
          res.set_content(owner_.shutting_down_.load() ? "shutting down\n" : "not ready\n", kPlain);
        }
        break;
      case Route::Metrics:
        res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
        break;
      default:
        break;  // refuse_before_body() refused every other route
    }
  }

  // What cpp-httplib would do to an answer on its own, undone for the review endpoints:
  // - Debian builds it with zlib and brotli, and it compresses an `application/json` answer
  //   whenever the request accepts gzip or br, as the apiserver's Go client does. An answer is a
  //   few hundred bytes, where compressing costs more CPU than it saves bytes.
  // - It applies a Range header to the answer of any method; RFC 9110 14.2 says a server MUST
  //   ignore Range on anything but GET.
  // The request object the hooks get is cpp-httplib's own non-const local (Server::
  // process_request), so changing it here is well-defined; this is the one place serve does so.
  static void plain_answers_only(const httplib::Request& req) {
    auto& mutable_req = const_cast<httplib::Request&>(req);  // NOLINT: see above
    mutable_req.headers.erase("Accept-Encoding");
    mutable_req.ranges.clear();
  }

  void admit(const httplib::Request& req, httplib::Response& res) {
    RequestState& r = this_connection().request;
    Outcome out = admit_(endpoint_of(r.route), req.body);
    res.status = out.http_status;
    if (out.http_status == 200) {
      res.set_content(out.body, kJson);
    } else {
      r.reason = out.body;
      res.set_content(out.body + "\n", kPlain);
    }
    out.body.clear();
    r.outcome = std::move(out);
    r.answered = true;
  }

  // The answer is written (cpp-httplib's logger hook): count, log, and close when bytes of the
  // request were left unread.
  void finish(const httplib::Request& req, const httplib::Response& res) {
    ConnectionState& c = this_connection();
    RequestState& r = c.request;
    bool cut = c.was_cut();  // no answer reached the client (logged already)
    if (!cut) metrics_.observe_status(res.status);
    if (!r.active) {
      head_guard::request_finished();
      if (cut) return;
      // Refused by cpp-httplib before any of our hooks ran: a request line or header it could
      // not parse (400), a target over 8 KiB (414), a bad Range (416).
      logging::info("request refused", {{"status", res.status},
                                        {"reason", "malformed request"},
                                        {"remote", c.peer}});
      close_after_answer();
      return;
    }
    double seconds = std::chrono::duration<double>(Clock::now() - r.start).count();
    metrics_.in_flight_add(-1);
    if (is_review(r.route)) {
      Endpoint endpoint = endpoint_of(r.route);
      bool answered = r.answered && res.status == 200;
      const Outcome& o = r.outcome;
      Verdict v = answered ? o.verdict : Verdict::Error;
      metrics_.observe_review(endpoint, o.object_kind, v, seconds);
      if (answered) {
        if (!o.internal_error.empty()) {
          logging::error("review handling failed; answered with code 500",
                         {{"uid", o.uid}, {"reason", o.internal_error}});
        }
        logging::info("review", {{"uid", o.uid},
                                 {"kind", o.kind},
                                 {"namespace", o.namespace_},
                                 {"name", o.name},
                                 {"operation", o.operation},
                                 {"endpoint", to_string(endpoint)},
                                 {"verdict", to_string(v)},
                                 {"patch_ops", o.patch_ops},
                                 {"warnings", o.warnings},
                                 {"dry_run", o.dry_run},
                                 {"api_version", o.api_version},
                                 {"status", res.status},
                                 {"duration_ms", seconds * 1000}});
      } else if (!cut) {
        logging::info("request refused", {{"endpoint", to_string(endpoint)},
                                          {"method", req.method},
                                          {"status", res.status},
                                          {"reason", r.reason},
                                          {"remote", c.peer},
                                          {"duration_ms", seconds * 1000}});
      }
    } else if (logging::enabled(logging::Level::Debug)) {
      logging::debug("request", {{"method", req.method},
                                 {"path", req.path},
                                 {"status", res.status},
                                 {"remote", c.peer},
                                 {"duration_ms", seconds * 1000}});
    }
    bool close = r.close_after;
    r = RequestState{};
    head_guard::request_finished();
    if (close) close_after_answer();
  }

  WebhookServer& owner_;
  ServerConfig config_;
  CertStore& certs_;
  Metrics& metrics_;
  AdmitFunction admit_;
  OpenConnections open_;
  std::unique_ptr<Listener> svr_;
  std::atomic<bool> stopping_{false};
};

WebhookServer::WebhookServer(ServerConfig config, CertStore& certs, Metrics& metrics,
                             AdmitFunction admit)
    : impl_(std::make_unique<Impl>(*this, std::move(config), certs, metrics, std::move(admit))) {}

WebhookServer::~WebhookServer() = default;

std::optional<std::string> WebhookServer::bind() { return impl_->bind(); }
bool WebhookServer::run() { return impl_->run(); }
void WebhookServer::stop() { impl_->stop(); }
std::size_t WebhookServer::open_connections() const { return impl_->open_connections(); }

}  // namespace dsw::server
