// The single entry point of the admission logic: bytes of an AdmissionReview in, bytes of the
// answer out. The HTTP server only moves bytes through answer_review(); the CLI's `review`
// command calls the same function, so both answer identically.
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
  // Set when handling the review threw: the exception's message, for the error log line (the
  // answer is an AdmissionReview denying with code 500).
  std::string internal_error;
};

// Answers one AdmissionReview body: decodes it (what the admission logic reads), handles it and
// encodes the answer in the review's apiVersion with its uid. A body that is not a review gets
// http_status 400 and a one-line message; an exception while handling gets an AdmissionReview
// with allowed: false, status code 500 and reason InternalError (Response::Errored with
// kInternalErrorMessage), as controller-runtime answers a handler that panicked. The exception's
// own text goes to Outcome::internal_error for the log, never to the client.
Outcome answer_review(Endpoint endpoint, std::string_view body, const Options& options);

inline constexpr std::string_view kInternalErrorMessage =
    "internal error: the webhook could not handle this review (its log has the reason)";

// The AdmissionReview (admission.k8s.io/v1, no uid) the transport answers when even
// answer_review() failed: allowed: false, code 500, kInternalErrorMessage.
std::string internal_error_review();

}  // namespace dsw
