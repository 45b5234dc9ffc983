// The admission response and its named constructors. Invariants live in the type: a patch is
// only set through Patched() (so patch and patchType always go together), and a denial always
// carries a message.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsw/field.h"
#include "dsw/patch.h"

namespace dsw {

struct Status {
  int code = 0;
  std::string reason;   // "Invalid", "BadRequest", "Forbidden", ...
  std::string message;  // never empty on a denial
  // For Invalid: the object's group, kind, name and one cause per field error.
  struct Details {
    std::string group;
    std::string kind;
    std::string name;
    field::ErrorList causes;
  };
  std::optional<Details> details;
};

class Response {
 public:
  static Response Allowed();
  // A denial with a plain message (code 403, reason Forbidden).
  static Response Denied(std::string message);
  // A denial for invalid content: 422 Invalid, Kubernetes-style message and causes.
  static Response Invalid(std::string group, std::string kind, std::string name,
                          field::ErrorList errors);
  // The request could not be handled (code 400 or 500).
  static Response Errored(int code, std::string message);
  // Allowed with a JSON Patch; an empty patch gives a plain Allowed().
  static Response Patched(const Patch& patch);

  Response& with_warnings(std::vector<std::string> warnings);

  bool allowed() const { return allowed_; }
  const std::optional<Status>& status() const { return status_; }
  // The JSON text of the patch (not yet base64), when there is one.
  const std::optional<std::string>& patch() const { return patch_; }
  std::size_t patch_ops() const { return patch_ops_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The full AdmissionReview answer in `api_version` with `uid` echoed; the patch goes out
  // base64-encoded with patchType JSONPatch.
  std::string encode(std::string_view api_version, std::string_view uid) const;

 private:
  Response() = default;
  bool allowed_ = true;
  std::optional<Status> status_;
  std::optional<std::string> patch_;
  std::size_t patch_ops_ = 0;
  std::vector<std::string> warnings_;
};

// Makes `text` fit the apiserver's rules for a warning: one line, no control characters, at
// most 256 bytes (cut at a UTF-8 boundary, ending in "...").
std::string sanitize_warning(std::string_view text);

std::string base64_encode(std::string_view data);

// `"..."` with JSON escaping (RFC 8259), for hand-written JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace dsw
