#include "net/https_client.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

namespace dsw::net {

namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Why the last handshake of this thread refused the server's certificate ("" when it did not).
// A handshake runs in the thread that sends the request, so a thread-local is enough.
thread_local std::string t_verify_error;

std::string subject_of(X509* cert) {
  if (cert == nullptr) return {};
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

int verify_callback(int preverify_ok, X509_STORE_CTX* ctx) {
  if (preverify_ok == 1) return 1;
  const int err = X509_STORE_CTX_get_error(ctx);
  if (t_verify_error.empty()) {
    t_verify_error = X509_verify_cert_error_string(err);
    if (err == X509_V_ERR_HOSTNAME_MISMATCH || err == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      t_verify_error += " (the certificate does not name the server's host)";
    } else {
      std::string subject = subject_of(X509_STORE_CTX_get_current_cert(ctx));
      if (!subject.empty()) t_verify_error += " (certificate " + subject + ")";
    }
  }
  return 0;
}

// Reads every PEM certificate of `pem`; `what` names it in errors.
bool read_certificates(const std::string& pem, std::vector<X509*>& out) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return false;
  while (X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) out.push_back(c);
  ERR_clear_error();  // the end of the data reads as an error
  BIO_free(bio);
  return !out.empty();
}

void free_all(std::vector<X509*>& certs) {
  for (X509* c : certs) X509_free(c);
  certs.clear();
}

// The server's certificate is checked by OpenSSL during the handshake (SSL_VERIFY_PEER) against
// a store holding only the given CAs, with the host name or IP address set on the context's
// verification parameters. cpp-httplib's own check is switched off: it would add the system's
// default CA paths to the store and fall back to the certificate's CN.
bool configure_tls(SSL_CTX* ctx, const TlsOptions& tls, const std::string& verify_name,
                   std::string& error) {
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    error = "TLS settings refused: " + openssl_error();
    return false;
  }
  std::vector<X509*> cas;
  if (!read_certificates(tls.ca_pem, cas)) {
    error = (tls.ca_origin.empty() ? std::string("the CA data") : tls.ca_origin) +
            " holds no PEM certificate";
    return false;
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (X509* c : cas) {
    if (X509_STORE_add_cert(store, c) != 1) {
      // The same certificate twice is harmless; anything else is not.
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
        error = "cannot use the CA of " + tls.ca_origin + ": " + openssl_error();
        free_all(cas);
        return false;
      }
      ERR_clear_error();
    }
  }
  free_all(cas);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_callback);
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
                                             X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  const int named = is_ip_address(verify_name)
                        ? X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str())
                        : X509_VERIFY_PARAM_set1_host(param, verify_name.c_str(), verify_name.size());
  if (named != 1) {
    error = "cannot verify the server name \"" + verify_name + "\": " + openssl_error();
    return false;
  }

  if (tls.client_cert_pem.empty() != tls.client_key_pem.empty()) {
    error = tls.client_cert_pem.empty() ? tls.client_key_origin + " is given without a client certificate"
                                        : tls.client_cert_origin + " is given without a client key";
    return false;
  }
  if (tls.client_cert_pem.empty()) return true;
  std::vector<X509*> chain;
  if (!read_certificates(tls.client_cert_pem, chain)) {
    error = tls.client_cert_origin + " holds no PEM certificate";
    return false;
  }
  bool ok = SSL_CTX_use_certificate(ctx, chain.front()) == 1;
  for (std::size_t i = 1; ok && i < chain.size(); ++i)
    ok = SSL_CTX_add1_chain_cert(ctx, chain[i]) == 1;
  free_all(chain);
  if (!ok) {
    error = "cannot use " + tls.client_cert_origin + ": " + openssl_error();
    return false;
  }
  BIO* bio = BIO_new_mem_buf(tls.client_key_pem.data(), static_cast<int>(tls.client_key_pem.size()));
  EVP_PKEY* key = bio != nullptr ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  if (bio != nullptr) BIO_free(bio);
  if (key == nullptr) {
    ERR_clear_error();
    error = tls.client_key_origin + " holds no PEM private key";
    return false;
  }
  ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!ok) {
    ERR_clear_error();
    error = tls.client_key_origin + " does not match " + tls.client_cert_origin;
    return false;
  }
  return true;
}

std::string describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection: return "cannot connect";
    case httplib::Error::ConnectionTimeout: return "connection timed out";
    case httplib::Error::Read: return "connection lost while reading the answer (or read timeout)";
    case httplib::Error::Write: return "connection lost while sending the request";
    case httplib::Error::SSLConnection: return "TLS handshake failed";
    case httplib::Error::SSLServerVerification: return "server certificate refused";
    case httplib::Error::SSLLoadingCerts: return "cannot load the CA certificates";
    case httplib::Error::Canceled: return "request canceled";
    default: return httplib::to_string(e);
  }
}

template <class Rep, class Period>
void split(std::chrono::duration<Rep, Period> d, time_t& sec, time_t& usec) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  sec = static_cast<time_t>(us / 1'000'000);
  usec = static_cast<time_t>(us % 1'000'000);
}

}  // namespace

std::string Url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

bool is_loopback(std::string_view host) {
  if (iequals(host, "localhost") || host == "::1") return true;
  std::string h(host);
  in_addr a{};
  if (inet_pton(AF_INET, h.c_str(), &a) != 1) return false;
  return (ntohl(a.s_addr) >> 24) == 127;
}

std::optional<Url> parse_url(std::string_view text, std::string& error) {
  Url u;
  std::string_view rest;
  if (text.rfind("https://", 0) == 0) {
    u.scheme = "https";
    u.port = 443;
    rest = text.substr(8);
  } else if (text.rfind("http://", 0) == 0) {
    u.scheme = "http";
    u.port = 80;
    rest = text.substr(7);
  } else {
    error = "\"" + std::string(text) + "\" is not an https:// (or http://) URL";
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    if (path.find_first_of("?#") != std::string_view::npos) {
      error = "the server URL \"" + std::string(text) + "\" must not have a query or fragment";
      return std::nullopt;
    }
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    u.base_path = std::string(path);
  }
  if (authority.find('@') != std::string_view::npos) {
    error = "the server URL must not hold user information";
    return std::nullopt;
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "the server URL \"" + std::string(text) + "\" has an unclosed [";
      return std::nullopt;
    }
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "the server URL \"" + std::string(text) + "\" is malformed";
        return std::nullopt;
      }
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) {
    error = "the server URL \"" + std::string(text) + "\" has no host";
    return std::nullopt;
  }
  if (!port.empty() || (authority.size() > 0 && authority.back() == ':')) {
    int p = 0;
    bool digits = !port.empty() && port.size() <= 5;
    for (char c : port) {
      if (c < '0' || c > '9') digits = false;
      else p = p * 10 + (c - '0');
    }
    if (!digits || p < 1 || p > 65535) {
      error = "the server URL \"" + std::string(text) + "\" has an invalid port";
      return std::nullopt;
    }
    u.port = p;
  }
  return u;
}

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

std::vector<std::string> Response::headers_named(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) out.push_back(v);
  return out;
}

Client::~Client() = default;

std::unique_ptr<Client> Client::create(const Url& url, const TlsOptions& tls,
                                       const ClientOptions& options, std::string& error) {
  std::unique_ptr<Client> c(new Client());
  c->url_ = url;
  c->options_ = options;
  c->verify_name_ = tls.server_name.empty() ? url.host : tls.server_name;
  if (url.scheme == "http") {
    if (!is_loopback(url.host)) {
      error = "plain http:// is accepted only for a loopback address (such as kubectl proxy's "
              "http://127.0.0.1:8001); use https:// for " + url.authority();
      return nullptr;
    }
    c->impl_ = std::make_unique<httplib::ClientImpl>(url.host, url.port);
  } else {
    if (tls.ca_pem.empty()) {
      error = "no CA to verify " + url.authority() + "'s certificate against";
      return nullptr;
    }
    auto ssl = std::make_unique<httplib::SSLClient>(url.host, url.port);
    if (!ssl->is_valid()) {
      error = "cannot create a TLS context: " + openssl_error();
      return nullptr;
    }
    ssl->enable_server_certificate_verification(false);  // OpenSSL verifies: configure_tls()
    if (!configure_tls(ssl->ssl_context(), tls, c->verify_name_, error)) return nullptr;
    c->impl_ = std::move(ssl);
  }
  auto& impl = *c->impl_;
  time_t s = 0, us = 0;
  split(options.connect_timeout, s, us);
  impl.set_connection_timeout(s, us);
  split(options.read_timeout, s, us);
  impl.set_read_timeout(s, us);
  split(options.write_timeout, s, us);
  impl.set_write_timeout(s, us);
  impl.set_keep_alive(true);
  impl.set_follow_location(false);
  impl.set_url_encode(false);  // paths and queries arrive encoded (url_encode)
  impl.set_tcp_nodelay(true);
  return c;
}

Response Client::send(const Request& request) {
  httplib::Request req;
  req.method = request.method;
  req.path = url_.base_path + request.path;
  for (const auto& [k, v] : request.headers) req.headers.emplace(k, v);
  if (!token_.empty()) req.headers.emplace("Authorization", "Bearer " + token_);
  if (!options_.user_agent.empty()) req.headers.emplace("User-Agent", options_.user_agent);
  if (!request.body.empty() || !request.content_type.empty()) {
    req.body = request.body;
    if (!request.content_type.empty()) req.headers.emplace("Content-Type", request.content_type);
  }
  Response out;
  const std::size_t cap = options_.max_response_bytes;
  req.content_receiver = [&out, cap](const char* data, std::size_t n, std::uint64_t offset,
                                     std::uint64_t length) {
    if (out.body.size() + n > cap || length > cap) {
      out.too_large = true;
      return false;
    }
    // With a Content-Length the body is allocated once, not grown (and copied) by doubling.
    if (offset == 0 && length > 0) out.body.reserve(static_cast<std::size_t>(length));
    out.body.append(data, n);
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  t_verify_error.clear();
  const bool ok = impl_->send(req, res, err);
  if (ok || (out.too_large && res.status > 0)) {
    out.status = res.status;
    for (const auto& [k, v] : res.headers) out.headers.emplace_back(k, v);
    return out;
  }
  out.body.clear();
  out.too_large = false;
  out.error = describe(err) + " (" + url_.authority() + ")";
  if (!t_verify_error.empty()) {
    out.tls_verify_failed = true;
    out.error = "the server's certificate was refused: " + t_verify_error + " (" +
                url_.authority() + ", verified as \"" + verify_name_ + "\")";
    t_verify_error.clear();
  }
  ERR_clear_error();
  return out;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace dsw::net
