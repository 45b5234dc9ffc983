#include "serve/head_guard.h"

#include <sys/socket.h>

#include "serve/connection_state.h"
#include "serve/logging.h"

namespace dsw::server::head_guard {

namespace {

void cut(ConnectionState& c, const char* why) {
  c.cut = true;
  logging::warn(why, {{"remote", c.peer},
                      {"head_bytes", c.head_bytes},
                      {"limit_bytes", kMaxHeadBytes}});
  ::shutdown(c.fd, SHUT_RDWR);  // the read cpp-httplib is in sees the end, and its task ends
}

void on_record(int write_p, int, int content_type, const void* buf, std::size_t len, SSL* ssl,
               void* arg) {
  if (write_p != 0 || content_type != SSL3_RT_HEADER || len < 5) return;
  int fd = SSL_get_fd(ssl);
  if (fd < 0) return;
  ConnectionState& c = this_connection();
  if (c.fd != fd) c.attach(fd, ssl, *static_cast<OpenConnections*>(arg));
  if (c.cut) return;
  auto now = Clock::now();
  const auto* h = static_cast<const unsigned char*>(buf);
  std::size_t record = (static_cast<std::size_t>(h[3]) << 8) | h[4];
  if (!c.in_request) {
    // Request line and headers (and, on a new connection, the TLS handshake before them).
    if (c.head_bytes == 0) c.first_byte = now;
    c.head_bytes += record;
    if (c.head_bytes > kMaxHeadBytes) {
      cut(c, "request line and headers too large; connection closed");
      return;
    }
  }
  if (now - c.first_byte > kRequestDeadline)
    cut(c, "request not read whole within 10 s; connection closed");
}

}  // namespace

void install(SSL_CTX& ctx, OpenConnections* connections) {
  SSL_CTX_set_msg_callback(&ctx, &on_record);
  SSL_CTX_set_msg_callback_arg(&ctx, connections);
}

void request_started() {
  ConnectionState& c = this_connection();
  if (c.in_request) return;
  c.in_request = true;
  if (c.head_bytes == 0) c.first_byte = Clock::now();
  if (c.entry != nullptr) c.entry->busy.store(true);
}

void request_finished() {
  ConnectionState& c = this_connection();
  c.in_request = false;
  c.head_bytes = 0;
  if (c.entry != nullptr) c.entry->busy.store(false);
}

}  // namespace dsw::server::head_guard
