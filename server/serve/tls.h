// Serving certificate handling: loading a certificate chain and key from PEM files, checking that
// they belong together, installing them into new TLS handshakes through OpenSSL's certificate
// callback, and picking up a rotated pair (Kubernetes Secret `..data` symlink swap, cert-manager
// renewal) without a restart. A broken new pair is refused and the last good one keeps serving.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace dsw::server {

// A loaded, consistent certificate chain and private key. Immutable once built.
class CertPair {
 public:
  ~CertPair();
  CertPair(const CertPair&) = delete;
  CertPair& operator=(const CertPair&) = delete;

  // Loads the pair from PEM text; on failure returns nullptr and sets `error` to a one-line
  // reason naming the file.
  static std::shared_ptr<const CertPair> from_pem(const std::string& cert_pem,
                                                  const std::string& key_pem,
                                                  const std::string& cert_path,
                                                  const std::string& key_path, std::string& error);

  X509* leaf() const { return leaf_; }
  EVP_PKEY* key() const { return key_; }
  STACK_OF(X509) * chain() const { return chain_; }
  std::int64_t not_after() const { return not_after_; }
  std::string serial_hex() const;

 private:
  CertPair() = default;
  X509* leaf_ = nullptr;
  EVP_PKEY* key_ = nullptr;
  STACK_OF(X509)* chain_ = nullptr;
  std::int64_t not_after_ = 0;
};

// Reads a whole file; returns a one-line reason on failure.
std::optional<std::string> read_file(const std::string& path, std::string& out);

struct TlsSettings {
  std::string cert_file, key_file;
  std::string client_ca_file;  // empty: no client certificates asked for
  int min_version = TLS1_2_VERSION;
};

class CertStore {
 public:
  using Observer = std::function<void(const CertPair&)>;
  using ReloadObserver = std::function<void(bool ok, const std::string& reason, const CertPair*)>;

  explicit CertStore(TlsSettings settings);
  ~CertStore();

  // Loads the initial pair (and checks the client CA file). Returns a one-line error or nothing.
  std::optional<std::string> load_initial();
  // Configures a fresh SSL_CTX: protocol versions, ciphers, options, client verification and the
  // certificate callback. Returns false (with `error`) when OpenSSL refuses a setting.
  bool configure(SSL_CTX& ctx, std::string& error);

  std::shared_ptr<const CertPair> current() const;

  // Checks the files once: a changed, good pair replaces the current one. Returns true when the
  // files changed since the last check (whether or not the new pair was good).
  bool poll_once();
  // Polls every `interval` on a background thread until stop_watching().
  void start_watching(std::chrono::milliseconds interval);
  void stop_watching();

  void on_reload(ReloadObserver f) { on_reload_ = std::move(f); }

 private:
  static int cert_callback(SSL* ssl, void* arg);

  TlsSettings settings_;
  mutable std::mutex mu_;
  std::shared_ptr<const CertPair> current_;
  std::string seen_cert_, seen_key_;  // file contents last examined (good or not)
  std::string pending_error_, reported_error_;  // unreadable files: seen once, reported
  ReloadObserver on_reload_;

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watch_stop_ = false;
  std::thread watcher_;
};

}  // namespace dsw::server
