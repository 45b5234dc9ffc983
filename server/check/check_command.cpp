// `dynamodb-streams-webhook check [--output yaml|json|none|report|openreports] [FLAGS] FILE...`:
// defaults and validates the KubeVela Applications of YAML or JSON manifests offline, with the
// same library functions the webhook runs (mutating first, then validating the defaulted object,
// as the apiserver does on CREATE), validates ACK Tables and kro DynamoDBTables (never
// defaulted), and writes the manifests with the defaults applied, or (none, report, openreports)
// audits them: names what the mutating webhook would change and ends with a summary line.
// openreports judges each object as it is, as `audit` does, and writes audit's report documents.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "audit/judge.h"
#include "audit/report.h"
#include "cli/flags.h"
#include "check/check_command.h"
#include "dsw/admission.h"
#include "dsw/review.h"
#include "dsw/tables.h"
#include "cli/io.h"
#include "check/yaml_document.h"
#include "check/yaml_patch.h"
#include "check/yaml_to_json.h"
#include "check/yaml_writer.h"

namespace dsw::commands {

namespace {

using nlohmann::json;

enum class Output { Yaml, Json, None, Report, OpenReports };

constexpr int kOk = 0, kInvalid = 1, kFailed = 2;

const char* const kDescription =
    "Defaults and validates the KubeVela Applications in FILE (\"-\" is standard input) exactly\n"
    "as the webhook does on CREATE: the mutating webhook's defaults are applied first, then the\n"
    "defaulted Application is validated. FILE holds YAML or JSON, one or more documents\n"
    "(YAML documents separated by ---, or JSON values one after another). Every document whose\n"
    "apiVersion is core.oam.dev/* and kind Application is checked, and so is every such item\n"
    "of a List. ACK Tables (dynamodb.services.k8s.aws/*, kind Table) and kro DynamoDBTables\n"
    "(kro.run/*, kind DynamoDBTable) are validated as the validating webhook does on CREATE,\n"
    "never defaulted. Other documents pass through unchanged.\n"
    "\n"
    "Errors and warnings go to standard error, one per line:\n"
    "  FILE: KIND NAMESPACE/NAME: <field error>\n"
    "  FILE: KIND NAMESPACE/NAME: warning: <text>\n"
    "(KIND is Application, Table or DynamoDBTable; \"NAME\" alone when the object has no\n"
    "metadata.namespace, since kubectl then uses the context's namespace; FILE is <stdin> for\n"
    "standard input). Syntax errors are reported as FILE:LINE:COLUMN: <message>. With\n"
    "--enforcement warn, each error is reported as the webhook would then answer it, as a\n"
    "warning (\"warning: <field error>\", before the other warnings).\n"
    "\n"
    "Audit (--output none or report; no document is written): each Application the\n"
    "mutating webhook would change is also named on standard error,\n"
    "  FILE: Application NAMESPACE/NAME: would be defaulted: <op> <path>, ...\n"
    "and the last line of standard error sums up every object checked:\n"
    "  N Applications: I invalid, D would be defaulted, W with warnings\n"
    "followed by \"; T tables: I invalid, W with warnings\" when ACK Tables or kro\n"
    "DynamoDBTables were checked (\"1 Application\", \"1 table\" in the singular). I counts\n"
    "the objects with at least one error, whatever --enforcement says; W those with at least\n"
    "one warning of their own. This reads what kubectl prints:\n"
    "  kubectl get applications.core.oam.dev -A -o json | dynamodb-streams-webhook check --output none -\n"
    "--output report writes to standard output one JSON object per line for each object checked:\n"
    "  {\"file\",\"kind\",\"namespace\",\"name\",\"errors\":[..],\"warnings\":[..],\"defaults\":[..]}\n"
    "errors and warnings hold the texts above (with --enforcement warn, errors is empty and the\n"
    "errors lead the warnings), defaults the JSON Patch operations the mutating webhook would\n"
    "answer ([] when none; always [] for tables); namespace and name are \"\" when absent.\n"
    "--output openreports writes to standard output the report documents `audit` writes for\n"
    "the same objects (one OpenReports Report, or with --report-kind policyreport one\n"
    "wgpolicyk8s.io PolicyReport, per namespace; JSON, one document after another), so that\n"
    "  kubectl get applications -A -o json | dynamodb-streams-webhook check --output openreports - | kubectl apply -f -\n"
    "audits without the chart. Like `audit`, it judges each object as it is (as /validate\n"
    "judges a CREATE of it, without the mutating webhook's defaults first) and always as\n"
    "--enforcement deny; standard error and the exit status are as for report, for the objects\n"
    "as they are. Nothing is written when a file or document cannot be read.\n"
    "\n"
    "With --output yaml or json, when every object is valid, the documents go to standard\n"
    "output in order, the\n"
    "Applications with the defaults written in and everything else as it was, so the command\n"
    "fits a pipeline:  kustomize build . | dynamodb-streams-webhook check - | kubectl apply -f -\n"
    "Nothing is written to standard output when anything is invalid (unless --enforcement warn,\n"
    "with which the webhook admits it) or unreadable, so such a pipeline applies all of the\n"
    "documents or none. YAML output keeps an unchanged document's\n"
    "text as it was (comments included); a defaulted Application is rewritten in block style\n"
    "with its keys in their order, every value as written, the new keys last. JSON output writes\n"
    "one JSON object per document, each followed by a newline (kubectl and jq read such a\n"
    "stream). Empty documents are dropped. Scalars are typed as kubectl types them (YAML 1.1:\n"
    "quoted values are strings, plain yes/no/on/off/true/false are booleans, numbers are\n"
    "numbers).\n"
    "\n"
    "Exit status: 0 every object checked is valid (warnings allowed), or --enforcement warn and\n"
    "none is unreadable; 1 at least one is invalid (with --enforcement deny, the default);\n"
    "2 usage error, unreadable file, or a document that is not valid YAML/JSON. The same holds\n"
    "for --output report, which writes its lines whatever the exit status.";

std::string display_name(const std::string& path) { return path == "-" ? "<stdin>" : path; }

// Which kind the webhook examines `doc` is, by the same rule as for a review (lib's
// object_kind): the group of its apiVersion ("group/version", any version) and its kind.
ObjectKind document_kind(const json& doc) {
  if (!doc.is_object()) return ObjectKind::Other;
  auto api = doc.find("apiVersion");
  auto kind = doc.find("kind");
  if (api == doc.end() || !api->is_string() || kind == doc.end() || !kind->is_string())
    return ObjectKind::Other;
  const std::string& a = api->get_ref<const std::string&>();
  const auto slash = a.find('/');
  if (slash == std::string::npos) return ObjectKind::Other;  // the core group: none of ours
  return object_kind({a.substr(0, slash), a.substr(slash + 1), kind->get<std::string>()});
}

// A document kubectl treats as a list of objects: kind *List with an items array.
bool is_list(const json& doc) {
  if (!doc.is_object()) return false;
  auto kind = doc.find("kind");
  auto items = doc.find("items");
  if (kind == doc.end() || !kind->is_string() || items == doc.end() || !items->is_array())
    return false;
  const std::string& k = kind->get_ref<const std::string&>();
  return k.size() >= 4 && k.compare(k.size() - 4, 4, "List") == 0;
}

std::string metadata_string(const json& app, const char* key) {
  auto md = app.find("metadata");
  if (md == app.end() || !md->is_object()) return {};
  auto v = md->find(key);
  if (v == md->end() || !v->is_string()) return {};
  return v->get<std::string>();
}

// "Application ns/name", "Table name" without a namespace; names kept to one line.
std::string describe(std::string_view kind, const json& obj, std::size_t doc_number) {
  std::string name = metadata_string(obj, "name");
  if (name.empty()) {
    std::string gen = metadata_string(obj, "generateName");
    name = gen.empty() ? "<unnamed, document " + std::to_string(doc_number) + ">" : gen + "*";
  }
  std::string ns = metadata_string(obj, "namespace");
  std::string out = std::string(kind) + " " + (ns.empty() ? name : ns + "/" + name);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return out;
}

// One line of JSON: the object's identity and what the webhook would say about it.
void append_report(std::string& out, const std::string& file, std::string_view kind,
                   const json& obj, const std::vector<std::string>& errors,
                   const std::vector<std::string>& warnings, json defaults) {
  nlohmann::ordered_json line;
  line["file"] = file;
  line["kind"] = kind;
  line["namespace"] = metadata_string(obj, "namespace");
  line["name"] = metadata_string(obj, "name");
  line["errors"] = errors;
  line["warnings"] = warnings;
  line["defaults"] = std::move(defaults);
  out += line.dump(-1, ' ', false, json::error_handler_t::replace);
  out += '\n';
}

// "add /spec/components/0/traits/0/properties, replace /spec/...": the operations in brief.
std::string brief(const json& ops) {
  std::string out;
  for (const auto& op : ops) {
    if (!out.empty()) out += ", ";
    out += op.value("op", "") + " " + op.value("path", "");
  }
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return out;
}

std::string counted(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

class Checker {
 public:
  Checker(const Options& options, Output output, const audit::ReportSettings& reports)
      : options_(options), output_(output), reports_(reports) {}

  bool audit() const {
    return output_ == Output::None || output_ == Output::Report || output_ == Output::OpenReports;
  }

  // "N Applications: I invalid, D would be defaulted, W with warnings[; T tables: ...]".
  std::string summary() const {
    std::string out = counted(apps_.checked, "Application", "Applications") + ": " +
                      std::to_string(apps_.invalid) + " invalid, " +
                      std::to_string(apps_.defaulted) + " would be defaulted, " +
                      std::to_string(apps_.warned) + " with warnings";
    if (tables_.checked > 0) {
      out += "; " + counted(tables_.checked, "table", "tables") + ": " +
             std::to_string(tables_.invalid) + " invalid, " + std::to_string(tables_.warned) +
             " with warnings";
    }
    return out;
  }

  // Checks one file; returns its exit status.
  int file(const std::string& path) {
    const std::string name = display_name(path);
    std::error_code ec;
    if (path != "-" && std::filesystem::is_directory(path, ec)) {
      std::cerr << name << ": is a directory\n";
      return kFailed;
    }
    std::string text;
    if (auto err = io::read_all(path, text)) {
      std::cerr << name << ": " << *err << "\n";
      return kFailed;
    }
    std::vector<yamldoc::Document> docs;
    try {
      docs = yamldoc::load_stream(text);
    } catch (const yamldoc::Error& e) {
      report_syntax(name, e, 0);
      return kFailed;
    }
    int status = kOk;
    std::size_t number = 0;
    for (auto& doc : docs) {
      ++number;
      if (doc.node.IsNull()) continue;  // an empty document: nothing to apply
      try {
        status = std::max(status, document(name, doc, number));
      } catch (const yamldoc::Error& e) {
        report_syntax(name, e, doc.line_offset);
        status = kFailed;
      }
    }
    return status;
  }

  const std::string& output() const { return out_; }

  // --output openreports: the report documents of every namespace, one JSON document after
  // another.
  std::string reports() const {
    std::string out;
    for (const auto& [ns, objects] : judged_) {
      for (const auto& doc : audit::build_reports(ns, objects, reports_)) {
        out += doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
        out += '\n';
      }
    }
    return out;
  }

 private:
  static void report_syntax(const std::string& name, const yamldoc::Error& e, int line_offset) {
    std::cerr << name;
    if (e.line > 0) std::cerr << ":" << e.line + line_offset << ":" << e.column;
    std::cerr << ": " << e.what() << "\n";
  }

  int document(const std::string& name, yamldoc::Document& doc, std::size_t number) {
    json original = yamldoc::to_json(doc.node, limits());
    json expected = original;  // the document as it should read after the patches
    bool patched = false;
    int status = kOk;

    const bool warn = options_.enforcement == Enforcement::Warn;
    // `defaults`: the JSON Patch operations of the mutating webhook (null for a table).
    auto report = [&](const streams::Findings& findings, std::string_view kind, const json& obj,
                      const json* defaults) {
      Counts& counts = defaults ? apps_ : tables_;
      ++counts.checked;
      if (!findings.errors.empty()) ++counts.invalid;
      if (!findings.warnings.empty()) ++counts.warned;
      if (defaults && !defaults->empty()) ++counts.defaulted;
      if (!findings.errors.empty() && !warn) status = kInvalid;

      std::string who = name + ": " + describe(kind, obj, number) + ": ";
      if (audit() && defaults && !defaults->empty())
        std::cerr << who << "would be defaulted: " << brief(*defaults) << "\n";
      std::vector<std::string> errors, warnings;
      for (const auto& e : findings.errors) errors.push_back(e.to_string());
      warnings.reserve(findings.warnings.size() + (warn ? errors.size() : 0));
      if (warn) {
        // As the webhook answers with --enforcement warn: the errors first, as warnings.
        for (auto& e : errors) warnings.push_back(std::move(e));
        errors.clear();
      }
      for (const auto& w : findings.warnings) warnings.push_back(w);
      for (const auto& w : warnings) std::cerr << who << "warning: " << w << "\n";
      for (const auto& e : errors) std::cerr << who << e << "\n";
      if (output_ == Output::Report)
        append_report(out_, name, kind, obj, errors, warnings,
                      defaults ? *defaults : json::array());
    };

    auto check_application = [&](const json& app, const std::string& prefix) {
      Patch patch = default_application(app);
      json ops = json::array();
      if (output_ == Output::OpenReports) {
        // As `audit` judges it: the object as it is, as /validate judges a CREATE of it.
        if (!patch.empty()) ops = json::parse(patch.to_json());
        report(validate_application(app, nullptr, options_), "Application", app, &ops);
        judged_[metadata_string(app, "namespace")].push_back(audit::judge(app, options_));
        return;
      }
      if (patch.empty()) {
        report(validate_application(app, nullptr, options_), "Application", app, &ops);
        return;
      }
      ops = json::parse(patch.to_json());
      json defaulted = app.patch(ops);
      if (!audit()) {
        // The defaults are written into the document: its YAML tree, and the JSON it must then
        // read as (patched in place: a List of many Applications is copied once, not per item).
        if (!patched) {
          doc.node = yamldoc::unshared_copy(doc.node);  // aliases must not carry the change
          patched = true;
        }
        yamldoc::apply_patch(doc.node, patch.ops(), prefix);
        json prefixed = ops;
        for (auto& op : prefixed) op["path"] = prefix + op["path"].get<std::string>();
        expected.patch_inplace(prefixed);
      }
      report(validate_application(defaulted, nullptr, options_), "Application", defaulted, &ops);
    };
    // Tables are validated as the validating webhook does on CREATE; nothing is defaulted.
    auto check_table = [&](const json& table, ObjectKind kind) {
      report(kind == ObjectKind::AckTable ? tables::validate_ack_table(table, nullptr, options_)
                                          : tables::validate_kro_table(table, nullptr, options_),
             to_string(kind), table, nullptr);
      if (output_ == Output::OpenReports)
        judged_[metadata_string(table, "namespace")].push_back(audit::judge(table, options_));
    };
    auto check_object = [&](const json& obj, const std::string& prefix) {
      switch (ObjectKind kind = document_kind(obj)) {
        case ObjectKind::Application: check_application(obj, prefix); break;
        case ObjectKind::AckTable:
        case ObjectKind::KroTable: check_table(obj, kind); break;
        case ObjectKind::Other: break;
      }
    };

    if (is_list(original)) {
      const json& items = original["items"];
      for (std::size_t i = 0; i < items.size(); ++i)
        check_object(items[i], "/items/" + std::to_string(i));
    } else {
      check_object(original, "");
    }

    if (patched) {
      // The YAML tree must now read exactly as the patched JSON does.
      if (yamldoc::to_json(doc.node, limits()) != expected) {
        std::cerr << name << ": internal error: the defaults could not be written into document "
                  << number << " faithfully\n";
        return kFailed;
      }
    }
    write(doc, patched);
    return status;
  }

  void write(const yamldoc::Document& doc, bool patched) {
    switch (output_) {
      case Output::None:
      case Output::Report:  // the report lines are written as the objects are checked
      case Output::OpenReports:  // the documents are written at the end
        return;
      case Output::Json:
        out_ += yamldoc::to_json_text(doc.node, 2);
        out_ += "\n";
        return;
      case Output::Yaml: {
        std::string body = (!patched && doc.source) ? *doc.source : yamldoc::to_yaml_text(doc.node);
        if (written_ > 0 && body.rfind("---", 0) != 0) out_ += "---\n";
        out_ += body;
        ++written_;
        return;
      }
    }
  }

  yamldoc::Limits limits() const {
    yamldoc::Limits l;
    l.max_depth = options_.max_depth;
    return l;
  }

  struct Counts {
    std::size_t checked = 0, invalid = 0, defaulted = 0, warned = 0;
  };
  const Options& options_;
  Output output_;
  const audit::ReportSettings& reports_;
  std::map<std::string, std::vector<audit::Judged>> judged_;  // by namespace
  std::string out_;
  std::size_t written_ = 0;
  Counts apps_, tables_;
};

}  // namespace

int check(const std::vector<std::string>& args) {
  Options options;
  Output output = Output::Yaml;
  audit::ReportSettings reports;
  bool report_flags = false;
  cli::FlagSet flags("check",
                     "dynamodb-streams-webhook check [--output yaml|json|none|report|openreports] [FLAGS] FILE...",
                     kDescription);
  flags.value("output", "yaml|json|none|report|openreports", "yaml",
              "what to write to standard output (none, report, openreports: an audit with a "
              "summary line)",
              [&output](const std::string& v) {
                if (v == "yaml")
                  output = Output::Yaml;
                else if (v == "json")
                  output = Output::Json;
                else if (v == "none")
                  output = Output::None;
                else if (v == "report")
                  output = Output::Report;
                else if (v == "openreports")
                  output = Output::OpenReports;
                else
                  throw cli::UsageError{"check: --output must be yaml, json, none, report or "
                                        "openreports, not \"" + v + "\""};
              });
  flags.value("report-kind", "report|policyreport", "report",
              "with --output openreports: openreports.io/v1alpha1 Reports or wgpolicyk8s.io/v1alpha2 "
              "PolicyReports",
              [&](const std::string& v) {
                report_flags = true;
                if (!audit::parse_report_kind(v, reports.kind))
                  throw cli::UsageError{"check: --report-kind must be report or policyreport, not \"" +
                                        v + "\""};
              });
  flags.value("report-name", "NAME", std::string(audit::kDefaultReportName),
              "with --output openreports: the reports' name (parts NAME-2, ...)",
              [&](const std::string& v) {
                report_flags = true;
                std::string why;
                if (!audit::valid_report_name(v, why))
                  throw cli::UsageError{"check: --report-name \"" + v + "\" " + why};
                reports.name = v;
              });
  flags.value("max-report-bytes", "BYTES", std::to_string(audit::kDefaultMaxReportBytes),
              "with --output openreports: the largest report (compact JSON) before numbered parts",
              [&](const std::string& v) {
                report_flags = true;
                std::size_t used = 0;
                unsigned long long n = 0;
                try {
                  n = std::stoull(v, &used);
                } catch (...) {
                  used = 0;
                }
                if (used != v.size() || n < audit::kMinReportBytes || n > 1'000'000'000ULL)
                  throw cli::UsageError{"check: --max-report-bytes must be a number from " +
                                        std::to_string(audit::kMinReportBytes) +
                                        " to 1000000000, not \"" + v + "\""};
                reports.max_bytes = static_cast<std::size_t>(n);
              });
  cli::add_admission_flags(flags, options);
  if (!flags.parse(args, std::cout)) return 0;
  const auto& files = flags.positional();
  if (files.empty()) throw cli::UsageError{"check: no FILE given (use - for standard input)"};
  if (std::count(files.begin(), files.end(), "-") > 1)
    throw cli::UsageError{"check: standard input (-) can be read only once"};
  if (report_flags && output != Output::OpenReports)
    throw cli::UsageError{"check: --report-kind, --report-name and --max-report-bytes go with "
                          "--output openreports"};
  reports.timestamp = audit::Timestamp::now();  // one for every result

  Checker checker(options, output, reports);
  int status = kOk;
  for (const auto& f : files) status = std::max(status, checker.file(f));
  if (checker.audit()) std::cerr << checker.summary() << "\n";
  if (output == Output::OpenReports) {
    // Reports replace what is in the cluster: none at all when an input could not be read.
    if (status == kFailed) return status;
    std::cout << checker.reports();
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "check: cannot write to standard output\n";
      return kFailed;
    }
    return status;
  }
  // A report is written whatever the status; documents only when all of them may be applied.
  if (status != kOk && output != Output::Report) return status;
  std::cout << checker.output();
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "check: cannot write to standard output\n";
    return kFailed;
  }
  return status;
}

}  // namespace dsw::commands
