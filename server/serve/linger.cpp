#include "serve/linger.h"

#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>

#include "serve/connection_state.h"

namespace dsw::server {

void close_after_answer() {
  ConnectionState& c = this_connection();
  if (c.fd < 0) return;
  if (c.ssl != nullptr) SSL_set_shutdown(c.ssl, SSL_get_shutdown(c.ssl) | SSL_RECEIVED_SHUTDOWN);
  c.cut = true;  // what is drained is not counted
  c.closing = true;
  linger_drain(c.fd);
}

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
