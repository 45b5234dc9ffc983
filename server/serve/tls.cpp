#include "serve/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace dsw::server {

namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// TLS 1.2: forward secrecy (ECDHE) and authenticated encryption (GCM, ChaCha20-Poly1305) only.
// TLS 1.3 suites are all AEAD with ephemeral key exchange; OpenSSL's defaults are kept.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

}  // namespace

std::optional<std::string> read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::string(std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return std::string("read error");
  out = ss.str();
  return std::nullopt;
}

CertPair::~CertPair() {
  if (leaf_ != nullptr) X509_free(leaf_);
  if (key_ != nullptr) EVP_PKEY_free(key_);
  if (chain_ != nullptr) sk_X509_pop_free(chain_, X509_free);
}

std::string CertPair::serial_hex() const {
  const ASN1_INTEGER* s = X509_get0_serialNumber(leaf_);
  BIGNUM* bn = ASN1_INTEGER_to_BN(s, nullptr);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn);
  std::string r = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return r;
}

std::shared_ptr<const CertPair> CertPair::from_pem(const std::string& cert_pem,
                                                   const std::string& key_pem,
                                                   const std::string& cert_path,
                                                   const std::string& key_path,
                                                   std::string& error) {
  ERR_clear_error();
  std::shared_ptr<CertPair> p(new CertPair());
  {
    BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
    p->leaf_ = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    if (p->leaf_ == nullptr) {
      BIO_free(bio);
      error = "certificate file " + cert_path + " holds no PEM certificate";
      ERR_clear_error();
      return nullptr;
    }
    p->chain_ = sk_X509_new_null();
    while (X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr))
      sk_X509_push(p->chain_, extra);
    ERR_clear_error();  // the end of the file reads as an error
    BIO_free(bio);
  }
  {
    BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
    p->key_ = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (p->key_ == nullptr) {
      error = "private key file " + key_path + " holds no PEM private key";
      ERR_clear_error();
      return nullptr;
    }
  }
  if (X509_check_private_key(p->leaf_, p->key_) != 1) {
    error = "private key file " + key_path + " does not match certificate file " + cert_path;
    ERR_clear_error();
    return nullptr;
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(p->leaf_), &tm) == 1) p->not_after_ = timegm(&tm);
  return p;
}

CertStore::CertStore(TlsSettings settings) : settings_(std::move(settings)) {}

CertStore::~CertStore() { stop_watching(); }

std::optional<std::string> CertStore::load_initial() {
  std::string cert, key, error;
  if (auto err = read_file(settings_.cert_file, cert))
    return "cannot read certificate file " + settings_.cert_file + ": " + *err;
  if (auto err = read_file(settings_.key_file, key))
    return "cannot read private key file " + settings_.key_file + ": " + *err;
  auto pair = CertPair::from_pem(cert, key, settings_.cert_file, settings_.key_file, error);
  if (!pair) return error;
  if (!settings_.client_ca_file.empty()) {
    std::string ca;
    if (auto err = read_file(settings_.client_ca_file, ca))
      return "cannot read client CA file " + settings_.client_ca_file + ": " + *err;
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings_.client_ca_file.c_str());
    ERR_clear_error();
    if (names == nullptr || sk_X509_NAME_num(names) == 0) {
      if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
      return "client CA file " + settings_.client_ca_file + " holds no PEM certificate";
    }
    sk_X509_NAME_pop_free(names, X509_NAME_free);
  }
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(pair);
  seen_cert_ = std::move(cert);
  seen_key_ = std::move(key);
  return std::nullopt;
}

bool CertStore::configure(SSL_CTX& ctx, std::string& error) {
  SSL_CTX* c = &ctx;
  if (SSL_CTX_set_min_proto_version(c, settings_.min_version) != 1 ||
      SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1) {
    error = "TLS settings refused: " + openssl_error();
    return false;
  }
  // No compression (CRIME), no renegotiation, our cipher order; no session resumption, so every
  // handshake sees the current certificate and no session state has to be shared.
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  if (!settings_.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c, settings_.client_ca_file.c_str(), nullptr) != 1) {
      error = "client CA file " + settings_.client_ca_file + ": " + openssl_error();
      return false;
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings_.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(c, names);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  }
  SSL_CTX_set_cert_cb(c, &CertStore::cert_callback, this);
  return true;
}

int CertStore::cert_callback(SSL* ssl, void* arg) {
  auto* self = static_cast<CertStore*>(arg);
  std::shared_ptr<const CertPair> pair = self->current();
  if (!pair) return 0;
  // Copies references into this connection only; the SSL_CTX and other connections are untouched.
  if (SSL_use_cert_and_key(ssl, pair->leaf(), pair->key(), pair->chain(), 1) != 1) {
    ERR_clear_error();
    return 0;
  }
  return 1;
}

std::shared_ptr<const CertPair> CertStore::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

bool CertStore::poll_once() {
  std::string cert, key, cert_again, read_error;
  if (auto e = read_file(settings_.cert_file, cert)) {
    read_error = "cannot read certificate file " + settings_.cert_file + ": " + *e;
  } else if (auto e2 = read_file(settings_.key_file, key)) {
    read_error = "cannot read private key file " + settings_.key_file + ": " + *e2;
  } else if (read_file(settings_.cert_file, cert_again) || cert_again != cert) {
    // The kubelet swaps both files at once through `..data`; reading the certificate again makes
    // sure the two reads did not straddle a swap. Look again next time.
    return false;
  }
  if (!read_error.empty()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (read_error == reported_error_) return false;  // already reported
      // A file can be missing for a moment during a swap: report only when it stays so.
      if (read_error != pending_error_) {
        pending_error_ = read_error;
        return false;
      }
      reported_error_ = read_error;
      seen_cert_.clear();
      seen_key_.clear();
    }
    if (on_reload_) on_reload_(false, read_error, nullptr);
    return true;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_error_.clear();
    reported_error_.clear();
    if (cert == seen_cert_ && key == seen_key_) return false;
    seen_cert_ = cert;
    seen_key_ = key;
  }
  std::string error;
  auto pair = CertPair::from_pem(cert, key, settings_.cert_file, settings_.key_file, error);
  if (pair) {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = pair;
  }
  if (on_reload_) on_reload_(pair != nullptr, error, pair.get());
  return true;
}

void CertStore::start_watching(std::chrono::milliseconds interval) {
  watcher_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> lock(watch_mu_);
    while (!watch_stop_) {
      if (watch_cv_.wait_for(lock, interval, [this] { return watch_stop_; })) break;
      lock.unlock();
      poll_once();
      lock.lock();
    }
  });
}

void CertStore::stop_watching() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watch_stop_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace dsw::server
