// `dynamodb-streams-webhook serve`: flags, start-up checks, the HTTPS server, certificate
// reloading, signals and the graceful shutdown sequence.
//
// Shutdown: SIGTERM or SIGINT -> /readyz answers 503 at once; reviews are still served for
// --shutdown-delay while the endpoint removal propagates (a second signal skips the rest of the
// delay) -> stop accepting and close idle keep-alive connections -> in-flight requests finish ->
// exit 0. If that takes longer than --shutdown-timeout (counted from the signal) the process
// logs what is left and exits 1.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "cli/flags.h"
#include "serve/serve_command.h"
#include "dsw/handler.h"
#include "serve/http_server.h"
#include "serve/logging.h"
#include "serve/memory.h"
#include "serve/metrics.h"
#include "serve/signals.h"
#include "serve/tls.h"
#include "version.h"

namespace dsw::commands {

namespace {

// Parses a byte size: a number with an optional unit B, K/KB (1000), Ki/KiB (1024), M/MB, Mi/MiB.
std::optional<std::size_t> parse_bytes(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0 || i > 15) return std::nullopt;
  double n = std::stod(text.substr(0, i));
  std::string unit = text.substr(i);
  double mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "K" || unit == "k" || unit == "KB" || unit == "kB") mult = 1e3;
  else if (unit == "Ki" || unit == "KiB") mult = 1024;
  else if (unit == "M" || unit == "MB") mult = 1e6;
  else if (unit == "Mi" || unit == "MiB") mult = 1024.0 * 1024.0;
  else return std::nullopt;
  return static_cast<std::size_t>(n * mult);
}

struct ShutdownState {
  std::mutex mu;
  std::condition_variable cv;
  bool served = false;  // serve() returned
};

}  // namespace

int serve(const std::vector<std::string>& args) {
  server::ServerConfig config;
  Options options;
  server::TlsSettings tls;
  std::string min_version = "1.2";
  logging::Level level = logging::Level::Info;
  logging::Format format = logging::Format::Json;
  double shutdown_delay = 5, shutdown_timeout = 25;

  cli::FlagSet flags(
      "serve", "dynamodb-streams-webhook serve --tls-cert-file FILE --tls-private-key-file FILE [FLAGS]",
      "Runs the HTTPS admission webhook: POST /mutate (defaulting) and POST /validate take\n"
      "AdmissionReview JSON (admission.k8s.io/v1 or v1beta1); GET /healthz, /readyz and /metrics\n"
      "(Prometheus) are served on the same port. The certificate and key files are watched and a\n"
      "rotated pair is used for new connections without a restart.");
  auto duration = [](const char* name, double& slot) {
    return [name, &slot](const std::string& v) { slot = cli::duration_flag(name, v, "e.g. 5s, 500ms, 1m"); };
  };
  flags.value("tls-cert-file", "FILE", "",
              "serving certificate (PEM; leaf first, then intermediates); required",
              [&](const std::string& v) { tls.cert_file = v; });
  flags.value("tls-private-key-file", "FILE", "", "private key of the certificate (PEM); required",
              [&](const std::string& v) { tls.key_file = v; });
  flags.value("port", "PORT", "8443", "HTTPS port (0 picks a free port and logs it)",
              [&](const std::string& v) { config.port = static_cast<int>(cli::whole_number_flag("port", v, 0, 65535)); });
  flags.value("bind-address", "ADDR", "0.0.0.0", "address to listen on (:: for IPv6)",
              [&](const std::string& v) {
                if (v.empty()) throw cli::UsageError{"--bind-address must not be empty"};
                config.bind_address = v;
              });
  flags.value("client-ca-file", "FILE", "",
              "require client certificates signed by a CA in FILE (the apiserver's webhook client "
              "certificate); off when empty",
              [&](const std::string& v) { tls.client_ca_file = v; });
  flags.value("tls-min-version", "1.2|1.3", "1.2",
              "lowest TLS version; TLS 1.2 uses ECDHE key exchange with AEAD ciphers only",
              [&](const std::string& v) {
                if (v != "1.2" && v != "1.3")
                  throw cli::UsageError{"--tls-min-version must be 1.2 or 1.3, not \"" + v + "\""};
                min_version = v;
              });
  flags.value("log-level", "LEVEL", "info", "debug, info, warn or error",
              [&](const std::string& v) {
                if (!logging::parse_level(v, level))
                  throw cli::UsageError{"--log-level must be debug, info, warn or error, not \"" + v + "\""};
              });
  flags.value("log-format", "json|text", "json", "one JSON object per line, or text for humans",
              [&](const std::string& v) {
                if (!logging::parse_format(v, format))
                  throw cli::UsageError{"--log-format must be json or text, not \"" + v + "\""};
              });
  flags.value("shutdown-delay", "DURATION", "5s",
              "after SIGTERM, keep serving this long with /readyz failing, before closing the "
              "listener",
              duration("shutdown-delay", shutdown_delay));
  flags.value("shutdown-timeout", "DURATION", "25s",
              "after SIGTERM, exit at the latest after this long (in-flight requests are cut)",
              duration("shutdown-timeout", shutdown_timeout));
  flags.value("max-request-bytes", "BYTES", "7Mi",
              "largest request body accepted (413 above, decided from Content-Length); units B, "
              "K, Ki, M, Mi",
              [&](const std::string& v) {
                auto b = parse_bytes(v);
                if (!b || *b < 1024)
                  throw cli::UsageError{"--max-request-bytes must be a size of at least 1Ki (e.g. 7Mi), not \"" + v + "\""};
                config.max_request_bytes = *b;
              });
  cli::add_admission_flags(flags, options);
  if (!flags.parse(args, std::cout)) return 0;
  if (!flags.positional().empty())
    throw cli::UsageError{"serve: unexpected argument \"" + flags.positional().front() + "\""};
  if (tls.cert_file.empty()) throw cli::UsageError{"serve: --tls-cert-file is required"};
  if (tls.key_file.empty()) throw cli::UsageError{"serve: --tls-private-key-file is required"};
  if (shutdown_timeout < shutdown_delay)
    throw cli::UsageError{"serve: --shutdown-timeout must not be shorter than --shutdown-delay"};
  tls.min_version = min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;

  // Before any thread starts (memory.h).
  const int arenas = server::memory::cap_arenas();

  // Signals are taken by one thread with sigwait(); every other thread inherits the mask.
  const sigset_t sigs = server::signals::take_stop_signals();

  server::CertStore certs(tls);
  if (auto err = certs.load_initial()) {
    std::cerr << "dynamodb-streams-webhook serve: " << *err << "\n";
    return 1;
  }

  logging::init(level, format);
  auto metrics = std::make_shared<server::Metrics>();
  {
    auto pair = certs.current();
    metrics->certificate_loaded(pair->not_after());
  }
  certs.on_reload([metrics](bool ok, const std::string& reason, const server::CertPair* pair) {
    metrics->certificate_reload(ok);
    if (ok) {
      metrics->certificate_loaded(pair->not_after());
      logging::info("certificate reloaded",
                    {{"serial", pair->serial_hex()}, {"not_after", static_cast<long long>(pair->not_after())}});
    } else {
      logging::error("new certificate refused; the previous one stays in use", {{"reason", reason}});
    }
  });

  server::WebhookServer srv(config, certs, *metrics,
                            [options](Endpoint endpoint, std::string_view body) {
                              return dsw::answer_review(endpoint, body, options);
                            });
  if (auto err = srv.bind()) {
    logging::shutdown();
    std::cerr << "dynamodb-streams-webhook serve: " << *err << "\n";
    return 1;
  }
  certs.start_watching(std::chrono::seconds(2));
  server::memory::Trimmer trimmer(std::chrono::seconds(1), [&metrics] { return metrics->responses(); });

  // The signal thread runs the shutdown sequence. It is joined before serve returns: when
  // serve() ends without a signal (the listener failed), it is woken with a SIGTERM of its own
  // and, finding `served` set, returns at once.
  ShutdownState state;
  std::thread signals([&state, sigs, &srv, shutdown_delay, shutdown_timeout] {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) return;
    {
      std::lock_guard<std::mutex> lock(state.mu);
      if (state.served) return;
    }
    auto t0 = std::chrono::steady_clock::now();
    srv.begin_shutdown();
    logging::info("shutting down: readiness off, still serving",
                  {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                   {"shutdown_delay_s", shutdown_delay},
                   {"shutdown_timeout_s", shutdown_timeout}});
    auto delay = std::chrono::duration<double>(shutdown_delay);
    timespec ts{};
    std::chrono::duration<double> left = delay - (std::chrono::steady_clock::now() - t0);
    if (left.count() > 0) {
      ts.tv_sec = static_cast<time_t>(left.count());
      ts.tv_nsec = static_cast<long>((left.count() - std::floor(left.count())) * 1e9);
      if (sigtimedwait(&sigs, nullptr, &ts) > 0) {
        std::lock_guard<std::mutex> lock(state.mu);
        if (!state.served) logging::info("second signal: skipping the rest of the shutdown delay");
      }
    }
    srv.stop();
    auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(shutdown_timeout));
    std::unique_lock<std::mutex> lock(state.mu);
    if (!state.cv.wait_until(lock, deadline, [&] { return state.served; })) {
      logging::error("shutdown timeout: exiting with requests still open",
                     {{"open_connections", srv.open_connections()}});
      logging::shutdown();
      std::_Exit(1);
    }
  });

  auto pair = certs.current();
  logging::info("serving", {{"version", DSW_VERSION},
                            {"address", config.bind_address},
                            {"port", srv.bound_port()},
                            {"tls_min_version", min_version},
                            {"client_certificates", !tls.client_ca_file.empty()},
                            {"certificate_serial", pair->serial_hex()},
                            {"max_request_bytes", config.max_request_bytes},
                            {"malloc_arenas", arenas},
                            {"enforcement", std::string(to_string(options.enforcement))}});
  pair.reset();
  bool ok = srv.run();
  certs.stop_watching();
  trimmer.stop();
  {
    std::lock_guard<std::mutex> lock(state.mu);
    state.served = true;
  }
  state.cv.notify_all();
  pthread_kill(signals.native_handle(), SIGTERM);  // blocked everywhere: only sigwait sees it
  signals.join();
  if (!ok) {
    logging::error("listener failed", {});
    logging::shutdown();
    return 1;
  }
  logging::info("stopped", {});
  logging::shutdown();
  return 0;
}

}  // namespace dsw::commands
