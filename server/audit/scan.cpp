#include "audit/scan.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>

#include "audit/list_reader.h"
#include "serve/logging.h"

namespace dsw::audit {

namespace {

using nlohmann::json;

std::string scope_text(const std::string& namespace_) {
  return namespace_.empty() ? "in all namespaces" : "in namespace " + namespace_;
}

// An own report as read: enough to update it (resourceVersion, what its metadata holds besides
// ours) or to delete exactly it (uid).
struct OwnReport {
  std::string uid, resource_version;
  json labels = json::object(), annotations = json::object();
};

std::string meta_string(const json& md, const char* key) {
  auto v = md.find(key);
  return v != md.end() && v->is_string() ? v->get<std::string>() : std::string();
}

json meta_map(const json& md, const char* key) {
  auto v = md.find(key);
  return v != md.end() && v->is_object() ? *v : json::object();
}

bool managed_by_us(const json& labels) {
  auto v = labels.find(std::string(kManagedByLabel));
  return v != labels.end() && v->is_string() && *v == kManagedBy;
}

// Whether a failed write means the rest cannot go better (no connection, credentials or rights,
// an apiserver that keeps refusing for load): then the write phase stops.
bool hopeless(const net::Response& r) {
  return !r.answered() || r.status == 401 || r.status == 403 || r.status == 429 ||
         r.status == 502 || r.status == 503 || r.status == 504;
}

class Scan {
 public:
  Scan(ApiClient& api, const ScanSettings& settings, const net::Stop& stop)
      : api_(api), settings_(settings), stop_(stop), report_(resource_of(settings.report.kind)) {
    report_settings_ = settings.report;
    report_settings_.timestamp = Timestamp::now();
  }

  ScanOutcome run() {
    const auto t0 = std::chrono::steady_clock::now();
    if (read()) {
      out_.status = ScanOutcome::Status::Complete;
      write();
    }
    out_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::move(out_);
  }

 private:
  enum class Listed { Ok, NotServed, Failed };

  KindTotals& totals(ObjectKind k) {
    switch (k) {
      case ObjectKind::AckTable: return out_.tables;
      case ObjectKind::KroTable: return out_.kro_tables;
      default: return out_.applications;
    }
  }

  std::vector<std::string> scopes() const {
    if (settings_.namespaces.empty()) return {""};
    return settings_.namespaces;
  }

  bool fail(std::string why) {
    out_.status = ScanOutcome::Status::Failed;
    out_.error = std::move(why);
    return false;
  }

  // ------------------------------------------------------------------------------------ read
  bool read() {
    std::string error;
    auto served = api_.served(report_, error);
    if (!served) return fail(error);
    if (!*served) {
      return fail("the report kind " + std::string(report_.kind) + " (" + report_.api_version() +
                  ") is not served by this cluster: install the CRD " +
                  std::string(crd_of(settings_.report.kind)) +
                  (settings_.report.kind == ReportKind::Report
                       ? ", or pass --report-kind policyreport"
                       : ", or pass --report-kind report"));
    }
    for (ObjectKind k : settings_.kinds) {
      const Resource& res = audited_resource(k);
      auto kind_served = api_.served(res, error);
      if (!kind_served) return fail(error);
      if (!*kind_served) {
        not_served(res, "absent from discovery");
        continue;
      }
      if (!read_kind(k)) return false;
    }
    return read_own_reports();
  }

  void not_served(const Resource& res, const char* how) {
    logging::info("kind not served; skipped",
                  {{"kind", res.kind}, {"resource", res.qualified()},
                   {"version", res.version}, {"how", how}});
  }

  bool read_kind(ObjectKind k) {
    const Resource& res = audited_resource(k);
    KindTotals& t = totals(k);
    t.served = true;
    for (const std::string& ns : scopes()) {
      std::map<std::string, std::vector<Judged>> found;
      KindTotals counted;
      auto on_item = [&](json&& item, bool deep) {
        if (!item.contains("apiVersion")) item["apiVersion"] = res.api_version();
        if (!item.contains("kind")) item["kind"] = res.kind;
        Judged j = deep ? too_deep(item, settings_.options) : judge(std::move(item), settings_.options);
        j.kind = k;  // listed as this kind, whatever the item says
        ++counted.objects;
        for (const auto& f : j.findings) counted.results.add(f.result);
        std::string key = j.namespace_;
        found[key].push_back(std::move(j));
      };
      auto restart = [&] {
        found.clear();
        counted = KindTotals{};
      };
      switch (list_all(res, ns, "", false, settings_.page_size, on_item, restart)) {
        case Listed::Failed: return false;
        case Listed::NotServed:
          not_served(res, "404 when listed");
          t.served = false;
          return true;
        case Listed::Ok: break;
      }
      t.objects += counted.objects;
      t.results.pass += counted.results.pass;
      t.results.fail += counted.results.fail;
      t.results.warn += counted.results.warn;
      t.results.error += counted.results.error;
      t.results.skip += counted.results.skip;
      for (auto& [n, objs] : found) {
        auto& dest = by_namespace_[n];
        for (auto& o : objs) dest.push_back(std::move(o));
      }
    }
    return true;
  }

  bool read_own_reports() {
    const std::string selector = std::string(kManagedByLabel) + "=" + std::string(kManagedBy);
    for (const std::string& ns : scopes()) {
      std::map<std::pair<std::string, std::string>, OwnReport> found;
      auto on_item = [&](json&& item, bool) {
        auto md = item.find("metadata");
        if (md == item.end() || !md->is_object()) return;
        const std::string name = meta_string(*md, "name");
        OwnReport r;
        r.labels = meta_map(*md, "labels");
        if (!is_part_name(settings_.report.name, name) || !managed_by_us(r.labels)) return;
        r.uid = meta_string(*md, "uid");
        r.resource_version = meta_string(*md, "resourceVersion");
        r.annotations = meta_map(*md, "annotations");
        found[{meta_string(*md, "namespace"), name}] = std::move(r);
      };
      switch (list_all(report_, ns, selector, true, settings_.report_page_size, on_item,
                       [&] { found.clear(); })) {
        case Listed::Failed: return false;
        case Listed::NotServed:
          return fail("list " + report_.qualified() + " " + scope_text(ns) +
                      ": 404 (the report kind is no longer served)");
        case Listed::Ok: break;
      }
      for (auto& [key, r] : found) own_[key] = std::move(r);
    }
    return true;
  }

  // Every page of one list, items handed to on_item as each page is read.
  Listed list_all(const Resource& res, const std::string& ns, const std::string& selector,
                  bool metadata_only, std::size_t page_size, const OnItem& on_item,
                  const std::function<void()>& restart) {
    int restarts = 0;
    std::string token;
    std::size_t limit = page_size;
    const std::string what = "list " + res.qualified() + " " + scope_text(ns);
    for (;;) {
      if (stop_.requested()) {
        fail("stopped (SIGTERM or SIGINT) while reading");
        out_.stopped = true;
        return Listed::Failed;
      }
      net::Response r = api_.list(res, ns, limit, token, selector, metadata_only);
      if (r.status == 200 && r.too_large) {
        if (limit > 1) {
          limit = std::max<std::size_t>(1, limit / 2);
          logging::info("list page too large; asking for smaller pages",
                        {{"resource", res.qualified()}, {"limit", limit}});
          continue;
        }
        fail(what + ": one object is larger than the audit reads");
        return Listed::Failed;
      }
      if (r.status == 410) {
        if (++restarts > settings_.list_restarts) {
          fail(what + ": the continue token expired " + std::to_string(restarts) +
               " times (410 Expired: the list took longer than the apiserver keeps its "
               "snapshot; try a larger --page-size)");
          return Listed::Failed;
        }
        logging::info("continue token expired; listing again from the start",
                      {{"resource", res.qualified()}, {"restart", restarts}});
        restart();
        token.clear();
        limit = page_size;
        continue;
      }
      if (r.status == 404) return Listed::NotServed;
      if (r.status != 200 && stop_.requested()) {
        fail("stopped (SIGTERM or SIGINT) while reading; last answer: " + explain(r, "list", res, ns));
        out_.stopped = true;
        return Listed::Failed;
      }
      if (r.status != 200) {
        fail(what + ": " + explain(r, "list", res, ns));
        return Listed::Failed;
      }
      ListMeta meta;
      if (auto err = read_list(r.body, settings_.options.max_depth, on_item, meta)) {
        fail(what + ": " + *err);
        return Listed::Failed;
      }
      if (meta.continue_token.empty()) return Listed::Ok;
      token = std::move(meta.continue_token);
    }
  }

  // ----------------------------------------------------------------------------------- write
  void write() {
    std::set<std::string> namespaces;
    for (const auto& [ns, objs] : by_namespace_) namespaces.insert(ns);
    for (const auto& [key, r] : own_) namespaces.insert(key.first);
    out_.namespaces = by_namespace_.size();
    for (const std::string& ns : namespaces) {
      if (aborted_) break;
      if (stop_.requested()) {
        write_failed(ns, "", "stopped (SIGTERM or SIGINT) while writing", true);
        out_.stopped = true;
        break;
      }
      std::size_t parts = 0;
      bool ok = true;
      if (auto it = by_namespace_.find(ns); it != by_namespace_.end()) {
        auto docs = build_reports(ns, it->second, report_settings_);
        std::vector<Judged>().swap(it->second);  // its results are in the documents now
        parts = docs.size();
        for (std::size_t i = 0; i < docs.size() && ok && !aborted_; ++i) {
          ok = write_report(ns, part_name(settings_.report.name, i), std::move(docs[i]));
          nlohmann::ordered_json().swap(docs[i]);
        }
      }
      if (!ok || aborted_) continue;  // its stale parts stay until a scan writes the namespace
      for (auto it = own_.lower_bound({ns, ""}); it != own_.end() && it->first.first == ns; ++it) {
        if (part_index(it->first.second) < parts) continue;
        if (!delete_report(ns, it->first.second, it->second)) break;
      }
    }
  }

  std::size_t part_index(const std::string& name) const {
    if (name == settings_.report.name) return 0;
    return std::stoul(name.substr(settings_.report.name.size() + 1)) - 1;
  }

  void write_failed(const std::string& ns, const std::string& name, const std::string& why,
                    bool abort) {
    ++out_.write_failures;
    out_.status = ScanOutcome::Status::PartlyWritten;
    if (out_.error.empty())
      out_.error = name.empty() ? why : "report " + ns + "/" + name + ": " + why;
    logging::error(abort ? "report not written; writing stopped" : "report not written",
                   {{"namespace", ns}, {"name", name}, {"error", why}});
    if (abort) aborted_ = true;
  }

  bool write_report(const std::string& ns, const std::string& name, nlohmann::ordered_json doc) {
    OwnReport current;
    if (auto it = own_.find({ns, name}); it != own_.end()) current = it->second;
    for (int attempt = 0; attempt <= settings_.conflict_retries; ++attempt) {
      auto& md = doc["metadata"];
      // Labels and annotations others put on the report are kept; ours is set.
      nlohmann::ordered_json labels = nlohmann::ordered_json::object();
      for (auto& [k, v] : current.labels.items()) labels[k] = v;
      labels[std::string(kManagedByLabel)] = kManagedBy;
      md["labels"] = std::move(labels);
      if (!current.annotations.empty()) md["annotations"] = current.annotations;
      else md.erase("annotations");
      const bool update = !current.resource_version.empty();
      if (update) md["resourceVersion"] = current.resource_version;
      else md.erase("resourceVersion");
      std::string body = doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
      net::Response r = update ? api_.update(report_, ns, name, std::move(body))
                               : api_.create(report_, ns, std::move(body));
      if (r.status == 200 || r.status == 201) {
        ++out_.reports_written;
        // E.g. "unknown field" when the CRD's schema prunes something written: said, not fatal.
        for (const auto& w : r.headers_named("Warning"))
          logging::warn("apiserver warning on a report write",
                        {{"namespace", ns}, {"name", name}, {"warning", w}});
        return true;
      }
      if (update && r.status == 404) {  // deleted since it was read: create it
        current = OwnReport{};
        continue;
      }
      if (r.status == 409) {  // a newer version (update) or one made since (create): read it
        net::Response g = api_.get(report_, ns, name);
        if (g.status == 404) {
          current = OwnReport{};
          continue;
        }
        if (g.status != 200) {
          write_failed(ns, name, "read again after 409: " + explain(g, "get", report_, ns),
                       hopeless(g));
          return false;
        }
        json obj = json::parse(g.body, nullptr, false);
        json gm = obj.is_object() && obj.contains("metadata") && obj["metadata"].is_object()
                      ? obj["metadata"]
                      : json::object();
        current.labels = meta_map(gm, "labels");
        if (!managed_by_us(current.labels)) {
          write_failed(ns, name,
                       std::string(report_.kind) + " " + ns + "/" + name +
                           " exists and is not labelled " + std::string(kManagedByLabel) + "=" +
                           std::string(kManagedBy) +
                           ": left alone (another tool's report? choose another --report-name)",
                       false);
          return false;
        }
        current.uid = meta_string(gm, "uid");
        current.resource_version = meta_string(gm, "resourceVersion");
        current.annotations = meta_map(gm, "annotations");
        logging::info("report changed since it was read; writing it again",
                      {{"namespace", ns}, {"name", name}, {"attempt", attempt + 1}});
        continue;
      }
      std::string why = explain(r, update ? "update" : "create", report_, ns);
      if (r.status == 500 && answer_text(r).find("too large") != std::string::npos)
        why += " (lower --max-report-bytes)";
      write_failed(ns, name, why, hopeless(r));
      return false;
    }
    write_failed(ns, name,
                 "still conflicting (409) after " + std::to_string(settings_.conflict_retries) +
                     " writes again",
                 false);
    return false;
  }

  bool delete_report(const std::string& ns, const std::string& name, const OwnReport& r) {
    net::Response d = api_.remove(report_, ns, name, r.uid);
    if (d.status == 200 || d.status == 202) {
      ++out_.reports_deleted;
      return true;
    }
    if (d.status == 404) return true;  // gone already
    if (d.status == 409) {             // recreated since it was read: the next scan decides
      logging::warn("stale report changed since it was read; left for the next scan",
                    {{"namespace", ns}, {"name", name}});
      return true;
    }
    write_failed(ns, name, "not deleted: " + explain(d, "delete", report_, ns), hopeless(d));
    return false;
  }

  ApiClient& api_;
  const ScanSettings& settings_;
  const net::Stop& stop_;
  const Resource& report_;
  ReportSettings report_settings_;
  ScanOutcome out_;
  std::map<std::string, std::vector<Judged>> by_namespace_;
  std::map<std::pair<std::string, std::string>, OwnReport> own_;
  bool aborted_ = false;
};

}  // namespace

const Resource& audited_resource(ObjectKind k) {
  static const Resource apps{"core.oam.dev", "v1beta1", "applications", "Application"};
  static const Resource ack{"dynamodb.services.k8s.aws", "v1alpha1", "tables", "Table"};
  static const Resource kro{"kro.run", "v1alpha1", "dynamodbtables", "DynamoDBTable"};
  switch (k) {
    case ObjectKind::AckTable: return ack;
    case ObjectKind::KroTable: return kro;
    default: return apps;
  }
}

ScanOutcome run_scan(ApiClient& api, const ScanSettings& settings, const net::Stop& stop) {
  return Scan(api, settings, stop).run();
}

}  // namespace dsw::audit
