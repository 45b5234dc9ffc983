// The registry of the connections `serve` has open, so that idle keep-alive connections can be
// closed when shutdown begins (cpp-httplib 0.11.4 would keep each until its keep-alive timeout)
// and the count logged when the shutdown timeout cuts them.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace dsw::server {

class OpenConnections {
 public:
  // One open connection, owned by the registry; the thread serving it marks it busy or idle
  // without a lock.
  struct Entry {
    explicit Entry(int socket) : fd(socket) {}
    const int fd;
    std::atomic<bool> busy{false};
  };

  Entry* add(int fd);
  void remove(Entry* entry);

  // Shuts down every connection that is not handling a request; returns how many.
  std::size_t close_idle();
  std::size_t size() const;

 private:
  mutable std::mutex mu_;  // taken when a connection opens or closes, and at shutdown
  std::unordered_map<Entry*, std::unique_ptr<Entry>> open_;
};

}  // namespace dsw::server
