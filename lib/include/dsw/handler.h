// The single entry point of the admission logic: bytes of an AdmissionReview in, bytes of the
// answer out. The HTTP server only moves bytes through serve(); the CLI's `review` command
// calls the same function, so both answer identically.
#pragma once

#include <string>
#include <string_view>

#include "dsw/options.h"
#include "dsw/response.h"
#include "dsw/review.h"

namespace dsw {

enum class Endpoint { Mutate, Validate };
std::string_view to_string(Endpoint e);

// Handle(Request) -> Response: the admission decision for a decoded review. With
// options.enforcement == Warn, a /validate denial for the content comes back as
// Response::Warned(); /mutate answers the same in both modes.
Response handle(Endpoint endpoint, const Request& request, const Options& options);

// Warned: allowed under --enforcement warn although it would have been denied.
enum class Verdict { Allowed, Denied, Warned, Patched, Error };
std::string_view to_string(Verdict v);

// What the transport sends back and logs. Holds no object contents.
struct Outcome {
  int http_status = 200;  // 200 with an AdmissionReview, or 400 for a body that is not one
  std::string body;       // the AdmissionReview answer, or a short plain-text message
  Verdict verdict = Verdict::Error;
  std::size_t patch_ops = 0;
  std::size_t warnings = 0;
  // For the log line: identifies the review, never its contents.
  std::string uid, api_version, kind, namespace_, name, operation;
  // The kind as the metrics count it (a bounded set); Other for a body that is not a review.
  ObjectKind object_kind = ObjectKind::Other;
  bool dry_run = false;
};

Outcome serve(Endpoint endpoint, std::string_view body, const Options& options);

}  // namespace dsw
