// What `selftest` sends to a running webhook and how it judges each answer. No I/O: the
// requests are built and the answers judged here; selftest_command.cpp moves them over HTTPS.
//
// The expected answer to every review is computed in-process with lib's dsw::answer_review and
// the same admission options the server was started with, so the checks follow the admission
// logic of this very binary and can never drift from what /mutate and /validate answer.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "dsw/handler.h"
#include "dsw/options.h"
#include "net/https_client.h"

namespace dsw::selftest {

// One line of the output: "ok   WHAT: DETAIL" or "FAIL WHAT: DETAIL".
struct Check {
  bool ok = false;
  std::string what;    // the request and the aspect checked, e.g. "POST /validate (invalid Application): status"
  std::string detail;  // what was found (and, on a failure, what was expected)
};

// One request and what this binary's admission logic answers to it.
struct Probe {
  std::string name;  // "POST /mutate (valid Application)"
  Endpoint endpoint = Endpoint::Validate;
  std::string path;  // "/mutate" or "/validate"
  std::string uid;
  std::string body;      // the AdmissionReview sent
  std::string expected;  // the AdmissionReview answer dsw::answer_review gives for `body`
};

// The Applications the checks send (namespace "default", CREATE, dryRun): one component of
// `component_type` with a dynamodb-streams-kro trait. The valid one has no trait properties (the
// mutating webhook adds the documented defaults); the invalid one has viewType NEW_IMAGES, which
// is not a view type.
std::string valid_application(const std::string& component_type);
std::string invalid_application(const std::string& component_type);

// An admission.k8s.io/v1 AdmissionReview that CREATEs `object_json` as a dry run.
std::string review_of(const std::string& object_json, const std::string& name, const std::string& uid);

// The four admission requests: the valid and the invalid Application, each to /mutate and
// /validate, with the expected answers for `options` (those of the server: --enforcement,
// --applies-to, ...). `new_uid` gives each its own uid.
std::vector<Probe> admission_probes(const Options& options, const std::function<std::string()>& new_uid);

// The checks of one answer to a probe: an AdmissionReview came back (HTTP 200, JSON, the
// review's apiVersion and kind), the uid is echoed, then the verdict (`allowed`), the patch (decoded from
// base64 and compared as JSON), the status of a denial and the warnings, each against the
// expected answer. When no AdmissionReview came back, that one check (failed) is all.
std::vector<Check> judge(const Probe& probe, const net::Response& answer);

// The check of GET /readyz: 200.
Check judge_readyz(const net::Response& answer);

// A random RFC 4122 version 4 UUID, as the apiserver gives each review.
std::string random_uid();

}  // namespace dsw::selftest
