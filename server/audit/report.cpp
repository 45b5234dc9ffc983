#include "audit/report.h"

#include <chrono>

namespace dsw::audit {

namespace {

using ojson = nlohmann::ordered_json;

std::string_view severity_of(Result r) {
  switch (r) {
    case Result::Fail: return "high";
    case Result::Error: return "medium";
    case Result::Warn: return "low";
    default: return "";
  }
}

ojson result_json(const Judged& obj, const Finding& f, const std::string& namespace_,
                  const ReportSettings& s) {
  ojson r;
  r["source"] = kSource;
  r["policy"] = policy_of(obj.kind);
  r["rule"] = rule_of(obj.kind);
  r["category"] = kCategory;
  if (auto sev = severity_of(f.result); !sev.empty()) r["severity"] = sev;
  r["result"] = to_string(f.result);
  if (!f.message.empty()) r["message"] = f.message;
  r["timestamp"] = {{"seconds", s.timestamp.seconds}, {"nanos", s.timestamp.nanos}};
  ojson ref;
  ref["apiVersion"] = obj.api_version;
  ref["kind"] = kind_name(obj.kind);
  if (!namespace_.empty()) ref["namespace"] = namespace_;
  ref["name"] = obj.name;
  if (!obj.uid.empty()) ref["uid"] = obj.uid;
  r["resources"] = ojson::array({std::move(ref)});
  ojson props = ojson::object();
  if (!f.field.empty()) props["field"] = f.field;
  if (!f.reason.empty()) props["reason"] = f.reason;
  if (!obj.defaults.empty()) props["defaults"] = obj.defaults;
  if (!props.empty()) r["properties"] = std::move(props);
  return r;
}

std::size_t json_size(const ojson& j) {
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace).size();
}

ojson envelope(const std::string& namespace_, const std::string& name, const ReportSettings& s) {
  const Resource& res = resource_of(s.kind);
  ojson doc;
  doc["apiVersion"] = res.api_version();
  doc["kind"] = res.kind;
  ojson md;
  md["name"] = name;
  if (!namespace_.empty()) md["namespace"] = namespace_;
  md["labels"] = {{std::string(kManagedByLabel), kManagedBy}};
  doc["metadata"] = std::move(md);
  // PolicyReport (v1alpha2) has no top-level source: an apiserver prunes it.
  if (s.kind == ReportKind::Report) doc["source"] = kSource;
  return doc;
}

}  // namespace

const Resource& resource_of(ReportKind k) {
  static const Resource report{"openreports.io", "v1alpha1", "reports", "Report"};
  static const Resource policy{"wgpolicyk8s.io", "v1alpha2", "policyreports", "PolicyReport"};
  return k == ReportKind::Report ? report : policy;
}

std::string_view crd_of(ReportKind k) {
  return k == ReportKind::Report
             ? "reports.openreports.io (the OpenReports CRDs, e.g. from the openreports Helm chart)"
             : "policyreports.wgpolicyk8s.io (the wg-policy CRDs, e.g. from the Policy Reporter "
               "or Kyverno Helm chart)";
}

bool parse_report_kind(std::string_view s, ReportKind& out) {
  if (s == "report") out = ReportKind::Report;
  else if (s == "policyreport") out = ReportKind::PolicyReport;
  else return false;
  return true;
}

std::string_view policy_of(ObjectKind k) {
  switch (k) {
    case ObjectKind::Application: return "dynamodb-streams-kro";
    case ObjectKind::AckTable: return "ack-table-stream";
    case ObjectKind::KroTable: return "kro-dynamodbtable-stream";
    case ObjectKind::Other: break;
  }
  return "other";
}

std::string_view rule_of(ObjectKind k) {
  switch (k) {
    case ObjectKind::Application: return "streams-trait";
    case ObjectKind::AckTable: return "stream-specification";
    case ObjectKind::KroTable: return "stream-fields";
    case ObjectKind::Other: break;
  }
  return "other";
}

std::string_view kind_name(ObjectKind k) { return to_string(k); }

Timestamp Timestamp::now() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return {static_cast<std::int64_t>(ns / 1'000'000'000),
          static_cast<std::int32_t>(ns % 1'000'000'000)};
}

void Summary::add(Result r) {
  switch (r) {
    case Result::Pass: ++pass; break;
    case Result::Fail: ++fail; break;
    case Result::Warn: ++warn; break;
    case Result::Error: ++error; break;
    case Result::Skip: ++skip; break;
  }
}

bool valid_report_name(std::string_view name, std::string& why) {
  // Room for "-" and a part number of up to 6 digits within the 253 of a subdomain.
  if (name.empty() || name.size() > 246) {
    why = "must be 1 to 246 characters";
    return false;
  }
  bool label_start = true;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '.') {
      if (label_start || name[i - 1] == '-') {
        why = "must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.')";
        return false;
      }
      label_start = true;
      continue;
    }
    if (!alnum && c != '-') {
      why = "must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.')";
      return false;
    }
    if (label_start && c == '-') {
      why = "must start each part with a letter or digit";
      return false;
    }
    label_start = false;
  }
  if (label_start || name.back() == '-') {
    why = "must end with a letter or digit";
    return false;
  }
  return true;
}

std::string part_name(std::string_view base, std::size_t index) {
  if (index == 0) return std::string(base);
  return std::string(base) + "-" + std::to_string(index + 1);
}

bool is_part_name(std::string_view base, std::string_view name) {
  if (name == base) return true;
  if (name.size() < base.size() + 2 || name.substr(0, base.size()) != base ||
      name[base.size()] != '-')
    return false;
  std::string_view n = name.substr(base.size() + 1);
  if (n.empty() || n.size() > 6 || n.front() == '0') return false;
  for (char c : n)
    if (c < '0' || c > '9') return false;
  return n != "1";
}

std::vector<ojson> build_reports(const std::string& namespace_, const std::vector<Judged>& objects,
                                 const ReportSettings& settings) {
  std::vector<ojson> docs;
  if (objects.empty()) return docs;
  // What a part may hold in results: the budget less its envelope and summary (the longest
  // part name, five counts of up to 10 digits) and the brackets and commas.
  ojson probe = envelope(namespace_, part_name(settings.name, 999'999), settings);
  probe["summary"] = {{"pass", 1'000'000'000}, {"fail", 1'000'000'000}, {"warn", 1'000'000'000},
                      {"error", 1'000'000'000}, {"skip", 1'000'000'000}};
  probe["results"] = ojson::array();
  const std::size_t overhead = json_size(probe);
  const std::size_t budget = settings.max_bytes > overhead ? settings.max_bytes - overhead : 1;

  std::vector<std::vector<ojson>> parts(1);
  std::size_t used = 0;
  auto place = [&](ojson r, std::size_t size) {
    if (!parts.back().empty() && used + size + 1 > budget) {
      parts.emplace_back();
      used = 0;
    }
    parts.back().push_back(std::move(r));
    used += size + 1;  // its comma
  };
  for (const Judged& obj : objects) {
    std::vector<ojson> results;
    std::vector<std::size_t> sizes;
    std::size_t total = 0;
    for (const Finding& f : obj.findings) {
      results.push_back(result_json(obj, f, namespace_, settings));
      sizes.push_back(json_size(results.back()));
      total += sizes.back() + 1;
    }
    // Kept together in one part when they fit in one.
    if (!parts.back().empty() && used + total > budget && total <= budget) {
      parts.emplace_back();
      used = 0;
    }
    for (std::size_t i = 0; i < results.size(); ++i) place(std::move(results[i]), sizes[i]);
  }

  for (std::size_t i = 0; i < parts.size(); ++i) {
    ojson doc = envelope(namespace_, part_name(settings.name, i), settings);
    Summary sum;
    for (const auto& r : parts[i]) {
      const std::string& v = r["result"].get_ref<const std::string&>();
      if (v == "pass") sum.add(Result::Pass);
      else if (v == "fail") sum.add(Result::Fail);
      else if (v == "warn") sum.add(Result::Warn);
      else if (v == "error") sum.add(Result::Error);
      else sum.add(Result::Skip);
    }
    doc["summary"] = {{"pass", sum.pass}, {"fail", sum.fail}, {"warn", sum.warn},
                      {"error", sum.error}, {"skip", sum.skip}};
    doc["results"] = std::move(parts[i]);
    docs.push_back(std::move(doc));
  }
  return docs;
}

}  // namespace dsw::audit
