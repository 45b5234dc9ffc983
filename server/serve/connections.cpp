#include "serve/connections.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/logging.h"

namespace dsw::server {

namespace {

using Clock = std::chrono::steady_clock;

// The connection this thread serves.
struct Current {
  int fd = -1;
  SSL* ssl = nullptr;
  void* entry = nullptr;  // Connections::Entry* in the registry
  std::string peer;
  bool in_request = false;  // between request_started() and request_finished()
  bool cut = false;         // shut down by the counter: nothing more is counted
  bool closing = false;     // being closed after an answer (close_current_after_answer)
  std::size_t head_bytes = 0;
  Clock::time_point first_byte;  // of the request being read; valid when head_bytes > 0
};
thread_local Current t_conn;

std::string peer_of(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  char buf[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, buf, sizeof buf);
  } else if (addr.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

void cut(int fd, const char* why, std::size_t bytes) {
  t_conn.cut = true;
  logging::warn(why, {{"remote", t_conn.peer},
                      {"head_bytes", bytes},
                      {"limit_bytes", Connections::kMaxHeadBytes}});
  ::shutdown(fd, SHUT_RDWR);  // the read cpp-httplib is in sees the end, and its task ends
}

}  // namespace

void Connections::install(SSL_CTX& ctx, Connections* self) {
  SSL_CTX_set_msg_callback(&ctx, &Connections::on_record);
  SSL_CTX_set_msg_callback_arg(&ctx, self);
}

void Connections::on_record(int write_p, int, int content_type, const void* buf, std::size_t len,
                            SSL* ssl, void* arg) {
  if (write_p != 0 || content_type != SSL3_RT_HEADER || len < 5) return;
  int fd = SSL_get_fd(ssl);
  if (fd < 0) return;
  if (t_conn.fd != fd) static_cast<Connections*>(arg)->register_current(fd, ssl);
  if (t_conn.cut) return;
  auto now = Clock::now();
  const auto* h = static_cast<const unsigned char*>(buf);
  std::size_t record = (static_cast<std::size_t>(h[3]) << 8) | h[4];
  if (t_conn.head_bytes == 0 && !t_conn.in_request) t_conn.first_byte = now;
  if (!t_conn.in_request) {
    // Request line and headers (and, on a new connection, the TLS handshake before them).
    t_conn.head_bytes += record;
    if (t_conn.head_bytes > kMaxHeadBytes) {
      cut(fd, "request line and headers too large; connection closed", t_conn.head_bytes);
      return;
    }
  }
  if (now - t_conn.first_byte > kRequestDeadline)
    cut(fd, "request not read whole within 10 s; connection closed", t_conn.head_bytes);
}

void Connections::register_current(int fd, SSL* ssl) {
  unregister_current();  // a thread serves one connection at a time; a stale one is let go
  auto entry = std::make_unique<Entry>();
  entry->fd = fd;
  t_conn.fd = fd;
  t_conn.ssl = ssl;
  t_conn.entry = entry.get();
  t_conn.peer = peer_of(fd);
  std::lock_guard<std::mutex> lock(mu_);
  open_.emplace(entry.get(), std::move(entry));
}

void Connections::unregister_current() {
  if (t_conn.entry != nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    open_.erase(static_cast<Entry*>(t_conn.entry));
  }
  t_conn = Current{};
}

void Connections::request_started() {
  if (t_conn.in_request) return;
  t_conn.in_request = true;
  if (t_conn.head_bytes == 0) t_conn.first_byte = Clock::now();
  if (t_conn.entry != nullptr) static_cast<Entry*>(t_conn.entry)->busy.store(true);
}

void Connections::request_finished() {
  t_conn.in_request = false;
  t_conn.head_bytes = 0;
  if (t_conn.entry != nullptr) static_cast<Entry*>(t_conn.entry)->busy.store(false);
}

void Connections::task_done() { unregister_current(); }

std::size_t Connections::close_idle() {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (auto& [key, e] : open_) {
    if (!e->busy.load()) {
      ::shutdown(e->fd, SHUT_RDWR);
      ++n;
    }
  }
  return n;
}

std::size_t Connections::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_.size();
}

int Connections::current_fd() { return t_conn.fd; }
bool Connections::current_was_cut() { return t_conn.cut && !t_conn.closing; }

void Connections::close_current_after_answer() {
  if (t_conn.fd < 0) return;
  if (t_conn.ssl != nullptr)
    SSL_set_shutdown(t_conn.ssl, SSL_get_shutdown(t_conn.ssl) | SSL_RECEIVED_SHUTDOWN);
  t_conn.cut = true;  // what is drained is not counted
  t_conn.closing = true;
  linger_drain(t_conn.fd);
}
const std::string& Connections::current_peer() { return t_conn.peer; }

void linger_drain(int fd) {
  if (fd < 0) return;
  ::shutdown(fd, SHUT_WR);
  auto deadline = Clock::now() + std::chrono::seconds(1);
  char buf[16384];
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    if (::recv(fd, buf, sizeof buf, 0) <= 0) break;
  }
  ::shutdown(fd, SHUT_RD);  // whatever cpp-httplib reads next is the end of the stream
}

}  // namespace dsw::server
