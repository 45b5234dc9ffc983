// `dynamodb-streams-webhook audit [--once] [FLAGS]`: flags, the connection, signals, and the loop
// of scans (scan.h does one). Logs are serve's: spdlog JSON lines on standard error.
#include "audit/audit_command.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>
#include <thread>

#include "audit/api_client.h"
#include "audit/kube_config.h"
#include "audit/report.h"
#include "audit/scan.h"
#include "cli/flags.h"
#include "net/https_client.h"
#include "net/retry.h"
#include "serve/logging.h"
#include "serve/signals.h"
#include "version.h"

namespace dsw::commands {

namespace {

constexpr int kComplete = 0, kFailed = 1, kConfig = 2, kPartlyWritten = 3;

const char* const kDescription =
    "Audits what the cluster already holds: lists every KubeVela Application\n"
    "(core.oam.dev/v1beta1), ACK Table (dynamodb.services.k8s.aws/v1alpha1) and kro\n"
    "DynamoDBTable (kro.run/v1alpha1), in pages, judges each exactly as the validating webhook\n"
    "judges a CREATE of it (with the admission flags below; always as --enforcement deny: an\n"
    "object the webhook would only warn about under warn is still reported as fail), and writes\n"
    "one OpenReports Report (openreports.io/v1alpha1; or a wgpolicyk8s.io/v1alpha2 PolicyReport)\n"
    "per namespace that holds audited objects: a result fail per field error, warn per warning,\n"
    "pass for an object with neither, with the texts the webhook answers. Its own stale reports\n"
    "(label app.kubernetes.io/managed-by=dynamodb-streams-webhook and name NAME or NAME-<k>) are\n"
    "deleted; reports of other tools are never touched. A kind that is not served is skipped.\n"
    "\n"
    "Reports are written only after every list has been read: a scan that cannot read\n"
    "everything writes and deletes nothing. Transient answers (429 and 503 with Retry-After,\n"
    "502, 504, lost connections) are retried with a bounded backoff; 410 Expired lists again;\n"
    "409 on a report reads it again and writes again.\n"
    "\n"
    "Connection: --kubeconfig FILE, else $KUBECONFIG, else the pod's service account\n"
    "(KUBERNETES_SERVICE_HOST/PORT, token and ca.crt), else ~/.kube/config; an https --server\n"
    "replaces their URL; an http --server is `kubectl proxy` (http://127.0.0.1:8001: loopback\n"
    "only, no credentials read or sent). Kubeconfig users:\n"
    "token, tokenFile, client-certificate(-data) + client-key(-data); exec and auth-provider\n"
    "users are not supported (use kubectl proxy). The server's certificate is always verified.\n"
    "\n"
    "Exit status: 0 the scan completed and every report was written (whatever it found);\n"
    "1 the scan could not complete (nothing written or deleted); 2 usage or configuration\n"
    "error; 3 the scan completed but some reports could not be written or deleted (the next\n"
    "scan writes them again). Without --once, scans repeat every --interval until SIGTERM and\n"
    "the status is that of the last scan.";

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

void log_outcome(const audit::ScanOutcome& o, const audit::ScanSettings& s) {
  using audit::ScanOutcome;
  const auto& a = o.applications;
  const auto& t = o.tables;
  const auto& k = o.kro_tables;
  const std::string kind(audit::resource_of(s.report.kind).kind);
  const char* msg = o.status == ScanOutcome::Status::Complete ? "scan complete"
                    : o.status == ScanOutcome::Status::PartlyWritten
                        ? (o.stopped ? "scan stopped; reports partly written"
                                     : "scan complete; reports partly written")
                    : o.stopped ? "scan stopped; nothing written"
                                : "scan failed; nothing written";
  // A stop is asked for (SIGTERM), not an error; what it leaves is said all the same.
  const logging::Level level =
      o.status == ScanOutcome::Status::Complete || (o.stopped && o.status == ScanOutcome::Status::Failed)
          ? logging::Level::Info
          : logging::Level::Error;
  logging::log(level, msg,
               {{"applications", a.objects},
                {"applications_pass", a.results.pass},
                {"applications_fail", a.results.fail},
                {"applications_warn", a.results.warn},
                {"applications_error", a.results.error},
                {"tables", t.objects},
                {"tables_pass", t.results.pass},
                {"tables_fail", t.results.fail},
                {"tables_warn", t.results.warn},
                {"tables_error", t.results.error},
                {"dynamodbtables", k.objects},
                {"dynamodbtables_pass", k.results.pass},
                {"dynamodbtables_fail", k.results.fail},
                {"dynamodbtables_warn", k.results.warn},
                {"dynamodbtables_error", k.results.error},
                {"namespaces", o.namespaces},
                {"report_kind", kind},
                {"reports_written", o.reports_written},
                {"reports_deleted", o.reports_deleted},
                {"write_failures", o.write_failures},
                {"duration_ms", static_cast<long long>(std::llround(o.seconds * 1000))},
                {"error", o.error}});
}

bool valid_namespace(const std::string& ns) {
  if (ns.empty() || ns.size() > 63) return false;
  for (std::size_t i = 0; i < ns.size(); ++i) {
    char c = ns[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c == '-' && i != 0 && i + 1 != ns.size());
    if (!ok) return false;
  }
  return true;
}

}  // namespace

int audit(const std::vector<std::string>& args) {
  audit::ConnectionFlags conn;
  audit::ScanSettings settings;
  bool once = false;
  double interval = 3600;
  double request_timeout = 30;
  long retries = 6;
  logging::Level level = logging::Level::Info;
  logging::Format format = logging::Format::Json;

  cli::FlagSet flags("audit", "dynamodb-streams-webhook audit [--once] [FLAGS]", kDescription);
  auto duration = [](const char* name, double& slot, double min) {
    return [name, &slot, min](const std::string& v) {
      slot = cli::duration_flag(name, v,
                                "e.g. 30s, 5m, 1h; at least " + std::to_string(static_cast<int>(min)) + "s",
                                min);
    };
  };
  auto whole = [](const char* name, const std::string& v, long lo, long hi) {
    return cli::whole_number_flag(name, v, lo, hi);
  };
  flags.toggle("once", "run one scan and exit (what the chart's CronJob runs)", [&] { once = true; });
  flags.value("interval", "DURATION", "1h", "without --once: time from the start of a scan to the next",
              duration("interval", interval, 1));
  flags.value("kubeconfig", "FILE", "", "kubeconfig to connect with (default: see above)",
              [&](const std::string& v) { conn.kubeconfig = v; });
  flags.value("context", "NAME", "", "kubeconfig context (default: its current-context)",
              [&](const std::string& v) { conn.context = v; });
  flags.value("server", "URL", "",
              "https: the apiserver URL, replacing the kubeconfig's or the service account's; "
              "http (loopback): kubectl proxy, e.g. http://127.0.0.1:8001, no credentials",
              [&](const std::string& v) { conn.server = v; });
  flags.value("service-account-dir", "DIR", conn.service_account_dir,
              "where the pod's service account token and ca.crt are",
              [&](const std::string& v) { conn.service_account_dir = v; });
  flags.value("namespace", "NS", "",
              "audit only this namespace (repeatable); reports are then read, written and "
              "deleted only there. Default: all namespaces",
              [&](const std::string& v) {
                if (!valid_namespace(v))
                  throw cli::UsageError{"--namespace \"" + v + "\" is not a namespace name"};
                if (std::find(settings.namespaces.begin(), settings.namespaces.end(), v) ==
                    settings.namespaces.end())
                  settings.namespaces.push_back(v);
              });
  flags.value("kinds", "LIST", "applications,tables,dynamodbtables",
              "what to audit: any of applications, tables (ACK), dynamodbtables (kro)",
              [&](const std::string& v) {
                settings.kinds.clear();
                std::stringstream ss(v);
                std::string item;
                while (std::getline(ss, item, ',')) {
                  ObjectKind k;
                  if (item == "applications") k = ObjectKind::Application;
                  else if (item == "tables") k = ObjectKind::AckTable;
                  else if (item == "dynamodbtables") k = ObjectKind::KroTable;
                  else
                    throw cli::UsageError{"--kinds: \"" + item +
                                          "\" is not applications, tables or dynamodbtables"};
                  if (std::find(settings.kinds.begin(), settings.kinds.end(), k) == settings.kinds.end())
                    settings.kinds.push_back(k);
                }
                if (settings.kinds.empty()) throw cli::UsageError{"--kinds needs at least one kind"};
              });
  flags.value("report-kind", "report|policyreport", "report",
              "write openreports.io/v1alpha1 Reports or wgpolicyk8s.io/v1alpha2 PolicyReports",
              [&](const std::string& v) {
                if (!audit::parse_report_kind(v, settings.report.kind))
                  throw cli::UsageError{"--report-kind must be report or policyreport, not \"" + v + "\""};
              });
  flags.value("report-name", "NAME", std::string(audit::kDefaultReportName),
              "name of the report in each namespace (parts: NAME-2, NAME-3, ...)",
              [&](const std::string& v) {
                std::string why;
                if (!audit::valid_report_name(v, why))
                  throw cli::UsageError{"--report-name \"" + v + "\" " + why};
                settings.report.name = v;
              });
  flags.value("max-report-bytes", "BYTES", std::to_string(audit::kDefaultMaxReportBytes),
              "largest report (compact JSON); a namespace with more results gets numbered parts",
              [&](const std::string& v) {
                settings.report.max_bytes = static_cast<std::size_t>(
                    whole("max-report-bytes", v, static_cast<long>(audit::kMinReportBytes), 1'000'000'000));
              });
  flags.value("page-size", "N", "500", "objects per list page (limit), 1 to 500",
              [&](const std::string& v) {
                settings.page_size = static_cast<std::size_t>(whole("page-size", v, 1, 500));
              });
  flags.value("request-timeout", "DURATION", "30s", "connect, read and write timeout of each request",
              duration("request-timeout", request_timeout, 1));
  flags.value("retries", "N", "6", "retries of a transient answer (429, 503, lost connection), 0 to 20",
              [&](const std::string& v) { retries = whole("retries", v, 0, 20); });
  flags.value("log-level", "LEVEL", "info", "debug, info, warn or error", [&](const std::string& v) {
    if (!logging::parse_level(v, level))
      throw cli::UsageError{"--log-level must be debug, info, warn or error, not \"" + v + "\""};
  });
  flags.value("log-format", "json|text", "json", "one JSON object per line, or text for humans",
              [&](const std::string& v) {
                if (!logging::parse_format(v, format))
                  throw cli::UsageError{"--log-format must be json or text, not \"" + v + "\""};
              });
  cli::add_admission_flags(flags, settings.options);
  if (!flags.parse(args, std::cout)) return 0;
  if (!flags.positional().empty())
    throw cli::UsageError{"audit: unexpected argument \"" + flags.positional().front() + "\""};

  // SIGTERM and SIGINT are taken by one thread: they stop the scan (before its first write) or
  // the wait for the next one.
  const sigset_t sigs = server::signals::take_stop_signals();

  logging::init(level, format);
  std::string error;
  auto connection = audit::load_connection(conn, audit::process_environment(), error);
  if (!connection) {
    logging::error("cannot connect to the apiserver", {{"error", error}});
    logging::shutdown();
    return kConfig;
  }
  net::ClientOptions copts;
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(request_timeout * 1000));
  copts.connect_timeout = copts.read_timeout = copts.write_timeout = timeout;
  copts.user_agent = std::string("dynamodb-streams-webhook/") + DSW_VERSION + " (audit)";
  // A page of `limit` objects is read whole; larger pages are asked for again, smaller.
  copts.max_response_bytes = 32u << 20;
  auto client = net::Client::create(connection->url, connection->tls, copts, error);
  if (!client) {
    logging::error("cannot connect to the apiserver", {{"error", error}, {"source", connection->source}});
    logging::shutdown();
    return kConfig;
  }
  net::RetryPolicy policy;
  policy.retries = static_cast<int>(retries);

  net::Stop stop;
  std::atomic<bool> finished{false};
  std::thread signals([&] {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0 || finished.load()) return;
    logging::info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    stop.request();
  });

  std::vector<std::string> kinds;
  for (ObjectKind k : settings.kinds) kinds.push_back(audit::audited_resource(k).qualified());
  logging::info("audit starting",
                {{"version", DSW_VERSION},
                 {"server", connection->url.scheme + "://" + connection->url.authority() + connection->url.base_path},
                 {"credentials", connection->source},
                 {"kinds", join(kinds)},
                 {"namespaces", settings.namespaces.empty() ? std::string("all") : join(settings.namespaces)},
                 {"report_kind", std::string(audit::resource_of(settings.report.kind).kind)},
                 {"report_name", settings.report.name},
                 {"once", once},
                 {"enforcement_judged_as", "deny"}});

  audit::ApiClient api(*client, policy, &stop);
  int status = kComplete;
  int scans = 0;
  for (;;) {
    const auto started = std::chrono::steady_clock::now();
    std::string token;
    if (!audit::current_token(*connection, token, error)) {
      logging::error("scan failed; nothing written", {{"error", error}});
      status = kFailed;
    } else {
      client->set_bearer_token(token);
      audit::ScanOutcome outcome = audit::run_scan(api, settings, stop);
      log_outcome(outcome, settings);
      const int scanned = outcome.status == audit::ScanOutcome::Status::Complete ? kComplete
                          : outcome.status == audit::ScanOutcome::Status::PartlyWritten
                              ? kPartlyWritten
                              : kFailed;
      // Without --once, a scan cut short by the stop is the end of the run, not its outcome.
      if (once || scans == 0 || !stop.requested()) status = scanned;
      ++scans;
    }
    if (once || stop.requested()) break;
    const auto next = started + std::chrono::milliseconds(static_cast<long long>(interval * 1000));
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - std::chrono::steady_clock::now());
    if (left.count() > 0 && !stop.wait_for(left)) break;
    if (stop.requested()) break;
  }

  finished.store(true);
  pthread_kill(signals.native_handle(), SIGTERM);  // blocked everywhere: only sigwait sees it
  signals.join();
  logging::info("stopped", {{"exit_status", status}});
  logging::shutdown();
  return status;
}

}  // namespace dsw::commands
