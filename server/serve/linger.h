// Closing a connection after an answer that left bytes of its request unread (a refusal before
// the body, or a request cpp-httplib itself refused).
#pragma once

namespace dsw::server {

// Nothing more is read from this thread's connection as a request, and it closes once the client
// has had a second to read the answer. cpp-httplib would otherwise parse the unread body as a
// next request (CVE-2026-34441). OpenSSL is told the peer has shut down, so even bytes it has
// already decrypted are never handed out again; then the socket is drained (linger_drain) and its
// read side shut, so the library's keep-alive wait ends at once.
void close_after_answer();

// Shuts the write side, then reads and drops what the client still sends for at most a second,
// then shuts the read side: closing a socket with unread data makes the kernel send a reset,
// which can destroy the answer before the client has read it.
void linger_drain(int fd);

}  // namespace dsw::server
