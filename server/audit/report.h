// The report documents the audit writes (and `check --output openreports` prints): one
// OpenReports `Report` (openreports.io/v1alpha1) per namespace, or a wg-policy `PolicyReport`
// (wgpolicyk8s.io/v1alpha2) of the same content, named NAME, labelled
// app.kubernetes.io/managed-by=dynamodb-streams-webhook, with a summary counting its results.
//
// A namespace whose results do not fit in one object (max_bytes of compact JSON, 200 KiB by
// default: far below etcd's 1.5 MiB, and small enough for the last-applied-configuration
// annotation `kubectl apply` adds, whose limit is 256 KiB) gets numbered parts NAME, NAME-2,
// NAME-3, ..., each a complete report with the summary of its own results (Policy Reporter adds
// them up); an object's results stay in one part unless they alone exceed the budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/judge.h"
#include "audit/resource.h"

namespace dsw::audit {

enum class ReportKind { Report, PolicyReport };

// Where a report kind is served.
const Resource& resource_of(ReportKind k);
// The CRD to install when it is not served, and where it usually comes from.
std::string_view crd_of(ReportKind k);
bool parse_report_kind(std::string_view s, ReportKind& out);  // "report" or "policyreport"

inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kManagedBy = "dynamodb-streams-webhook";
inline constexpr std::string_view kSource = "dynamodb-streams-webhook";
inline constexpr std::string_view kDefaultReportName = "dynamodb-streams-webhook";
inline constexpr std::string_view kCategory = "DynamoDB Streams";
inline constexpr std::size_t kDefaultMaxReportBytes = 200u << 10;
inline constexpr std::size_t kMinReportBytes = 16u << 10;

// The policy and rule of the results of each kind.
std::string_view policy_of(ObjectKind k);
std::string_view rule_of(ObjectKind k);
std::string_view kind_name(ObjectKind k);  // "Application", "Table", "DynamoDBTable"

struct Timestamp {
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
  static Timestamp now();
};

struct ReportSettings {
  ReportKind kind = ReportKind::Report;
  std::string name{kDefaultReportName};
  std::size_t max_bytes = kDefaultMaxReportBytes;
  Timestamp timestamp;  // of every result: one per scan
};

// Whether `name` is a valid report name: an RFC 1123 subdomain short enough for "-NNNN" parts.
bool valid_report_name(std::string_view name, std::string& why);

// The name of part `index` (0-based): NAME, NAME-2, NAME-3, ...
std::string part_name(std::string_view base, std::size_t index);
// Whether `name` is one of the parts of `base` (NAME, or NAME-k with k >= 2, no leading zero).
bool is_part_name(std::string_view base, std::string_view name);

// The reports of one namespace ("" writes no metadata.namespace: kubectl's current namespace),
// for `objects` in their order. At least one document when `objects` is not empty.
std::vector<nlohmann::ordered_json> build_reports(const std::string& namespace_,
                                                  const std::vector<Judged>& objects,
                                                  const ReportSettings& settings);

struct Summary {
  std::size_t pass = 0, fail = 0, warn = 0, error = 0, skip = 0;
  void add(Result r);
};

}  // namespace dsw::audit
