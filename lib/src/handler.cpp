#include "dsw/handler.h"

#include <exception>

#include "dsw/admission.h"
#include "dsw/tables.h"
#include "handler_internal.h"
#include "review_internal.h"

namespace dsw {

using nlohmann::json;

std::string_view to_string(Endpoint e) { return e == Endpoint::Mutate ? "mutate" : "validate"; }

namespace {

// The reviewed object as a decision and the log name it, computed once per review.
struct Subject {
  ObjectKind kind;
  std::string name;  // metadata.name of the object, else request.name
};

Subject subject_of(const Request& r) {
  Subject s{object_kind(r.kind), r.name};
  if (r.object.is_object()) {
    auto md = r.object.find("metadata");
    if (md != r.object.end() && md->is_object()) {
      auto n = md->find("name");
      if (n != md->end() && n->is_string() && !n->get_ref<const std::string&>().empty())
        s.name = n->get<std::string>();
    }
  }
  return s;
}

const json* old_object_of(const Request& request) {
  return request.operation == "UPDATE" && request.old_object.is_object() ? &request.old_object
                                                                         : nullptr;
}

// An ACK Table or a kro DynamoDBTable on CREATE or UPDATE: validated, never defaulted.
Response handle_table(Endpoint endpoint, const Subject& subject, const Request& request,
                      const Options& options) {
  if (endpoint == Endpoint::Mutate) return Response::Allowed();
  const bool ack = subject.kind == ObjectKind::AckTable;
  if (!request.object.is_object()) {
    return Response::Errored(400, "request.object must be a " +
                                      std::string(to_string(subject.kind)) + " object for " +
                                      request.operation);
  }
  const json* old = old_object_of(request);
  auto findings = ack ? tables::validate_ack_table(request.object, old, options)
                      : tables::validate_kro_table(request.object, old, options);
  Response r = findings.errors.empty()
                   ? Response::Allowed()
                   : Response::Invalid(std::string(ack ? tables::kAckGroup : tables::kKroGroup),
                                       std::string(to_string(subject.kind)), subject.name,
                                       std::move(findings.errors));
  r.with_warnings(std::move(findings.warnings));
  return r;
}

Response decide(Endpoint endpoint, const Subject& subject, const Request& request,
                const Options& options) {
  if (subject.kind == ObjectKind::Other) return Response::Allowed();
  if (request.operation != "CREATE" && request.operation != "UPDATE") return Response::Allowed();
  if (subject.kind != ObjectKind::Application)
    return handle_table(endpoint, subject, request, options);
  if (!request.object.is_object()) {
    return Response::Errored(400, "request.object must be an Application object for " +
                                      request.operation);
  }
  if (endpoint == Endpoint::Mutate) return Response::Patched(default_application(request.object));

  auto findings = validate_application(request.object, old_object_of(request), options);
  Response r = findings.errors.empty()
                   ? Response::Allowed()
                   : Response::Invalid("core.oam.dev", "Application", subject.name,
                                       std::move(findings.errors));
  r.with_warnings(std::move(findings.warnings));
  return r;
}

Response enforce(Endpoint endpoint, Response r, const Options& options) {
  if (endpoint == Endpoint::Validate && options.enforcement == Enforcement::Warn)
    return Response::Warned(std::move(r));
  return r;
}

}  // namespace

Response handle(Endpoint endpoint, const Request& request, const Options& options) {
  return enforce(endpoint, decide(endpoint, subject_of(request), request, options), options);
}

namespace detail {

Outcome answer_review(Endpoint endpoint, std::string_view body, const Options& options,
                      HandleFunction handle_fn) {
  Outcome out;
  // Only the parts of the review the admission logic reads are built (admission_reads.cpp); the
  // answer is the one handle(decode_review()) gives, which builds the whole document.
  auto decoded = read_review(body, options, admission_reads());
  if (auto* err = std::get_if<DecodeError>(&decoded)) {
    out.http_status = 400;
    out.body = err->message;
    out.verdict = Verdict::Error;
    return out;
  }
  const Request& req = std::get<Request>(decoded);
  const Subject subject = subject_of(req);
  out.uid = req.uid;
  out.api_version = req.api_version;
  out.kind = req.kind.group.empty() ? req.kind.kind : req.kind.kind + "." + req.kind.group;
  out.object_kind = subject.kind;
  out.namespace_ = req.namespace_;
  out.name = req.name.empty() ? subject.name : req.name;
  out.operation = req.operation;
  out.dry_run = req.dry_run;
  try {
    Response resp = handle_fn ? handle_fn(endpoint, req, options)
                              : enforce(endpoint, decide(endpoint, subject, req, options), options);
    out.body = resp.encode(req.api_version, req.uid);
    out.verdict = resp.verdict();
    out.patch_ops = resp.patch_ops();
    out.warnings = resp.warnings().size();
  } catch (const std::exception& e) {
    out.internal_error = e.what();
  } catch (...) {
    out.internal_error = "unknown exception";
  }
  if (!out.internal_error.empty()) {
    out.body = Response::Errored(500, std::string(kInternalErrorMessage))
                   .encode(req.api_version, req.uid);
    out.verdict = Verdict::Error;
    out.patch_ops = 0;
    out.warnings = 0;
  }
  return out;
}

}  // namespace detail

Outcome answer_review(Endpoint endpoint, std::string_view body, const Options& options) {
  return detail::answer_review(endpoint, body, options, nullptr);
}

std::string internal_error_review() {
  return Response::Errored(500, std::string(kInternalErrorMessage)).encode("admission.k8s.io/v1", "");
}

}  // namespace dsw
