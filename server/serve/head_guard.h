// Bounds on reading a request's line and headers, which cpp-httplib 0.11.4 does not have, kept
// from below the library through OpenSSL's message callback: it shows the header of every TLS
// record read, on the thread that serves the connection (connection_state.h).
//
// - A bound on a request's line and headers, which the library buffers without any
//   (CVE-2025-53628: one header line of unbounded length; CVE-2025-52887: no limit on the number
//   of header lines). The bytes of TLS records read between the end of one answer and the start
//   of the next request's handling are counted per connection; past kMaxHeadBytes the connection
//   is shut down (no answer: the library has no way to send a 431 from there).
// - A deadline for a whole request: records that keep arriving more than kRequestDeadline after
//   the request's first byte shut the connection down (the library has only per-read timeouts,
//   so a client trickling a byte every few seconds would hold its thread for ever).
//
// The first record of a connection also attaches it to its thread (ConnectionState::attach),
// which registers it in OpenConnections.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>

#include "serve/open_connections.h"

namespace dsw::server::head_guard {

inline constexpr std::size_t kMaxHeadBytes = 64 * 1024;
inline constexpr std::chrono::seconds kRequestDeadline{10};

// Installs the record watcher on a server SSL_CTX; `connections` must outlive the context's
// connections.
void install(SSL_CTX& ctx, OpenConnections* connections);

// A request's handling starts on this thread (its headers are read): the connection is busy and
// the bytes that follow are its body.
void request_started();
// Its answer is written: the connection is idle, and the next request's bytes count from zero.
void request_finished();

}  // namespace dsw::server::head_guard
