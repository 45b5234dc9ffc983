// `dynamodb-streams-webhook selftest`: flags, the HTTPS client (net/), the requests of
// probes.h in order, one output line per check.
#include "selftest/selftest_command.h"

#include <signal.h>

#include <chrono>
#include <iostream>

#include "cli/flags.h"
#include "cli/io.h"
#include "net/https_client.h"
#include "selftest/probes.h"
#include "version.h"

namespace dsw::commands {

namespace {

const char* const kDescription =
    "Checks a running webhook end to end over HTTPS, the way the apiserver calls it: GET\n"
    "/readyz, then a valid and an invalid KubeVela Application (CREATE, dry run) to /mutate\n"
    "and /validate. Each answer is compared with what this binary's own admission logic\n"
    "answers with the admission flags below, which must be the server's (the chart passes its\n"
    "admission.* values): the uid echoed, the valid Application allowed and defaulted (the\n"
    "JSON Patch decoded and compared), the invalid one denied with its field error (status and\n"
    "message exactly as /validate writes them), or, with --enforcement warn, admitted with that\n"
    "error as a warning. The server's certificate is verified against --ca-file only, and must\n"
    "name the URL's host (or --tls-server-name).\n"
    "\n"
    "Prints one line per check, \"ok   WHAT: DETAIL\" or \"FAIL WHAT: DETAIL\" (what was\n"
    "expected and what came back), then a summary. The chart's `helm test` runs it against the\n"
    "Service.\n"
    "\n"
    "Exit status: 0 every check held; 1 a check failed, or no connection (a refused or failed\n"
    "TLS handshake, a certificate that does not verify: the FAIL line says which); 2 usage or\n"
    "configuration error (flags, files that cannot be read or used).";

void print(const selftest::Check& c, int& failed) {
  if (!c.ok) ++failed;
  std::cout << (c.ok ? "ok   " : "FAIL ") << c.what << ": " << c.detail << "\n" << std::flush;
}

std::string read_file(const char* flag, const std::string& path) {
  std::string out;
  if (auto err = io::read_all(path, out)) throw cli::UsageError{std::string("selftest: --") + flag + ": " + *err};
  return out;
}

}  // namespace

int selftest(const std::vector<std::string>& args) {
  Options options;
  std::string url_text, ca_file, cert_file, key_file, server_name;
  double timeout = 10;
  cli::FlagSet flags("selftest", "dynamodb-streams-webhook selftest --url URL --ca-file FILE [FLAGS]", kDescription);
  flags.value("url", "URL", "",
              "the webhook's HTTPS base URL (required), e.g. "
              "https://dsw-dynamodb-streams-webhook.dsw-system.svc:443",
              [&](const std::string& v) { url_text = v; });
  flags.value("ca-file", "FILE", "",
              "PEM CA certificate(s) the server's certificate must chain to (required): the "
              "caBundle of the webhook configurations",
              [&](const std::string& v) { ca_file = v; });
  flags.value("tls-server-name", "NAME", "",
              "the DNS name (or IP address) the server's certificate must hold, when it is not "
              "the URL's host (e.g. the Service's name when --url is 127.0.0.1 of a port-forward)",
              [&](const std::string& v) { server_name = v; });
  flags.value("client-cert-file", "FILE", "",
              "client certificate (PEM, then its intermediates) to present, for a server that "
              "requires one (serve --client-ca-file); with --client-key-file",
              [&](const std::string& v) { cert_file = v; });
  flags.value("client-key-file", "FILE", "", "the private key (PEM) of --client-cert-file",
              [&](const std::string& v) { key_file = v; });
  flags.value("timeout", "DURATION", "10s", "connect, read and write timeout of each request",
              [&](const std::string& v) {
                timeout = cli::duration_flag("timeout", v, "e.g. 5s, 500ms; at most 1h", 0.001);
                if (timeout > 3600)
                  throw cli::UsageError{"--timeout: invalid duration \"" + v + "\" (e.g. 5s, 500ms; at most 1h)"};
              });
  cli::add_admission_flags(flags, options);
  if (!flags.parse(args, std::cout)) return 0;
  if (!flags.positional().empty())
    throw cli::UsageError{"selftest: unexpected argument \"" + flags.positional().front() + "\""};
  if (url_text.empty()) throw cli::UsageError{"selftest: --url is required"};
  if (ca_file.empty()) throw cli::UsageError{"selftest: --ca-file is required"};
  if (cert_file.empty() != key_file.empty())
    throw cli::UsageError{"selftest: --client-cert-file and --client-key-file go together"};
  std::string error;
  auto url = net::parse_url(url_text, error);
  if (!url) throw cli::UsageError{"selftest: --url: " + error};
  if (url->scheme != "https")
    throw cli::UsageError{"selftest: --url must be https:// (the webhook serves only TLS, and its certificate is part of the test)"};

  net::TlsOptions tls;
  tls.ca_pem = read_file("ca-file", ca_file);
  tls.ca_origin = "--ca-file " + ca_file;
  tls.server_name = server_name;
  if (!cert_file.empty()) {
    tls.client_cert_pem = read_file("client-cert-file", cert_file);
    tls.client_cert_origin = "--client-cert-file " + cert_file;
    tls.client_key_pem = read_file("client-key-file", key_file);
    tls.client_key_origin = "--client-key-file " + key_file;
  }
  net::ClientOptions copts;
  const auto each = std::chrono::milliseconds(static_cast<long long>(timeout * 1000));
  copts.connect_timeout = copts.read_timeout = copts.write_timeout = each;
  copts.max_response_bytes = 1u << 20;
  copts.user_agent = std::string("dynamodb-streams-webhook/") + DSW_VERSION + " (selftest)";
  auto client = net::Client::create(*url, tls, copts, error);
  if (!client) {
    std::cerr << "selftest: " << error << "\n";
    return 2;
  }
  // A server that closes the connection while we write must not end the process.
  ::signal(SIGPIPE, SIG_IGN);

  std::string types;
  for (const auto& t : options.applies_to) types += (types.empty() ? "" : ",") + t;
  std::cout << "selftest of " << url->scheme << "://" << url->authority() << url->base_path
            << " (certificate verified as \"" << (server_name.empty() ? url->host : server_name)
            << "\" against " << ca_file << "; expecting --enforcement " << to_string(options.enforcement)
            << ", --applies-to " << types << ")\n";
  int failed = 0, total = 0;
  auto finish = [&](bool cut_short) {
    if (cut_short) {
      std::cout << "selftest: stopped: no answer from the server (" << failed << " of " << total
                << " checks failed)\n";
    } else if (failed == 0) {
      std::cout << "selftest: all " << total << " checks passed\n";
    } else {
      std::cout << "selftest: " << failed << " of " << total << " checks failed\n";
    }
    return failed == 0 ? 0 : 1;
  };

  net::Request readyz;
  readyz.path = "/readyz";
  net::Response r = client->send(readyz);
  ++total;
  print(selftest::judge_readyz(r), failed);
  // Without a connection (refused, TLS handshake failed, certificate refused) nothing else can
  // be checked; the line above says why.
  if (!r.answered()) return finish(true);

  for (const auto& probe : selftest::admission_probes(options, selftest::random_uid)) {
    net::Request req;
    req.method = "POST";
    req.path = probe.path;
    req.body = probe.body;
    req.content_type = "application/json";
    req.headers.emplace_back("Accept", "application/json");
    r = client->send(req);
    for (const auto& c : selftest::judge(probe, r)) {
      ++total;
      print(c, failed);
    }
    if (!r.answered()) return finish(true);
  }
  return finish(false);
}

}  // namespace dsw::commands
