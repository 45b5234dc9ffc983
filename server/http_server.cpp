#include "http_server.h"

#include <httplib.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "dsw/handler.h"
#include "logging.h"

namespace dsw::server {

namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Per-thread state. cpp-httplib runs one connection on one pool thread from accept to close, and
// every hook of one request (expect, pre-routing, handler, logger) on that same thread.

struct ConnectionSlot {
  int fd = -1;
  std::uint64_t id = 0;
  std::size_t header_bytes = 0;  // TLS record bytes read outside a request (see count_header_bytes)
  bool cut = false;
};
thread_local ConnectionSlot t_conn;

struct RequestState {
  bool active = false;
  Clock::time_point start;
  bool admission = false;
  Endpoint endpoint = Endpoint::Mutate;
  bool answered = false;  // dsw::serve produced an outcome
  Outcome outcome;        // without its body
  std::string reject_reason;
};
thread_local RequestState t_req;

const std::string kPlain = "text/plain; charset=utf-8";

// cpp-httplib 0.11.4 bounds neither the number of request header lines nor their total size, nor
// the length of one line: it buffers whatever the client sends until the blank line (measured:
// 64 MiB of headers took the process to 1.3 GiB). OpenSSL shows us the header of every TLS record
// read; the bytes read between requests (request line and headers: after one answer and before
// the next request's first hook) are counted per connection, and past this bound the connection
// is shut down. Real clients send well under 1 KiB of headers; a record that also carries the
// start of the body counts in full, so the bound leaves room for 16 KiB of that.
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

void count_header_bytes(int write_p, int, int content_type, const void* buf, std::size_t len,
                        SSL* ssl, void*) {
  if (write_p != 0 || content_type != SSL3_RT_HEADER || len < 5 || t_req.active || t_conn.cut)
    return;
  const auto* h = static_cast<const unsigned char*>(buf);
  t_conn.header_bytes += (static_cast<std::size_t>(h[3]) << 8) | h[4];
  if (t_conn.header_bytes <= kMaxHeaderBytes) return;
  t_conn.cut = true;
  logging::warn("request headers too large; connection closed", {{"limit", kMaxHeaderBytes}});
  ::shutdown(SSL_get_fd(ssl), SHUT_RDWR);  // the pending read sees EOF and the task ends
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Open connections, so that idle keep-alive connections can be closed at shutdown (cpp-httplib
// 0.11.4 would otherwise keep them until their keep-alive timeout).
class Connections {
 public:
  void handshake(SSL* ssl) {
    int fd = SSL_get_fd(ssl);
    if (fd < 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (t_conn.fd == fd) return;  // a second callback in one handshake
    t_conn = {fd, ++next_id_};
    open_[fd] = Entry{t_conn.id, false};
  }
  void set_busy(bool busy) {
    if (t_conn.fd < 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = open_.find(t_conn.fd);
    if (it != open_.end() && it->second.id == t_conn.id) it->second.busy = busy;
  }
  // The connection's task returned: cpp-httplib has closed the socket.
  void task_done() {
    if (t_conn.fd < 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = open_.find(t_conn.fd);
    if (it != open_.end() && it->second.id == t_conn.id) open_.erase(it);
    t_conn = {};
  }
  std::size_t close_idle() {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (auto& [fd, e] : open_) {
      if (!e.busy) {
        ::shutdown(fd, SHUT_RDWR);
        ++n;
      }
    }
    return n;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return open_.size();
  }

 private:
  struct Entry {
    std::uint64_t id;
    bool busy;
  };
  mutable std::mutex mu_;
  std::unordered_map<int, Entry> open_;
  std::uint64_t next_id_ = 0;
};

namespace {

// ---------------------------------------------------------------------------------------------
// A task queue that grows a thread per waiting connection up to a cap and lets surplus threads
// go after a minute of idleness. cpp-httplib's fixed ThreadPool makes the (N+1)th idle
// keep-alive connection wait for another one to close.
class ElasticPool : public httplib::TaskQueue {
 public:
  ElasticPool(std::size_t min_threads, std::size_t max_threads, std::function<void()> after_task)
      : s_(std::make_shared<State>()), after_task_(std::move(after_task)) {
    s_->min = min_threads;
    s_->max = max_threads < 1 ? 1 : max_threads;
    std::lock_guard<std::mutex> lock(s_->mu);
    for (std::size_t i = 0; i < min_threads; ++i) spawn_locked();
  }
  ~ElasticPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->jobs.emplace_back([fn = std::move(fn), after = after_task_] {
      fn();
      after();
    });
    if (s_->jobs.size() > s_->idle && s_->threads < s_->max) spawn_locked();
    s_->cv.notify_one();
  }

  void shutdown() override {
    std::unique_lock<std::mutex> lock(s_->mu);
    s_->stopping = true;
    s_->cv.notify_all();
    s_->done_cv.wait(lock, [this] { return s_->threads == 0; });
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv, done_cv;
    std::deque<std::function<void()>> jobs;
    std::size_t threads = 0, idle = 0, min = 0, max = 0;
    bool stopping = false;
  };

  void spawn_locked() {
    ++s_->threads;
    std::thread([s = s_] {
      std::unique_lock<std::mutex> lock(s->mu);
      for (;;) {
        if (!s->jobs.empty()) {
          auto job = std::move(s->jobs.front());
          s->jobs.pop_front();
          lock.unlock();
          job();
          lock.lock();
          continue;
        }
        if (s->stopping) break;
        ++s->idle;
        bool woke = s->cv.wait_for(lock, std::chrono::seconds(60),
                                   [&] { return !s->jobs.empty() || s->stopping; });
        --s->idle;
        if (!woke && s->threads > s->min) break;
      }
      --s->threads;
      s->done_cv.notify_all();
    }).detach();
  }

  std::shared_ptr<State> s_;
  std::function<void()> after_task_;
};

// Exposes the listening socket, to raise the backlog cpp-httplib fixes at 5.
class Listener : public httplib::SSLServer {
 public:
  using httplib::SSLServer::SSLServer;
  int listen_fd() const { return static_cast<int>(svr_sock_.load()); }
};

struct Reject {
  int status;
  std::string message;
  std::string allow;  // for 405
};

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// `application/json`, with optional parameters such as `; charset=utf-8`.
bool is_json_media_type(const std::string& content_type) {
  std::string t = lower(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  std::size_t b = t.find_first_not_of(" \t");
  return b != std::string::npos && t.substr(b) == "application/json";
}

bool has_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  std::string cl = req.get_header_value("Content-Length");
  return !cl.empty() && cl != "0";
}

// Reads and throws away what the client still sends, for at most a second, after the answer and
// a FIN went out: closing a socket with unread data makes the kernel send a reset, which can
// destroy the answer before the client has read it.
void linger_drain(int fd) {
  if (fd < 0) return;
  ::shutdown(fd, SHUT_WR);
  auto deadline = Clock::now() + std::chrono::seconds(1);
  char buf[16384];
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r <= 0) return;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
class WebhookServer::Impl {
 public:
  Impl(WebhookServer& owner, ServerConfig config, CertStore& certs, Metrics& metrics)
      : owner_(owner), config_(std::move(config)), certs_(certs), metrics_(metrics) {}

  std::optional<std::string> bind() {
    std::string tls_error;
    certs_.on_handshake([this](SSL* ssl) { conns_.handshake(ssl); });
    svr_ = std::make_unique<Listener>(
        [this, &tls_error](SSL_CTX& ctx) {
          SSL_CTX_set_msg_callback(&ctx, &count_header_bytes);
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

  bool serve() {
    owner_.listening_.store(true);
    bool ok = svr_->listen_after_bind();
    owner_.listening_.store(false);
    return ok;
  }

  void stop() {
    stopping_.store(true);
    if (svr_) svr_->stop();
    std::size_t n = conns_.close_idle();
    logging::info("stopped accepting; closed idle connections", {{"closed", n}});
  }

  std::size_t open_connections() const { return conns_.size(); }

 private:
  void setup() {
    Listener& s = *svr_;
    std::size_t min_t = config_.min_threads, max_t = config_.max_threads;
    s.new_task_queue = [this, min_t, max_t] {
      return new ElasticPool(min_t, max_t, [this] {
        // The connection is closed; a request cut short never reached the logger.
        if (t_req.active) {
          metrics_.in_flight_add(-1);
          t_req = RequestState{};
        }
        conns_.task_done();
        t_conn.header_bytes = 0;
        t_conn.cut = false;
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
          begin(req);
          auto r = check(req);
          if (!r) return 100;
          answer_and_close(req, res, *r, /*explicit_length=*/true);
          return r->status;
        });
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      begin(req);
      auto r = check(req);
      if (!r) return httplib::Server::HandlerResponse::Unhandled;
      if (has_body(req)) {
        answer_and_close(req, res, *r, /*explicit_length=*/false);
      } else {
        t_req.reject_reason = r->message;
        res.status = r->status;
        if (!r->allow.empty()) res.set_header("Allow", r->allow);
        res.set_content(r->message + "\n", kPlain.c_str());
      }
      return httplib::Server::HandlerResponse::Handled;
    });
    s.set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
      if (stopping_.load()) res.set_header("Connection", "close");
    });
    s.Post("/mutate", [this](const httplib::Request& req, httplib::Response& res) {
      admit(Endpoint::Mutate, req, res);
    });
    s.Post("/validate", [this](const httplib::Request& req, httplib::Response& res) {
      admit(Endpoint::Validate, req, res);
    });
    s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", kPlain.c_str());
    });
    s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      if (owner_.ready()) {
        res.set_content("ok\n", kPlain.c_str());
      } else {
        res.status = 503;
        res.set_content(owner_.shutting_down_.load() ? "shutting down\n" : "not ready\n",
                        kPlain.c_str());
      }
    });
    s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    s.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string reason = "unknown exception";
          try {
            if (ep) std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            reason = e.what();
          } catch (...) {
          }
          t_req.reject_reason = "internal error";
          logging::error("request handler failed", {{"reason", reason}});
          res.status = 500;
          res.headers.clear();
          res.set_content("internal server error\n", kPlain.c_str());
        });
    s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      finish(req, res);
    });
  }

  void begin(const httplib::Request& req) {
    if (t_req.active) return;
    t_req = RequestState{};
    t_req.active = true;
    t_req.start = Clock::now();
    if (req.path == "/mutate") {
      t_req.admission = true;
      t_req.endpoint = Endpoint::Mutate;
    } else if (req.path == "/validate") {
      t_req.admission = true;
      t_req.endpoint = Endpoint::Validate;
    }
    metrics_.in_flight_add(1);
    conns_.set_busy(true);
  }

  // What can be decided from the request line and headers alone, before any body is read.
  std::optional<Reject> check(const httplib::Request& req) const {
    const std::string& p = req.path;
    if (p == "/mutate" || p == "/validate") {
      if (req.method != "POST") return Reject{405, "method not allowed: use POST", "POST"};
      if (req.has_header("Transfer-Encoding")) {
        if (req.has_header("Content-Length"))
          return Reject{400, "both Transfer-Encoding and Content-Length", ""};
        return Reject{411, "chunked request bodies are not accepted: send Content-Length", ""};
      }
      if (req.has_header("Content-Encoding"))
        return Reject{415, "compressed request bodies are not accepted", ""};
      if (!req.has_header("Content-Length"))
        return Reject{411, "Content-Length is required", ""};
      if (req.get_header_value_count("Content-Length") != 1)
        return Reject{400, "more than one Content-Length", ""};
      std::string cl = req.get_header_value("Content-Length");
      if (!all_digits(cl)) return Reject{400, "invalid Content-Length", ""};
      if (std::stoull(cl) > config_.max_request_bytes) {
        return Reject{413,
                      "request body too large: limit is " +
                          std::to_string(config_.max_request_bytes) + " bytes",
                      ""};
      }
      if (!is_json_media_type(req.get_header_value("Content-Type")))
        return Reject{415, "Content-Type must be application/json", ""};
      return std::nullopt;
    }
    if (p == "/healthz" || p == "/readyz" || p == "/metrics") {
      if (req.method != "GET" && req.method != "HEAD")
        return Reject{405, "method not allowed: use GET", "GET, HEAD"};
      if (has_body(req)) return Reject{400, "a GET request takes no body", ""};
      return std::nullopt;
    }
    return Reject{404, "not found", ""};
  }

  // Answers without reading the body, then closes the connection: the unread body cannot be
  // told apart from a next request.
  void answer_and_close(const httplib::Request& req, httplib::Response& res, const Reject& r,
                        bool explicit_length) {
    t_req.reject_reason = r.message;
    res.status = r.status;
    if (!r.allow.empty()) res.set_header("Allow", r.allow);
    res.set_header("Connection", "close");
    auto msg = std::make_shared<std::string>(r.message + "\n");
    if (explicit_length) res.set_header("Content-Length", std::to_string(msg->size()));
    const SSL* ssl = req.ssl;
    res.set_content_provider(
        msg->size(), kPlain.c_str(),
        [msg, ssl](std::size_t offset, std::size_t, httplib::DataSink& sink) {
          if (offset == 0) sink.write(msg->data(), msg->size());
          linger_drain(ssl != nullptr ? SSL_get_fd(ssl) : -1);
          return false;  // makes cpp-httplib close the connection after this answer
        });
  }

  void admit(Endpoint endpoint, const httplib::Request& req, httplib::Response& res) {
    Outcome out = dsw::serve(endpoint, req.body, config_.options);
    res.status = out.http_status;
    if (out.http_status == 200) {
      res.set_content(std::move(out.body), "application/json");
    } else {
      t_req.reject_reason = out.body;
      res.set_content(std::move(out.body) + "\n", kPlain);
    }
    out.body.clear();
    t_req.outcome = std::move(out);
    t_req.answered = true;
  }

  void finish(const httplib::Request& req, const httplib::Response& res) {
    t_conn.header_bytes = 0;  // an answer went out: the next request's headers start here
    metrics_.observe_status(res.status);
    if (!t_req.active) return;  // rejected by cpp-httplib itself before any hook ran
    double seconds = std::chrono::duration<double>(Clock::now() - t_req.start).count();
    metrics_.in_flight_add(-1);
    conns_.set_busy(false);
    if (t_req.admission) {
      Verdict v = t_req.answered && res.status == 200 ? t_req.outcome.verdict : Verdict::Error;
      metrics_.observe_review(t_req.endpoint, v, seconds);
      const Outcome& o = t_req.outcome;
      if (t_req.answered && res.status == 200) {
        logging::info("review", {{"uid", o.uid},
                                 {"kind", o.kind},
                                 {"namespace", o.namespace_},
                                 {"name", o.name},
                                 {"operation", o.operation},
                                 {"endpoint", to_string(t_req.endpoint)},
                                 {"verdict", to_string(v)},
                                 {"patch_ops", o.patch_ops},
                                 {"warnings", o.warnings},
                                 {"dry_run", o.dry_run},
                                 {"api_version", o.api_version},
                                 {"status", res.status},
                                 {"duration_ms", seconds * 1000}});
      } else {
        logging::info("request refused", {{"endpoint", to_string(t_req.endpoint)},
                                          {"method", req.method},
                                          {"status", res.status},
                                          {"reason", t_req.reject_reason},
                                          {"remote", req.remote_addr},
                                          {"duration_ms", seconds * 1000}});
      }
    } else if (logging::enabled(logging::Level::Debug)) {
      logging::debug("request", {{"method", req.method},
                                 {"path", req.path},
                                 {"status", res.status},
                                 {"remote", req.remote_addr},
                                 {"duration_ms", seconds * 1000}});
    }
    t_req = RequestState{};
  }

  WebhookServer& owner_;
  ServerConfig config_;
  CertStore& certs_;
  Metrics& metrics_;
  Connections conns_;
  std::unique_ptr<Listener> svr_;
  std::atomic<bool> stopping_{false};
};

WebhookServer::WebhookServer(ServerConfig config, CertStore& certs, Metrics& metrics)
    : impl_(std::make_unique<Impl>(*this, std::move(config), certs, metrics)) {}

WebhookServer::~WebhookServer() = default;

std::optional<std::string> WebhookServer::bind() { return impl_->bind(); }
bool WebhookServer::serve() { return impl_->serve(); }
void WebhookServer::stop() { impl_->stop(); }
std::size_t WebhookServer::open_connections() const { return impl_->open_connections(); }

}  // namespace dsw::server
