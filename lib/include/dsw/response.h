// The admission response and its named constructors. Invariants live in the type: a patch is
// only set through Patched() (so patch and patchType always go together), a denial always
// carries a message, and each constructor sets the verdict the metrics and logs report.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsw/field.h"
#include "dsw/patch.h"

namespace dsw {

// What an answer says, as the metrics and logs count it. Warned: allowed under --enforcement warn
// although it would have been denied.
enum class Verdict { Allowed, Denied, Warned, Patched, Error };
std::string_view to_string(Verdict v);

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
  // Verdict Allowed.
  static Response Allowed();
  // A denial with a plain message (code 403, reason Forbidden). Verdict Denied.
  static Response Denied(std::string message);
  // A denial for invalid content: 422 Invalid, Kubernetes-style message and causes. Verdict
  // Denied.
  static Response Invalid(std::string group, std::string kind, std::string name,
                          field::ErrorList errors);
  // The request could not be handled (code 400 or 500). Verdict Error.
  static Response Errored(int code, std::string message);
  // Allowed with a JSON Patch (verdict Patched); an empty patch gives a plain Allowed().
  static Response Patched(const Patch& patch);

  // The answer of --enforcement warn in place of `denial`: when it is a denial for the content
  // (403 Forbidden or 422 Invalid), an allowed answer whose warnings are what would have been
  // denied (each cause's field error string, path first, or the message of a plain denial),
  // then the warnings `denial` carried, capped by cap_warnings(); verdict Warned. Any other
  // answer (allowed, patched, 400/500 errors) is returned unchanged.
  static Response Warned(Response denial);

  Response& with_warnings(std::vector<std::string> warnings);

  Verdict verdict() const { return verdict_; }
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
  Verdict verdict_ = Verdict::Allowed;
};

// At most this many warnings in one Warned() answer.
inline constexpr std::size_t kMaxWarnings = 20;

// Keeps `warnings` to at most `max` entries (max >= 2): when there are more, the first max - 1
// are kept and the last one says how many were left out: "... and N more warnings" (N >= 2).
void cap_warnings(std::vector<std::string>& warnings, std::size_t max = kMaxWarnings);

// Makes `text` fit the apiserver's rules for a warning: one line, no control characters, at
// most 256 bytes (cut at a UTF-8 boundary, ending in "...").
std::string sanitize_warning(std::string_view text);

std::string base64_encode(std::string_view data);

// `"..."` with JSON escaping (RFC 8259), for hand-written JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace dsw
