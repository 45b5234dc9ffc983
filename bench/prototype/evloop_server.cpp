// EXPERIMENT, not the product: how fast could the webhook answer on this machine without
// cpp-httplib's thread-per-connection model? One epoll loop per worker thread (SO_REUSEPORT),
// non-blocking sockets, OpenSSL memory-free SSL_read/SSL_write, a minimal HTTP/1.1 keep-alive
// parser, and the same dsw::serve() as the real server. No logging, metrics, limits beyond a
// body cap, or graceful shutdown: it only bounds what a different HTTP layer could reach, for
// docs/performance.md. Built with the benchmarks; run by hand:
//   evloop_server CERT KEY PORT [THREADS] [log]
// With `log`, each review gets a JSON log line with the real server's fields, appended to a
// per-thread buffer that goes to stderr with one write(2) per batch of ready connections.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dsw/handler.h"

namespace {

constexpr std::size_t kMaxBody = 7u << 20;
bool g_log = false;
thread_local std::string t_log;  // log lines of the current batch

// The real server's per-review fields (values here are identifiers: no escaping needed for the
// benchmark's reviews; a real implementation escapes them).
void log_review(const dsw::Outcome& o, std::string_view endpoint, double ms) {
  char line[768];
  int n = std::snprintf(
      line, sizeof line,
      "{\"level\":\"info\",\"msg\":\"review\",\"uid\":\"%s\",\"kind\":\"%s\",\"namespace\":\"%s\","
      "\"name\":\"%s\",\"operation\":\"%s\",\"endpoint\":\"%.*s\",\"verdict\":\"%.*s\","
      "\"patch_ops\":%zu,\"warnings\":%zu,\"dry_run\":%s,\"api_version\":\"%s\",\"status\":%d,"
      "\"duration_ms\":%.3f}\n",
      o.uid.c_str(), o.kind.c_str(), o.namespace_.c_str(), o.name.c_str(), o.operation.c_str(),
      static_cast<int>(endpoint.size()), endpoint.data(),
      static_cast<int>(dsw::to_string(o.verdict).size()), dsw::to_string(o.verdict).data(),
      o.patch_ops, o.warnings, o.dry_run ? "true" : "false", o.api_version.c_str(), o.http_status, ms);
  if (n > 0) t_log.append(line, std::min(static_cast<std::size_t>(n), sizeof line - 1));
}

void flush_log() {
  std::size_t off = 0;
  while (off < t_log.size()) {
    ssize_t n = ::write(STDERR_FILENO, t_log.data() + off, t_log.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  t_log.clear();
}

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string in;
  std::string out;
  std::size_t out_off = 0;
  bool close_after = false;
  bool want_write = false;
};

int listen_on(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, SOMAXCONN) != 0) {
    std::perror("bind/listen");
    std::exit(1);
  }
  return s;
}

// Case-insensitive "name:" at the start of a header line.
bool header_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if ((line[i] | 0x20) != name[i]) return false;
  return true;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
  return v;
}

void respond(Conn& c, int status, std::string_view type, std::string_view body) {
  const char* reason = status == 200 ? "OK" : status == 400 ? "Bad Request" : status == 404 ? "Not Found" : "Error";
  c.out += "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: ";
  c.out += type;
  c.out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (c.close_after) c.out += "Connection: close\r\n";
  c.out += "\r\n";
  c.out += body;
}

// Handles every complete request in c.in; false on a malformed one.
bool handle_requests(Conn& c, const dsw::Options& options) {
  for (;;) {
    std::size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return c.in.size() < 65536;
    std::string_view head(c.in.data(), end);
    std::size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) return false;
    std::string_view method = line.substr(0, sp1), path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t length = 0;
    std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    while (!rest.empty()) {
      std::size_t e = rest.find("\r\n");
      std::string_view h = rest.substr(0, e);
      if (header_is(h, "content-length")) {
        length = std::strtoull(std::string(trim(h.substr(15))).c_str(), nullptr, 10);
        if (length > kMaxBody) return false;
      } else if (header_is(h, "connection") && trim(h.substr(11)) == "close") {
        c.close_after = true;
      }
      if (e == std::string_view::npos) break;
      rest.remove_prefix(e + 2);
    }
    if (c.in.size() < end + 4 + length) return true;  // body not complete yet
    std::string_view body(c.in.data() + end + 4, length);
    if (method == "POST" && (path == "/mutate" || path == "/validate")) {
      auto start = std::chrono::steady_clock::now();
      dsw::Endpoint e = path == "/mutate" ? dsw::Endpoint::Mutate : dsw::Endpoint::Validate;
      dsw::Outcome o = dsw::serve(e, body, options);
      respond(c, o.http_status, o.http_status == 200 ? "application/json" : "text/plain", o.body);
      if (g_log)
        log_review(o, dsw::to_string(e),
                   std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    } else if (path == "/healthz") {
      respond(c, 200, "text/plain", "ok\n");
    } else {
      respond(c, 404, "text/plain", "not found\n");
    }
    c.in.erase(0, end + 4 + length);
  }
}

void close_conn(int ep, Conn* c) {
  ::epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, nullptr);
  SSL_free(c->ssl);
  ::close(c->fd);
  delete c;
}

// Writes what is pending; false when the connection is finished.
bool flush(int ep, Conn& c) {
  while (c.out_off < c.out.size()) {
    int n = SSL_write(c.ssl, c.out.data() + c.out_off, static_cast<int>(c.out.size() - c.out_off));
    if (n > 0) {
      c.out_off += static_cast<std::size_t>(n);
      continue;
    }
    int err = SSL_get_error(c.ssl, n);
    if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
      if (!c.want_write) {
        epoll_event ev{EPOLLIN | EPOLLOUT, {&c}};
        ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        c.want_write = true;
      }
      return true;
    }
    return false;
  }
  c.out.clear();
  c.out_off = 0;
  if (c.want_write) {
    epoll_event ev{EPOLLIN, {&c}};
    ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_write = false;
  }
  return !c.close_after;
}

void on_ready(int ep, Conn* c, const dsw::Options& options) {
  char buf[65536];
  for (;;) {
    int n = SSL_read(c->ssl, buf, sizeof buf);
    if (n > 0) {
      c->in.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    int err = SSL_get_error(c->ssl, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    close_conn(ep, c);
    return;
  }
  if (!handle_requests(*c, options) || !flush(ep, *c)) close_conn(ep, c);
}

void worker(SSL_CTX* ctx, int port) {
  dsw::Options options;
  int ls = listen_on(port);
  int ep = ::epoll_create1(0);
  epoll_event lev{EPOLLIN, {nullptr}};
  ::epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
  std::vector<epoll_event> events(256);
  for (;;) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr);
      if (c == nullptr) {
        for (;;) {
          int fd = ::accept4(ls, nullptr, nullptr, SOCK_NONBLOCK);
          if (fd < 0) break;
          int one = 1;
          ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto* nc = new Conn;
          nc->fd = fd;
          nc->ssl = SSL_new(ctx);
          SSL_set_fd(nc->ssl, fd);
          SSL_set_accept_state(nc->ssl);
          epoll_event ev{EPOLLIN, {nc}};
          ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      if ((events[static_cast<std::size_t>(i)].events & EPOLLOUT) && !flush(ep, *c)) {
        close_conn(ep, c);
        continue;
      }
      on_ready(ep, c, options);
    }
    if (!t_log.empty()) flush_log();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: evloop_server CERT KEY PORT [THREADS]\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);  // a client that went away must not end the process
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  int port = std::atoi(argv[3]);
  int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  g_log = argc > 5 && std::string_view(argv[5]) == "log";
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker, ctx, port);
  for (auto& t : pool) t.join();
}
