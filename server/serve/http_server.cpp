#include "serve/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dsw/handler.h"
#include "serve/http_request.h"
#include "serve/logging.h"

namespace dsw::server {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kPlain = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
// One TLS record's plaintext (16 KiB) and some: a read never leaves a record half-decrypted.
constexpr std::size_t kReadChunk = 17 * 1024;
// Bytes read from one connection before the loop turns to the others.
constexpr std::size_t kReadBudget = 256 * 1024;
// After an answer that closes the connection with a request body unread: read and throw away
// for at most this long, so that closing does not reset the answer away before the client has
// read it (a client that sends its whole body before reading, like most, would lose it). At most
// the declared body (up to kDrainMaxBytes), or kDrainBytes when its length is unknown.
constexpr std::size_t kDrainBytes = 1024 * 1024;
constexpr std::size_t kDrainMaxBytes = 16 * 1024 * 1024;
constexpr auto kDrainTime = std::chrono::seconds(1);
// New connections fill one loop up to this many before the next loop is used (pick_loop).
constexpr std::size_t kFillFirst = 16;
// How often a loop looks for connections past their deadline.
constexpr auto kTick = std::chrono::milliseconds(100);
// Buffers above this are given back after each request (a 7 MiB review must not stay reserved
// on an idle keep-alive connection).
constexpr std::size_t kKeepCapacity = 64 * 1024;

constexpr std::uint64_t kListenerId = 0, kWakeId = 1;

enum class Phase { Handshake, Head, Body, Working, Writing, Draining };

struct Conn {
  std::uint64_t id = 0;
  int fd = -1;
  SSL* ssl = nullptr;
  std::string remote;
  Phase phase = Phase::Handshake;
  Clock::time_point deadline;
  std::uint32_t interest = 0;  // registered epoll events; 0: not registered
  bool ssl_wants_write = false;  // the last SSL_read/SSL_do_handshake asked for it
  bool ssl_wants_read = false;   // the last SSL_write asked for it
  bool peer_eof = false;         // the client sent its last byte (FIN or close_notify)
  bool keep_alive = true;        // for the answer being written
  bool drain = false;            // close by draining: a request body may be left unread
  std::size_t requests = 0;
  std::size_t drained = 0;
  std::size_t drain_limit = kDrainBytes;

  // Decrypted bytes not yet consumed: the current request (and any pipelined after it).
  std::string in;
  std::size_t scanned = 0;  // find_head_end's cursor
  std::size_t head_len = 0;
  std::size_t body_len = 0;
  http::RequestHead head;

  // The current request, from its first byte to its answer.
  bool in_request = false;
  Clock::time_point start;
  bool admission = false;
  Endpoint endpoint = Endpoint::Mutate;

  std::string out;
  std::size_t out_off = 0;
};

struct Reject {
  int status;
  std::string message;
  std::string_view allow;  // for 405
};

// What can be decided from the request line and headers, before any body byte is read.
std::optional<Reject> check(const http::RequestHead& h, std::size_t max_body) {
  const std::string& p = h.path;
  if (p == "/mutate" || p == "/validate") {
    if (h.method != "POST") return Reject{405, "method not allowed: use POST", "POST"};
    if (h.transfer_encoding) {
      if (h.content_length_headers > 0)
        return Reject{400, "both Transfer-Encoding and Content-Length", {}};
      return Reject{411, "chunked request bodies are not accepted: send Content-Length", {}};
    }
    if (h.content_encoding) return Reject{415, "compressed request bodies are not accepted", {}};
    if (h.content_length_headers == 0) return Reject{411, "Content-Length is required", {}};
    if (h.content_length_headers > 1) return Reject{400, "more than one Content-Length", {}};
    if (!h.content_length_valid) return Reject{400, "invalid Content-Length", {}};
    if (h.content_length > max_body)
      return Reject{413, "request body too large: limit is " + std::to_string(max_body) + " bytes", {}};
    if (!http::is_json_media_type(h.content_type))
      return Reject{415, "Content-Type must be application/json", {}};
    return std::nullopt;
  }
  if (p == "/healthz" || p == "/readyz" || p == "/metrics") {
    if (h.method != "GET" && h.method != "HEAD")
      return Reject{405, "method not allowed: use GET", "GET, HEAD"};
    if (h.transfer_encoding || h.content_length_headers > 1 || !h.content_length_valid ||
        h.content_length > 0)
      return Reject{400, "a GET request takes no body", {}};
    return std::nullopt;
  }
  return Reject{404, "not found", {}};
}

// The request carries body bytes we will not read (or cannot delimit).
bool body_unread(const http::RequestHead& h) {
  return h.transfer_encoding || h.content_length_headers > 1 || !h.content_length_valid ||
         h.content_length > 0;
}

std::string peer_name(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
    port = ntohs(v4->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    port = ntohs(v6->sin6_port);
  }
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

// The CPU limit of the container (cgroup v2 cpu.max "QUOTA PERIOD", rounded up), or 0 when
// there is none: a pod limited to 2 CPUs on a 64-core node should not start 8 loops.
int cgroup_cpu_quota() {
  std::FILE* f = std::fopen("/sys/fs/cgroup/cpu.max", "r");
  if (f == nullptr) return 0;
  char quota[32] = {0};
  long period = 0;
  int got = std::fscanf(f, "%31s %ld", quota, &period);
  std::fclose(f);
  if (got != 2 || period <= 0 || std::strcmp(quota, "max") == 0) return 0;
  long q = std::strtol(quota, nullptr, 10);
  return q > 0 ? static_cast<int>((q + period - 1) / period) : 0;
}

std::string ssl_error_reason() {
  unsigned long e = ERR_peek_last_error();
  if (e == 0) return "connection closed";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// A large review answered on a worker thread. The connection's input buffer travels with it
// (no copy) and comes back with the outcome.
struct Job {
  std::uint64_t conn_id = 0;
  class Loop* loop = nullptr;
  Endpoint endpoint = Endpoint::Mutate;
  std::string buf;
  std::size_t body_off = 0, body_len = 0;
  Outcome outcome;
};

class Workers {
 public:
  Workers(std::size_t n, const Options& options) : options_(options) {
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
  }
  ~Workers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  bool available() const { return !threads_.empty(); }
  void push(std::unique_ptr<Job> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void run();

  const Options& options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

class Loop;

}  // namespace

// ---------------------------------------------------------------------------------------------
// State shared by the loops: configuration, TLS, metrics, the listener, stop.
class WebhookServer::Impl {
 public:
  Impl(WebhookServer& o, ServerConfig cfg, CertStore& c, Metrics& m)
      : owner(o), config(std::move(cfg)), certs(c), metrics(m) {}
  ~Impl();

  std::optional<std::string> bind();
  bool serve();
  void stop();
  std::size_t open_connections() const { return open.load(); }
  bool ready() const { return owner.ready(); }
  bool shutting_down() const { return owner.shutting_down_.load(); }

  WebhookServer& owner;
  ServerConfig config;
  CertStore& certs;
  Metrics& metrics;
  SSL_CTX* ctx = nullptr;
  int listen_fd = -1;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> listeners_attached{0};
  std::atomic<std::size_t> open{0};
  std::vector<std::unique_ptr<Loop>> loops;
  std::unique_ptr<Workers> workers;
};

namespace {

// ---------------------------------------------------------------------------------------------
// One event loop: its own epoll set and connections; the listener is shared (EPOLLEXCLUSIVE)
// and a new connection goes to the loop with the fewest. Other threads talk to a loop only
// through post_conn/post_done and its eventfd.
class Loop {
 public:
  using Impl = WebhookServer::Impl;

  Loop(Impl& srv) : srv_(srv) {}
  ~Loop() {
    for (auto& [id, c] : conns_) free_conn(*c);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (ep_ >= 0) ::close(ep_);
  }

  std::optional<std::string> init() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ep_ < 0 || wake_fd_ < 0) return std::string("cannot create an event loop: ") + std::strerror(errno);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeId;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, wake_fd_, &ev);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = kListenerId;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, srv_.listen_fd, &ev) != 0)
      return std::string("cannot watch the listener: ") + std::strerror(errno);
    srv_.listeners_attached.fetch_add(1);
    return std::nullopt;
  }

  std::size_t size() const { return count_.load(std::memory_order_relaxed); }

  // From any thread.
  void post_conn(int fd, std::string remote) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      new_conns_.emplace_back(fd, std::move(remote));
    }
    count_.fetch_add(1, std::memory_order_relaxed);
    wake();
  }
  void post_done(std::unique_ptr<Job> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(std::move(job));
    }
    wake();
  }
  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }

  void run();

 private:
  // --- connections ---
  void add_conn(int fd, std::string remote);
  void close_conn(Conn& c);
  void free_conn(Conn& c) {
    if (c.interest != 0) ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    SSL_free(c.ssl);
    ::close(c.fd);
  }
  Conn* find(std::uint64_t id) {
    auto it = conns_.find(id);
    return it == conns_.end() ? nullptr : it->second.get();
  }
  void set_interest(Conn& c);
  void accept_all();
  Loop* pick_loop();

  // --- per connection, each returns false when it closed the connection ---
  bool on_event(Conn& c);
  bool handshake(Conn& c);
  bool read_and_process(Conn& c);
  bool process(Conn& c);
  bool dispatch(Conn& c);
  bool write_out(Conn& c);
  bool after_write(Conn& c);
  bool drain(Conn& c);
  void begin_request(Conn& c);
  void answer(Conn& c, int status, std::string_view type, std::string_view body, bool keep_alive,
              std::string_view extra = {});
  void reject(Conn& c, const Reject& r, bool keep_alive);
  void finish_admission(Conn& c, Outcome&& o);
  void finish_request(Conn& c, int status, const Outcome* o, std::string_view reason);
  void consume(Conn& c, std::size_t n);
  bool wants_bytes(const Conn& c) const {
    if (c.peer_eof) return false;
    if (c.phase == Phase::Head) return c.in.size() <= http::kMaxHeadBytes;
    if (c.phase == Phase::Body) return c.in.size() < c.head_len + c.body_len;
    return false;
  }

  void on_stop();
  void check_deadlines(Clock::time_point now);

  Impl& srv_;
  int ep_ = -1, wake_fd_ = -1;
  std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns_;
  std::uint64_t next_id_ = 2;
  std::vector<std::uint64_t> ready_;  // to be served again without waiting for epoll
  std::vector<char> scratch_ = std::vector<char>(kReadChunk);
  std::size_t working_ = 0;           // connections whose review is on a worker
  std::atomic<std::size_t> count_{0};
  bool stop_seen_ = false;
  Clock::time_point listener_paused_until_{};
  bool listener_paused_ = false;

  std::mutex mu_;
  std::vector<std::pair<int, std::string>> new_conns_;
  std::vector<std::unique_ptr<Job>> done_;
};

void Workers::run() {
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job->outcome = dsw::serve(job->endpoint,
                              std::string_view(job->buf).substr(job->body_off, job->body_len), options_);
    Loop* loop = job->loop;
    loop->post_done(std::move(job));
  }
}

void Loop::run() {
  std::vector<epoll_event> events(256);
  Clock::time_point last_tick = Clock::now();
  for (;;) {
    if (srv_.stopping.load(std::memory_order_relaxed) && !stop_seen_) on_stop();
    if (stop_seen_ && conns_.empty() && working_ == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      if (new_conns_.empty()) break;
    }
    int timeout = ready_.empty() ? static_cast<int>(kTick.count()) : 0;
    int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout);
    if (n < 0 && errno != EINTR) {
      logging::error("event loop failed", {{"reason", std::strerror(errno)}});
      break;
    }
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events[static_cast<std::size_t>(i)];
      if (ev.data.u64 == kListenerId) {
        if (!stop_seen_) accept_all();
      } else if (ev.data.u64 == kWakeId) {
        std::uint64_t v;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &v, sizeof v);
        std::vector<std::pair<int, std::string>> fresh;
        std::vector<std::unique_ptr<Job>> done;
        {
          std::lock_guard<std::mutex> lock(mu_);
          fresh.swap(new_conns_);
          done.swap(done_);
        }
        for (auto& [fd, remote] : fresh) {
          count_.fetch_sub(1, std::memory_order_relaxed);  // add_conn counts it again
          add_conn(fd, std::move(remote));
        }
        for (auto& job : done) {
          --working_;
          Conn* c = find(job->conn_id);
          if (c == nullptr) continue;  // cannot happen: a working connection is never closed
          std::size_t used = job->body_off + job->body_len;
          c->in = std::move(job->buf);
          finish_admission(*c, std::move(job->outcome));
          consume(*c, used);
          c->phase = Phase::Writing;
          if (write_out(*c)) after_write(*c);
        }
      } else if (Conn* c = find(ev.data.u64)) {
        on_event(*c);
      }
    }
    if (!ready_.empty()) {
      std::vector<std::uint64_t> again;
      again.swap(ready_);
      for (std::uint64_t id : again) {
        Conn* c = find(id);
        if (c != nullptr && (c->phase == Phase::Head || c->phase == Phase::Body)) read_and_process(*c);
      }
    }
    Clock::time_point now = Clock::now();
    if (now - last_tick >= kTick) {
      last_tick = now;
      check_deadlines(now);
    }
  }
}

void Loop::on_stop() {
  stop_seen_ = true;
  if (!listener_paused_) ::epoll_ctl(ep_, EPOLL_CTL_DEL, srv_.listen_fd, nullptr);
  // The last loop to let go of the listener closes it: from then on connections are refused.
  if (srv_.listeners_attached.fetch_sub(1) == 1) {
    ::close(srv_.listen_fd);
    srv_.listen_fd = -1;
  }
  std::vector<Conn*> idle;
  for (auto& [id, c] : conns_) {
    bool between_requests = c->phase == Phase::Head && !c->in_request && c->out.empty();
    if (c->phase == Phase::Handshake || between_requests) idle.push_back(c.get());
  }
  for (Conn* c : idle) close_conn(*c);
}

void Loop::accept_all() {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    int fd = ::accept4(srv_.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop watching the listener for a tick instead of spinning on it.
        logging::warn("cannot accept a connection", {{"reason", std::strerror(errno)}});
        ::epoll_ctl(ep_, EPOLL_CTL_DEL, srv_.listen_fd, nullptr);
        listener_paused_ = true;
        listener_paused_until_ = Clock::now() + kTick;
      }
      return;
    }
    if (srv_.open.load() >= srv_.config.max_connections) {
      ::close(fd);
      logging::warn("connection limit reached; connection closed",
                    {{"limit", srv_.config.max_connections}});
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Loop* target = pick_loop();
    if (target == this) add_conn(fd, peer_name(addr));
    else target->post_conn(fd, peer_name(addr));
  }
}

// Where a new connection goes: the first loop with fewer than kFillFirst connections, else the
// loop with the fewest. A few connections (an apiserver's usual keep-alive pool) then share one
// loop, which stays busy and hot in cache while the other loops sleep; had they been spread, every
// loop would wake for every few requests, and on a machine whose CPUs are also used by others
// (the client, the workers, other pods) a loop that was preempted holds its requests for a whole
// scheduler time slice (p99 ~4 ms instead of ~0.3 ms at 8 connections on 2 CPUs,
// docs/performance.md). Past the threshold the load is spread over all loops.
Loop* Loop::pick_loop() {
  for (auto& l : srv_.loops)
    if (l->size() < kFillFirst) return l.get();
  Loop* least = srv_.loops.front().get();
  for (auto& l : srv_.loops)
    if (l->size() < least->size()) least = l.get();
  return least;
}

void Loop::add_conn(int fd, std::string remote) {
  if (stop_seen_) {
    ::close(fd);
    return;
  }
  SSL* ssl = SSL_new(srv_.ctx);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    ::close(fd);
    logging::error("cannot set up TLS for a connection", {{"reason", ssl_error_reason()}});
    return;
  }
  SSL_set_accept_state(ssl);
  auto c = std::make_unique<Conn>();
  c->id = next_id_++;
  c->fd = fd;
  c->ssl = ssl;
  c->remote = std::move(remote);
  c->deadline = Clock::now() + std::chrono::seconds(srv_.config.io_timeout_sec);
  Conn& ref = *c;
  conns_.emplace(c->id, std::move(c));
  count_.fetch_add(1, std::memory_order_relaxed);
  srv_.open.fetch_add(1);
  // The ClientHello is often there already.
  handshake(ref);
}

void Loop::close_conn(Conn& c) {
  if (c.in_request) srv_.metrics.in_flight_add(-1);  // cut short: never answered
  free_conn(c);
  count_.fetch_sub(1, std::memory_order_relaxed);
  srv_.open.fetch_sub(1);
  conns_.erase(c.id);
}

void Loop::set_interest(Conn& c) {
  std::uint32_t want = 0;
  switch (c.phase) {
    case Phase::Handshake:
      want = c.ssl_wants_write ? EPOLLOUT : EPOLLIN;
      break;
    case Phase::Head:
    case Phase::Body:
      if (wants_bytes(c)) want |= c.ssl_wants_write ? EPOLLOUT : EPOLLIN;
      if (!c.out.empty()) want |= c.ssl_wants_read ? EPOLLIN : EPOLLOUT;
      break;
    case Phase::Writing:
      want = c.ssl_wants_read ? EPOLLIN : EPOLLOUT;
      break;
    case Phase::Draining:
      want = EPOLLIN;
      break;
    case Phase::Working:
      want = 0;
      break;
  }
  if (want == c.interest) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c.id;
  if (want == 0) ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
  else ::epoll_ctl(ep_, c.interest == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
  c.interest = want;
}

bool Loop::on_event(Conn& c) {
  switch (c.phase) {
    case Phase::Handshake:
      return handshake(c);
    case Phase::Head:
    case Phase::Body:
      if (!c.out.empty() && !write_out(c)) return false;  // a 100 Continue going out
      return read_and_process(c);
    case Phase::Writing:
      return write_out(c) && after_write(c);
    case Phase::Draining:
      return drain(c);
    case Phase::Working:
      return true;
  }
  return true;
}

bool Loop::handshake(Conn& c) {
  ERR_clear_error();
  int r = SSL_do_handshake(c.ssl);
  if (r == 1) {
    c.ssl_wants_write = false;
    c.phase = Phase::Head;
    return read_and_process(c);
  }
  int e = SSL_get_error(c.ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    c.ssl_wants_write = e == SSL_ERROR_WANT_WRITE;
    set_interest(c);
    return true;
  }
  if (logging::enabled(logging::Level::Debug))
    logging::debug("TLS handshake failed", {{"remote", c.remote}, {"reason", ssl_error_reason()}});
  close_conn(c);
  return false;
}

// Reads and handles requests until one is answered (or handed to a worker), the socket has
// nothing more, or the connection used its share of this round. Reading and handling alternate,
// so an answer goes out right after the record that completed its request: a request costs one
// read(2) and one write(2) (read-ahead is on), with no read that only finds EAGAIN.
bool Loop::read_and_process(Conn& c) {
  const std::size_t answered = c.requests;
  auto in_reading = [&c] { return c.phase == Phase::Head || c.phase == Phase::Body; };
  if (!c.in.empty()) {  // pipelined bytes, or a head that was waiting
    if (!process(c)) return false;
    if (c.requests != answered || !in_reading()) return true;
  }
  std::size_t budget = kReadBudget;
  bool failed = false;
  while (wants_bytes(c) && budget > 0) {
    // Straight into the buffer when room was reserved for a body; otherwise through the loop's
    // scratch buffer, so that an idle connection holds only what it was sent.
    std::size_t old = c.in.size();
    bool direct = c.in.capacity() - old >= kReadChunk;
    if (direct) c.in.resize(old + kReadChunk);
    char* dst = direct ? c.in.data() + old : scratch_.data();
    ERR_clear_error();
    int n = SSL_read(c.ssl, dst, static_cast<int>(kReadChunk));
    if (n > 0) {
      if (direct) c.in.resize(old + static_cast<std::size_t>(n));
      else c.in.append(dst, static_cast<std::size_t>(n));
      budget -= std::min(budget, static_cast<std::size_t>(n));
      if (!process(c)) return false;
      if (c.requests != answered || !in_reading()) return true;
      continue;
    }
    c.in.resize(old);
    int e = SSL_get_error(c.ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      c.ssl_wants_write = e == SSL_ERROR_WANT_WRITE;
      break;
    }
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
      c.peer_eof = true;  // close_notify or a FIN: what is here may still be a whole request
    } else {
      failed = true;
    }
    break;
  }
  if (failed || (c.peer_eof && in_reading())) {
    close_conn(c);  // a TLS error, or the client stopped sending before a whole request
    return false;
  }
  if (wants_bytes(c) && (budget == 0 || SSL_has_pending(c.ssl) == 1)) ready_.push_back(c.id);
  set_interest(c);
  return true;
}

void Loop::begin_request(Conn& c) {
  c.in_request = true;
  c.start = Clock::now();
  c.deadline = c.start + std::chrono::seconds(srv_.config.io_timeout_sec);
  srv_.metrics.in_flight_add(1);
}

// Handles what c.in holds: at most one request (the next waits until its answer is written).
bool Loop::process(Conn& c) {
  if (c.phase == Phase::Head) {
    // A request is timed and counted from its first byte (read now, or pipelined earlier).
    if (!c.in_request && !c.in.empty()) begin_request(c);
    std::size_t end = http::find_head_end(c.in, c.scanned);
    if (end == 0 && c.in.size() <= http::kMaxHeadBytes) return true;
    if (end == 0 || end > http::kMaxHeadBytes) {
      logging::warn("request headers too large; connection closed",
                    {{"remote", c.remote}, {"limit", http::kMaxHeadBytes}});
      c.admission = false;
      c.drain = true;
      c.head = http::RequestHead{};
      answer(c, 431, kPlain, "request headers too large: limit is 65536 bytes\n", false);
      finish_request(c, 431, nullptr, {});
      return write_out(c) && after_write(c);
    }
    http::ParseError err;
    if (!http::parse_request_head(std::string_view(c.in).substr(0, end), c.head, err)) {
      if (logging::enabled(logging::Level::Debug))
        logging::debug("malformed request", {{"remote", c.remote}, {"reason", err.message}});
      c.admission = false;
      c.drain = true;
      c.head = http::RequestHead{};
      answer(c, err.status, kPlain, err.message + "\n", false);
      finish_request(c, err.status, nullptr, {});
      return write_out(c) && after_write(c);
    }
    c.head_len = end;
    c.admission = c.head.path == "/mutate" || c.head.path == "/validate";
    c.endpoint = c.head.path == "/validate" ? Endpoint::Validate : Endpoint::Mutate;
    if (auto r = check(c.head, srv_.config.max_request_bytes)) {
      // An unread body cannot be told apart from a next request: answer and close.
      bool unread = body_unread(c.head);
      c.drain = unread;
      c.drain_limit = kDrainBytes;
      if (c.head.content_length_headers == 1 && c.head.content_length_valid && !c.head.transfer_encoding)
        c.drain_limit = static_cast<std::size_t>(  // plus room for the TLS records' own bytes
            std::min<std::uint64_t>(c.head.content_length + c.head.content_length / 32 + 65536, kDrainMaxBytes));
      reject(c, *r, c.head.keep_alive && !unread);
      if (!unread) consume(c, c.head_len);
      return write_out(c) && after_write(c);
    }
    c.body_len = c.admission ? static_cast<std::size_t>(c.head.content_length) : 0;
    c.phase = Phase::Body;
    if (c.in.size() < c.head_len + c.body_len) {
      c.in.reserve(c.head_len + c.body_len + kReadChunk);
      if (c.head.expect_continue) {
        c.out += "HTTP/1.1 100 Continue\r\n\r\n";
        if (!write_out(c)) return false;
      }
    }
  }
  if (c.phase == Phase::Body && c.in.size() >= c.head_len + c.body_len) return dispatch(c);
  return true;
}

bool Loop::dispatch(Conn& c) {
  if (c.admission) {
    if (c.body_len > srv_.config.offload_bytes && srv_.workers->available()) {
      auto job = std::make_unique<Job>();
      job->conn_id = c.id;
      job->loop = this;
      job->endpoint = c.endpoint;
      job->body_off = c.head_len;
      job->body_len = c.body_len;
      job->buf = std::move(c.in);
      c.in.clear();
      c.phase = Phase::Working;
      ++working_;
      set_interest(c);
      srv_.workers->push(std::move(job));
      return true;
    }
    finish_admission(c, dsw::serve(c.endpoint, std::string_view(c.in).substr(c.head_len, c.body_len),
                                   srv_.config.options));
  } else {
    const std::string& p = c.head.path;
    bool ka = c.head.keep_alive;
    int status = 200;
    if (p == "/healthz") {
      answer(c, status, kPlain, "ok\n", ka);
    } else if (p == "/readyz") {
      if (srv_.ready()) answer(c, status, kPlain, "ok\n", ka);
      else answer(c, status = 503, kPlain, srv_.shutting_down() ? "shutting down\n" : "not ready\n", ka);
    } else {
      answer(c, status, kMetricsType, srv_.metrics.render(), ka);
    }
    finish_request(c, status, nullptr, {});
  }
  consume(c, c.head_len + c.body_len);
  return write_out(c) && after_write(c);
}

void Loop::finish_admission(Conn& c, Outcome&& o) {
  if (o.http_status == 200) {
    answer(c, 200, kJson, o.body, c.head.keep_alive);
    finish_request(c, 200, &o, {});
  } else {
    std::string msg = o.body + "\n";
    answer(c, o.http_status, kPlain, msg, c.head.keep_alive);
    finish_request(c, o.http_status, nullptr, o.body);
  }
}

void Loop::reject(Conn& c, const Reject& r, bool keep_alive) {
  std::string extra;
  if (!r.allow.empty()) {
    extra = "Allow: ";
    extra += r.allow;
    extra += "\r\n";
  }
  answer(c, r.status, kPlain, r.message + "\n", keep_alive, extra);
  finish_request(c, r.status, nullptr, r.message);
}

// Queues the answer; the connection moves to Writing.
void Loop::answer(Conn& c, int status, std::string_view type, std::string_view body,
                  bool keep_alive, std::string_view extra) {
  ++c.requests;
  keep_alive = keep_alive && !c.peer_eof && !srv_.stopping.load(std::memory_order_relaxed) &&
               c.requests < srv_.config.keep_alive_max_requests;
  c.keep_alive = keep_alive;
  bool head_only = c.head.method == "HEAD";
  c.out.reserve(c.out.size() + 160 + body.size());
  http::append_response_head(c.out, status, type, body.size(), keep_alive, extra);
  if (!head_only) c.out += body;
  c.phase = Phase::Writing;
  c.deadline = Clock::now() + std::chrono::seconds(srv_.config.io_timeout_sec);
}

void Loop::finish_request(Conn& c, int status, const Outcome* o, std::string_view reason) {
  if (!c.in_request) return;
  c.in_request = false;
  srv_.metrics.in_flight_add(-1);
  srv_.metrics.observe_status(status);
  double seconds = std::chrono::duration<double>(Clock::now() - c.start).count();
  if (c.admission) {
    Verdict v = o != nullptr ? o->verdict : Verdict::Error;
    srv_.metrics.observe_review(c.endpoint, v, seconds);
    if (o != nullptr) {
      logging::info("review", {{"uid", o->uid},
                               {"kind", o->kind},
                               {"namespace", o->namespace_},
                               {"name", o->name},
                               {"operation", o->operation},
                               {"endpoint", to_string(c.endpoint)},
                               {"verdict", to_string(v)},
                               {"patch_ops", o->patch_ops},
                               {"warnings", o->warnings},
                               {"dry_run", o->dry_run},
                               {"api_version", o->api_version},
                               {"status", status},
                               {"duration_ms", seconds * 1000}});
    } else {
      logging::info("request refused", {{"endpoint", to_string(c.endpoint)},
                                        {"method", c.head.method},
                                        {"status", status},
                                        {"reason", reason},
                                        {"remote", c.remote},
                                        {"duration_ms", seconds * 1000}});
    }
  } else if (logging::enabled(logging::Level::Debug)) {
    logging::debug("request", {{"method", c.head.method},
                               {"path", c.head.path},
                               {"status", status},
                               {"remote", c.remote},
                               {"duration_ms", seconds * 1000}});
  }
}

void Loop::consume(Conn& c, std::size_t n) {
  n = std::min(n, c.in.size());
  if (c.in.capacity() > kKeepCapacity) c.in = c.in.substr(n);
  else c.in.erase(0, n);
  c.scanned = 0;
}

bool Loop::write_out(Conn& c) {
  while (c.out_off < c.out.size()) {
    ERR_clear_error();
    int n = SSL_write(c.ssl, c.out.data() + c.out_off, static_cast<int>(std::min<std::size_t>(c.out.size() - c.out_off, 1 << 30)));
    if (n > 0) {
      c.out_off += static_cast<std::size_t>(n);
      continue;
    }
    int e = SSL_get_error(c.ssl, n);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
      c.ssl_wants_read = e == SSL_ERROR_WANT_READ;
      set_interest(c);
      return true;
    }
    close_conn(c);  // the client went away
    return false;
  }
  c.ssl_wants_read = false;
  if (c.out.capacity() > kKeepCapacity) std::string().swap(c.out);
  else c.out.clear();
  c.out_off = 0;
  return true;
}

// After write_out: when the answer is all out, the connection goes on to the next request or
// closes.
bool Loop::after_write(Conn& c) {
  if (c.phase != Phase::Writing) {
    set_interest(c);
    return true;
  }
  if (!c.out.empty()) return true;  // waiting for the socket
  if (!c.keep_alive || c.peer_eof || srv_.stopping.load(std::memory_order_relaxed)) {
    if (!c.drain || c.peer_eof) {
      ERR_clear_error();
      if (!c.peer_eof) SSL_shutdown(c.ssl);  // close_notify, then the FIN
      close_conn(c);
      return false;
    }
    // Send close_notify and a FIN, then read until the client closes (bounded).
    ERR_clear_error();
    SSL_shutdown(c.ssl);
    ::shutdown(c.fd, SHUT_WR);
    c.phase = Phase::Draining;
    c.deadline = Clock::now() + kDrainTime;
    c.drained = 0;
    set_interest(c);
    return true;
  }
  c.phase = Phase::Head;
  c.head_len = c.body_len = 0;
  if (c.in.empty() && c.in.capacity() > 4096) std::string().swap(c.in);  // idle: hold nothing
  c.deadline = Clock::now() + std::chrono::seconds(srv_.config.keep_alive_timeout_sec);
  if (!c.in.empty() || SSL_has_pending(c.ssl) == 1) ready_.push_back(c.id);  // pipelined
  set_interest(c);
  return true;
}

bool Loop::drain(Conn& c) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.drained += static_cast<std::size_t>(n);
      if (c.drained <= c.drain_limit) continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      return true;
    }
    close_conn(c);
    return false;
  }
}

void Loop::check_deadlines(Clock::time_point now) {
  if (listener_paused_ && now >= listener_paused_until_ && !stop_seen_) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = kListenerId;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, srv_.listen_fd, &ev);
    listener_paused_ = false;
  }
  std::vector<Conn*> late;
  for (auto& [id, c] : conns_)
    if (c->phase != Phase::Working && now >= c->deadline) late.push_back(c.get());
  for (Conn* c : late) {
    if (c->in_request && logging::enabled(logging::Level::Debug))
      logging::debug("request timed out; connection closed", {{"remote", c->remote}});
    close_conn(*c);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
WebhookServer::Impl::~Impl() {
  loops.clear();
  workers.reset();
  if (listen_fd >= 0) ::close(listen_fd);
  SSL_CTX_free(ctx);
}

std::optional<std::string> WebhookServer::Impl::bind() {
  ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return "cannot set up TLS: " + ssl_error_reason();
  std::string tls_error;
  if (!certs.configure(*ctx, tls_error)) return tls_error.empty() ? "cannot set up TLS" : tls_error;
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A FIN without close_notify ends the request stream like any EOF (the client may still read).
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Read whole TLS records (and what follows) with one read(2), not a header and a body.
  SSL_CTX_set_read_ahead(ctx, 1);

  std::string where = config.bind_address + ":" + std::to_string(config.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  std::string port = std::to_string(config.port);
  if (int rc = ::getaddrinfo(config.bind_address.c_str(), port.c_str(), &hints, &res); rc != 0)
    return "cannot listen on " + where + ": " + ::gai_strerror(rc);
  int last_errno = 0;
  for (addrinfo* a = res; a != nullptr && listen_fd < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    // SO_REUSEADDR only: SO_REUSEPORT would let a second process bind the same port and
    // silently take half of the connections.
    int one = 1, zero = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      last_errno = errno;
      ::close(fd);
      continue;
    }
    listen_fd = fd;
  }
  ::freeaddrinfo(res);
  if (listen_fd < 0)
    return "cannot listen on " + where + (last_errno != 0 ? std::string(": ") + std::strerror(last_errno) : "");
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  owner.bound_port_ = ntohs(bound.ss_family == AF_INET6
                                ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  std::size_t n = config.loop_threads;
  if (n == 0) {
    // The CPUs this process may run on (a container's cpuset), not the machine's.
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpus = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (cpus <= 0) cpus = static_cast<int>(std::thread::hardware_concurrency());
    if (int quota = cgroup_cpu_quota(); quota > 0) cpus = std::min(cpus, quota);
    n = std::clamp<std::size_t>(static_cast<std::size_t>(cpus), 1, 8);
  }
  for (std::size_t i = 0; i < n; ++i) {
    loops.push_back(std::make_unique<Loop>(*this));
    if (auto err = loops.back()->init()) return err;
  }
  workers = std::make_unique<Workers>(config.worker_threads, config.options);
  return std::nullopt;
}

bool WebhookServer::Impl::serve() {
  if (loops.empty()) return false;
  owner.listening_.store(true);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops.size(); ++i) threads.emplace_back([this, i] { loops[i]->run(); });
  loops[0]->run();
  for (auto& t : threads) t.join();
  owner.listening_.store(false);
  return true;
}

void WebhookServer::Impl::stop() {
  stopping.store(true);
  for (auto& l : loops) l->wake();
  logging::info("stopped accepting; closing idle connections", {{"open_connections", open.load()}});
}

WebhookServer::WebhookServer(ServerConfig config, CertStore& certs, Metrics& metrics)
    : impl_(std::make_unique<Impl>(*this, std::move(config), certs, metrics)) {}

WebhookServer::~WebhookServer() = default;

std::optional<std::string> WebhookServer::bind() { return impl_->bind(); }
bool WebhookServer::serve() { return impl_->serve(); }
void WebhookServer::stop() { impl_->stop(); }
std::size_t WebhookServer::open_connections() const { return impl_->open_connections(); }

}  // namespace dsw::server
