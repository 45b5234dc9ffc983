#include "serve/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

namespace dsw::server {

namespace {

constexpr const char* kPrefix = "dynamodb_streams_webhook_";

std::size_t endpoint_index(Endpoint e) { return e == Endpoint::Mutate ? 0 : 1; }

// The order of kKinds in the exposition.
constexpr dsw::ObjectKind kKindOrder[] = {dsw::ObjectKind::Application, dsw::ObjectKind::AckTable,
                                          dsw::ObjectKind::KroTable, dsw::ObjectKind::Other};

std::size_t kind_index(ObjectKind k) {
  switch (k) {
    case ObjectKind::Application: return 0;
    case ObjectKind::AckTable: return 1;
    case ObjectKind::KroTable: return 2;
    case ObjectKind::Other: return 3;
  }
  return 3;
}

// `endpoint="mutate",kind="Application"`: the labels both admission series share.
std::string endpoint_kind_labels(const char* endpoint, ObjectKind kind) {
  return std::string("endpoint=\"") + endpoint + "\",kind=\"" + std::string(to_string(kind)) +
         "\"";
}

std::size_t verdict_index(Verdict v) {
  switch (v) {
    case Verdict::Allowed: return 0;
    case Verdict::Denied: return 1;
    case Verdict::Warned: return 2;
    case Verdict::Patched: return 3;
    case Verdict::Error: return 4;
  }
  return 4;
}

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string short_num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

long open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  long n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

double resident_bytes() {
  std::ifstream f("/proc/self/statm");
  long size = 0, resident = 0;
  if (!(f >> size >> resident)) return 0;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double virtual_bytes() {
  std::ifstream f("/proc/self/statm");
  long size = 0;
  if (!(f >> size)) return 0;
  return static_cast<double>(size) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

}  // namespace

Metrics::Metrics()
    : start_time_(std::chrono::duration<double>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count()) {}

void Metrics::observe_review(Endpoint endpoint, ObjectKind kind, Verdict outcome,
                             double seconds) {
  auto e = endpoint_index(endpoint);
  auto k = kind_index(kind);
  requests_[e][k][verdict_index(outcome)].fetch_add(1, std::memory_order_relaxed);
  Histogram& h = durations_[e][k];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      h.buckets[i].fetch_add(1, std::memory_order_relaxed);
      break;  // cumulative counts are summed when rendering
    }
  }
  h.count.fetch_add(1, std::memory_order_relaxed);
  h.sum_ns.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

std::uint64_t Metrics::responses() const {
  std::uint64_t n = 0;
  for (const auto& s : statuses_) n += s.load(std::memory_order_relaxed);
  return n;
}

void Metrics::observe_status(int status) {
  if (status >= 100 && status < 600)
    statuses_[static_cast<std::size_t>(status - 100)].fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(24576);
  const char* endpoints[] = {"mutate", "validate"};
  const char* verdicts[] = {"allowed", "denied", "warned", "patched", "error"};

  std::string name = std::string(kPrefix) + "admission_requests_total";
  header(out, name, "counter",
         "Admission requests by endpoint, object kind and outcome (allowed, denied, warned: "
         "allowed by --enforcement warn although it would have been denied, patched, error).");
  for (std::size_t e = 0; e < kEndpoints; ++e) {
    for (ObjectKind kind : kKindOrder) {
      const std::size_t k = kind_index(kind);
      const std::string labels = endpoint_kind_labels(endpoints[e], kind);
      for (std::size_t v = 0; v < kVerdicts; ++v)
        out += name + "{" + labels + ",outcome=\"" + verdicts[v] + "\"} " +
               std::to_string(requests_[e][k][v].load(std::memory_order_relaxed)) + "\n";
    }
  }

  name = std::string(kPrefix) + "admission_request_duration_seconds";
  header(out, name, "histogram",
         "Time from the request headers to the written answer, admission endpoints.");
  for (std::size_t e = 0; e < kEndpoints; ++e) {
    for (ObjectKind kind : kKindOrder) {
      const Histogram& h = durations_[e][kind_index(kind)];
      const std::string labels = endpoint_kind_labels(endpoints[e], kind);
      std::uint64_t cum = 0;
      // Read the count first so that the buckets never exceed it in one scrape.
      std::uint64_t count = h.count.load();
      for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        cum += h.buckets[i].load(std::memory_order_relaxed);
        out += name + "_bucket{" + labels + ",le=\"" + short_num(kBuckets[i]) + "\"} " +
               std::to_string(cum < count ? cum : count) + "\n";
      }
      out += name + "_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(count) + "\n";
      out += name + "_sum{" + labels + "} " + num(static_cast<double>(h.sum_ns.load()) / 1e9) +
             "\n";
      out += name + "_count{" + labels + "} " + std::to_string(count) + "\n";
    }
  }

  name = std::string(kPrefix) + "http_responses_total";
  header(out, name, "counter", "HTTP responses by status code, all paths.");
  for (std::size_t i = 0; i < statuses_.size(); ++i) {
    auto v = statuses_[i].load(std::memory_order_relaxed);
    if (v != 0) out += name + "{code=\"" + std::to_string(i + 100) + "\"} " + std::to_string(v) + "\n";
  }

  name = std::string(kPrefix) + "requests_in_flight";
  header(out, name, "gauge", "HTTP requests being read, handled or answered.");
  out += name + " " + std::to_string(in_flight_.load()) + "\n";

  name = std::string(kPrefix) + "certificate_expiry_timestamp_seconds";
  header(out, name, "gauge", "Expiry (notAfter) of the serving certificate, Unix seconds.");
  out += name + " " + std::to_string(cert_expiry_.load()) + "\n";

  name = std::string(kPrefix) + "certificate_reloads_total";
  header(out, name, "counter",
         "Attempts to load a changed certificate and key, by result (success, failure).");
  out += name + "{result=\"success\"} " + std::to_string(reload_ok_.load()) + "\n";
  out += name + "{result=\"failure\"} " + std::to_string(reload_failed_.load()) + "\n";

  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  header(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.");
  out += "process_cpu_seconds_total " + num(cpu) + "\n";
  header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out += "process_resident_memory_bytes " + num(resident_bytes()) + "\n";
  header(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  out += "process_virtual_memory_bytes " + num(virtual_bytes()) + "\n";
  header(out, "process_open_fds", "gauge", "Number of open file descriptors.");
  out += "process_open_fds " + std::to_string(open_fds()) + "\n";
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    header(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    out += "process_max_fds " + num(static_cast<double>(rl.rlim_cur)) + "\n";
  }
  header(out, "process_start_time_seconds", "gauge",
         "Start time of the process since the Unix epoch in seconds.");
  out += "process_start_time_seconds " + num(start_time_) + "\n";
  return out;
}

}  // namespace dsw::server
