// What the thread serving a connection knows of it and of the request it is handling: one
// thread-local object, the only state the hooks of http_server.cpp, the TLS record watcher
// (head_guard.h) and the close after a refusal (linger.h) share.
//
// cpp-httplib 0.11.4 runs one connection on one pool thread from accept to close, and runs every
// hook of a request (expect, pre-routing, handler, error handler, logger) on that thread;
// OpenSSL's message callback runs there too, inside the library's reads. So the connection a
// thread serves is known from the first TLS record it reads until its task ends.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "dsw/handler.h"
#include "serve/open_connections.h"
#include "serve/request_checks.h"

namespace dsw::server {

using Clock = std::chrono::steady_clock;

// The request being handled, from the first hook that sees its line and headers to the logger.
struct RequestState {
  bool active = false;  // a hook has seen the request's line and headers
  Clock::time_point start;
  Route route = Route::Unknown;  // decided once, by the first hook
  bool answered = false;         // the admission function produced an outcome
  bool refused = false;          // refused from its line and headers
  bool close_after = false;      // bytes of the request are left unread: close after the answer
  Outcome outcome;               // without its body
  std::string reason;            // why it was refused, for the log
};

struct ConnectionState {
  int fd = -1;  // -1 until the connection's first TLS record
  SSL* ssl = nullptr;
  std::string peer;  // the peer address, read from the socket ("" when unknown)
  OpenConnections::Entry* entry = nullptr;
  OpenConnections* registry = nullptr;

  // The TLS record watcher's counts (head_guard.h).
  bool in_request = false;  // between HeadGuard::request_started() and request_finished()
  bool cut = false;         // shut down by the bound or the deadline: nothing more is counted
  bool closing = false;     // being closed after an answer (linger.h)
  std::size_t head_bytes = 0;
  Clock::time_point first_byte;  // of the request being read; valid when head_bytes > 0

  RequestState request;

  // This thread now serves `fd`: registered as open (a connection of an earlier task that was
  // not released is let go first).
  void attach(int socket, SSL* session, OpenConnections& connections);
  // The connection's task ended (cpp-httplib closed the socket): unregistered and forgotten.
  void release();
  // Whether the connection was shut down by the bound or the deadline (its request will never
  // be answered, whatever cpp-httplib then tries to write).
  bool was_cut() const { return cut && !closing; }
};

// The connection the calling thread serves.
ConnectionState& this_connection();

}  // namespace dsw::server
