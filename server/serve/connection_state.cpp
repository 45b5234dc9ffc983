#include "serve/connection_state.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace dsw::server {

namespace {

// Read from the socket, never from a request header (CVE-2025-66570: cpp-httplib 0.11.4 lets a
// client's X-Forwarded-For or REMOTE_ADDR header stand for its address).
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

}  // namespace

ConnectionState& this_connection() {
  thread_local ConnectionState state;
  return state;
}

void ConnectionState::attach(int socket, SSL* session, OpenConnections& connections) {
  release();
  fd = socket;
  ssl = session;
  peer = peer_of(socket);
  registry = &connections;
  entry = connections.add(socket);
}

void ConnectionState::release() {
  if (entry != nullptr) registry->remove(entry);
  *this = ConnectionState{};
}

}  // namespace dsw::server
