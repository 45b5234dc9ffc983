// The connections `serve` has open, seen from below cpp-httplib: through OpenSSL's message
// callback, which shows the header of every TLS record read, on the thread that serves the
// connection (cpp-httplib 0.11.4 runs one connection on one pool thread from accept to close,
// and every hook of a request on that same thread).
//
// What this adds to cpp-httplib 0.11.4:
// - A bound on a request's line and headers, which the library buffers without any
//   (CVE-2025-53628: one header line of unbounded length; CVE-2025-52887: no limit on the number
//   of header lines). The bytes of TLS records read between the end of one answer and the start
//   of the next request's handling are counted per connection; past kMaxHeadBytes the connection
//   is shut down (no answer: the library has no way to send a 431 from there).
// - A deadline for a whole request: records that keep arriving more than kRequestDeadline after
//   the request's first byte shut the connection down (the library has only per-read timeouts,
//   so a client trickling a byte every few seconds would hold its thread for ever).
// - The list of open connections, so that idle keep-alive connections can be closed at shutdown
//   (the library would keep them until their keep-alive timeout), and the peer address of each,
//   read from the socket (never from a request header: CVE-2025-66570).
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dsw::server {

class Connections {
 public:
  static constexpr std::size_t kMaxHeadBytes = 64 * 1024;
  static constexpr std::chrono::seconds kRequestDeadline{10};

  // Installs the record counter on a server SSL_CTX; `self` must outlive the context's
  // connections.
  static void install(SSL_CTX& ctx, Connections* self);

  // A request's handling starts on this thread (its headers are read): the connection is busy
  // and the bytes that follow are its body.
  void request_started();
  // Its answer is written: the connection is idle, and the next request's bytes count from zero.
  void request_finished();
  // The connection's task ended (cpp-httplib closed the socket).
  void task_done();

  // Shuts down every connection that is not handling a request; returns how many.
  std::size_t close_idle();
  std::size_t size() const;

  // The socket of the connection this thread serves (-1 before its first TLS record), and its
  // peer address ("" when unknown).
  static int current_fd();
  static const std::string& current_peer();
  // Whether this connection was shut down by the bound or the deadline above (its request will
  // never be answered, whatever cpp-httplib then tries to write).
  static bool current_was_cut();

  // After an answer that left request bytes unread (a refusal before the body, or a request
  // cpp-httplib itself refused): nothing more is read from this connection as a request, and it
  // closes once the client has had a second to read the answer. cpp-httplib would otherwise
  // parse the unread body as a next request (CVE-2026-34441). OpenSSL is told the peer has shut
  // down, so even bytes it has already decrypted are never handed out again; then the socket is
  // drained (linger_drain) and its read side shut, so the library's keep-alive wait ends at once.
  static void close_current_after_answer();

 private:
  static void on_record(int write_p, int version, int content_type, const void* buf,
                        std::size_t len, SSL* ssl, void* arg);
  void register_current(int fd, SSL* ssl);
  void unregister_current();

  // One per open connection, owned here; its thread marks it busy or idle without a lock.
  struct Entry {
    int fd;
    std::atomic<bool> busy{false};
  };
  mutable std::mutex mu_;  // taken when a connection opens or closes, and at shutdown
  std::unordered_map<Entry*, std::unique_ptr<Entry>> open_;
};

// Shuts the write side, then reads and drops what the client still sends for at most a second,
// then shuts the read side: closing a socket with unread data makes the kernel send a reset,
// which can destroy the answer before the client has read it.
void linger_drain(int fd);

}  // namespace dsw::server
