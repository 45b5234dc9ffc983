#include "dsw/review.h"

#include "dsw/json_limits.h"
#include "dsw/tables.h"
#include "json_access.h"
#include "review_internal.h"

namespace dsw {

namespace {

using detail::member;

std::string owned_string_member(const nlohmann::json& obj, const char* key) {
  return std::string(detail::string_member(obj, key));
}

}  // namespace

namespace detail {

bool is_control(unsigned char c) { return c < 0x20 && c != '\t' && c != '\n' && c != '\r'; }

// The offset of the first byte below 0x20 other than tab, LF and CR, or npos. Blocks of 64 bytes
// are tested without branches (the compiler vectorises the inner loop): ~1 instruction per byte
// instead of ~10 for a byte-by-byte search, on every request body.
std::size_t first_control_byte(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    unsigned bad = 0;
    for (std::size_t k = 0; k < 64; ++k) bad |= is_control(p[i + k]) ? 1u : 0u;
    if (bad != 0) break;
  }
  for (; i < n; ++i)
    if (is_control(p[i])) return i;
  return std::string_view::npos;
}


std::optional<DecodeError> check_raw_body(std::string_view body, const Options& options) {
  if (json_nesting_depth(body, options.max_depth) > options.max_depth) {
    return DecodeError{"request body nests JSON deeper than " + std::to_string(options.max_depth) +
                       " levels"};
  }
  // A raw byte below 0x20 is valid JSON only as whitespace between tokens (tab, LF, CR).
  // nlohmann's lexer takes a NUL for the end of the text (so `{...}\0garbage` would parse): it
  // must be refused here, and so are the other control bytes, with the offset of the first one
  // wherever it is. Found by fuzzing.
  if (std::size_t i = first_control_byte(body); i != std::string_view::npos) {
    return DecodeError{"request body is not valid JSON (error at byte " + std::to_string(i + 1) +
                       ")"};
  }
  return std::nullopt;
}

}  // namespace detail

ObjectKind object_kind(const GroupVersionKind& gvk) {
  if (gvk.group == "core.oam.dev" && gvk.kind == "Application") return ObjectKind::Application;
  if (gvk.group == tables::kAckGroup && gvk.kind == tables::kAckKind) return ObjectKind::AckTable;
  if (gvk.group == tables::kKroGroup && gvk.kind == tables::kKroKind) return ObjectKind::KroTable;
  return ObjectKind::Other;
}

std::string_view to_string(ObjectKind k) {
  switch (k) {
    case ObjectKind::Application: return "Application";
    case ObjectKind::AckTable: return tables::kAckKind;
    case ObjectKind::KroTable: return tables::kKroKind;
    case ObjectKind::Other: return "other";
  }
  return "other";
}

DecodeResult decode_review(std::string_view body, const Options& options) {
  return detail::read_review(body, options, detail::KeepPaths::everything());
}

namespace detail {

DecodeResult request_from_document(nlohmann::json doc) {
  if (!doc.is_object()) return DecodeError{"request body is not a JSON object"};

  std::string api_version = owned_string_member(doc, "apiVersion");
  if (api_version != "admission.k8s.io/v1" && api_version != "admission.k8s.io/v1beta1") {
    return DecodeError{
        "apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1"};
  }
  if (owned_string_member(doc, "kind") != "AdmissionReview") {
    return DecodeError{"kind must be AdmissionReview"};
  }
  auto* req = member(doc, "request");
  if (req == nullptr || !req->is_object()) {
    return DecodeError{"AdmissionReview has no request"};
  }
  Request r;
  r.api_version = std::move(api_version);
  r.uid = owned_string_member(*req, "uid");
  if (r.uid.empty()) return DecodeError{"AdmissionReview request has no uid"};
  if (const auto* kind = member(*req, "kind"); kind != nullptr && kind->is_object()) {
    r.kind.group = owned_string_member(*kind, "group");
    r.kind.version = owned_string_member(*kind, "version");
    r.kind.kind = owned_string_member(*kind, "kind");
  }
  r.operation = owned_string_member(*req, "operation");
  r.name = owned_string_member(*req, "name");
  r.namespace_ = owned_string_member(*req, "namespace");
  if (const auto* dry = member(*req, "dryRun"); dry != nullptr && dry->is_boolean()) {
    r.dry_run = dry->get<bool>();
  }
  auto& mreq = doc["request"];
  if (auto it = mreq.find("object"); it != mreq.end()) r.object = std::move(*it);
  if (auto it = mreq.find("oldObject"); it != mreq.end()) r.old_object = std::move(*it);
  return r;
}

}  // namespace detail

}  // namespace dsw
