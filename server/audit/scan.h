// One audit scan: read, then write.
//
// Read (nothing is written yet): is the report kind served (else the scan fails, naming the CRD
// to install); which audited kinds are served (each one that is not is skipped with one log
// line); every page of every list, each object judged as soon as its page is read (judge.h) and
// only its results kept; then the audit's own reports (label
// app.kubernetes.io/managed-by=dynamodb-streams-webhook and a name that is NAME or NAME-<k>).
// Any failure here (a list that cannot be read after the retries, a page that is not a list,
// 401, 403, a continue token that keeps expiring, a stop) ends the scan with nothing written.
//
// Write, namespace by namespace: each report part created (POST) or updated (PUT with the
// resourceVersion read; on 409 the report is read again and written again, a bounded number of
// times), then the namespace's own parts that are no longer needed deleted (with a uid
// precondition); then the own reports of namespaces left with nothing to audit. A report of the
// same name that is not the audit's own is never touched. A write that fails leaves the scan
// "partly written": the namespaces written so far hold the new results, the others their
// previous ones, and the next scan, which writes every report again, repairs it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "audit/api_client.h"
#include "audit/judge.h"
#include "audit/report.h"
#include "dsw/options.h"

namespace dsw::audit {

struct ScanSettings {
  Options options;
  std::vector<std::string> namespaces;  // empty: every namespace
  std::vector<ObjectKind> kinds{ObjectKind::Application, ObjectKind::AckTable,
                                ObjectKind::KroTable};
  ReportSettings report;                // the timestamp is taken by the scan
  std::size_t page_size = 500;
  // Own reports are listed in small pages: an apiserver that ignores the request for metadata
  // only sends whole reports (up to max_bytes each).
  std::size_t report_page_size = 10;
  int list_restarts = 3;                // lists started again after 410 Expired
  int conflict_retries = 5;             // writes again after 409
};

// Where each audited kind is listed.
const Resource& audited_resource(ObjectKind k);

struct KindTotals {
  bool served = false;
  std::size_t objects = 0;
  Summary results;
};

struct ScanOutcome {
  enum class Status { Complete, Failed, PartlyWritten };
  Status status = Status::Failed;
  std::string error;  // why it failed, or the first write that failed
  bool stopped = false;  // ended early by a stop (SIGTERM, SIGINT)
  KindTotals applications, tables, kro_tables;
  std::size_t namespaces = 0;        // namespaces with audited objects
  std::size_t reports_written = 0;   // created or updated
  std::size_t reports_deleted = 0;
  std::size_t write_failures = 0;
  double seconds = 0;
};

ScanOutcome run_scan(ApiClient& api, const ScanSettings& settings, const net::Stop& stop);

}  // namespace dsw::audit
