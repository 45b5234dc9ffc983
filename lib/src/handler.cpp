#include "dsw/handler.h"

#include "dsw/admission.h"
#include "dsw/tables.h"
#include "review_internal.h"

namespace dsw {

using nlohmann::json;

std::string_view to_string(Endpoint e) { return e == Endpoint::Mutate ? "mutate" : "validate"; }

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Allowed: return "allowed";
    case Verdict::Denied: return "denied";
    case Verdict::Warned: return "warned";
    case Verdict::Patched: return "patched";
    case Verdict::Error: return "error";
  }
  return "error";
}

namespace {

std::string object_name(const Request& r) {
  if (r.object.is_object()) {
    auto md = r.object.find("metadata");
    if (md != r.object.end() && md->is_object()) {
      auto n = md->find("name");
      if (n != md->end() && n->is_string() && !n->get_ref<const std::string&>().empty())
        return n->get<std::string>();
    }
  }
  return r.name;
}

// An ACK Table or a kro DynamoDBTable on CREATE or UPDATE: validated, never defaulted.
Response handle_table(Endpoint endpoint, ObjectKind kind, const Request& request,
                      const Options& options) {
  if (endpoint == Endpoint::Mutate) return Response::Allowed();
  const bool ack = kind == ObjectKind::AckTable;
  if (!request.object.is_object()) {
    return Response::Errored(400, "request.object must be a " + std::string(to_string(kind)) +
                                      " object for " + request.operation);
  }
  const json* old = request.operation == "UPDATE" && request.old_object.is_object()
                        ? &request.old_object
                        : nullptr;
  auto findings = ack ? tables::validate_ack_table(request.object, old, options)
                      : tables::validate_kro_table(request.object, old, options);
  Response r = findings.errors.empty()
                   ? Response::Allowed()
                   : Response::Invalid(std::string(ack ? tables::kAckGroup : tables::kKroGroup),
                                       std::string(to_string(kind)), object_name(request),
                                       std::move(findings.errors));
  r.with_warnings(std::move(findings.warnings));
  return r;
}

Response decide(Endpoint endpoint, const Request& request, const Options& options) {
  const ObjectKind kind = object_kind(request.kind);
  if (kind == ObjectKind::Other) return Response::Allowed();
  if (request.operation != "CREATE" && request.operation != "UPDATE") return Response::Allowed();
  if (kind != ObjectKind::Application) return handle_table(endpoint, kind, request, options);
  if (!request.object.is_object()) {
    return Response::Errored(400, "request.object must be an Application object for " +
                                      request.operation);
  }
  if (endpoint == Endpoint::Mutate) return Response::Patched(default_application(request.object));

  const json* old = request.operation == "UPDATE" && request.old_object.is_object()
                        ? &request.old_object
                        : nullptr;
  auto findings = validate_application(request.object, old, options);
  Response r = findings.errors.empty()
                   ? Response::Allowed()
                   : Response::Invalid("core.oam.dev", "Application", object_name(request),
                                       std::move(findings.errors));
  r.with_warnings(std::move(findings.warnings));
  return r;
}

}  // namespace

Response handle(Endpoint endpoint, const Request& request, const Options& options) {
  Response r = decide(endpoint, request, options);
  if (endpoint == Endpoint::Validate && options.enforcement == Enforcement::Warn)
    return Response::Warned(std::move(r));
  return r;
}

Outcome serve(Endpoint endpoint, std::string_view body, const Options& options) {
  Outcome out;
  // Only the parts of the review the admission logic reads are built (admission_reads.cpp); the
  // answer is the one handle(decode_review()) gives, which builds the whole document.
  auto decoded = detail::read_review(body, options, detail::admission_reads());
  if (auto* err = std::get_if<DecodeError>(&decoded)) {
    out.http_status = 400;
    out.body = err->message;
    out.verdict = Verdict::Error;
    return out;
  }
  const Request& req = std::get<Request>(decoded);
  Response resp = handle(endpoint, req, options);
  out.body = resp.encode(req.api_version, req.uid);
  if (resp.patch()) {
    out.verdict = Verdict::Patched;
  } else if (resp.warned()) {
    out.verdict = Verdict::Warned;
  } else if (resp.allowed()) {
    out.verdict = Verdict::Allowed;
  } else {
    out.verdict = resp.status() && resp.status()->code == 422 ? Verdict::Denied : Verdict::Error;
  }
  out.patch_ops = resp.patch_ops();
  out.warnings = resp.warnings().size();
  out.uid = req.uid;
  out.api_version = req.api_version;
  out.kind = req.kind.group.empty() ? req.kind.kind : req.kind.kind + "." + req.kind.group;
  out.object_kind = object_kind(req.kind);
  out.namespace_ = req.namespace_;
  out.name = req.name.empty() ? object_name(req) : req.name;
  out.operation = req.operation;
  out.dry_run = req.dry_run;
  return out;
}

}  // namespace dsw
