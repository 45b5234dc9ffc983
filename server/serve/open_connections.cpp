#include "serve/open_connections.h"

#include <sys/socket.h>

namespace dsw::server {

OpenConnections::Entry* OpenConnections::add(int fd) {
  auto entry = std::make_unique<Entry>(fd);
  Entry* e = entry.get();
  std::lock_guard<std::mutex> lock(mu_);
  open_.emplace(e, std::move(entry));
  return e;
}

void OpenConnections::remove(Entry* entry) {
  std::lock_guard<std::mutex> lock(mu_);
  open_.erase(entry);
}

std::size_t OpenConnections::close_idle() {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (auto& [key, e] : open_) {
    if (!e->busy.load()) {
      ::shutdown(e->fd, SHUT_RDWR);  // the read cpp-httplib waits in sees the end
      ++n;
    }
  }
  return n;
}

std::size_t OpenConnections::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_.size();
}

}  // namespace dsw::server
