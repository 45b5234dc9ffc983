// What the audit says about one object: exactly what POST /validate answers for an
// AdmissionReview that CREATEs it, as results. Each field error is one `fail` (its message the
// error's text, FieldError::to_string(), as the denial's status message writes it), each warning
// one `warn` (the text of the answer's `warnings`), an object with neither one `pass`; an answer
// that is an error (not a judgement of the content) one `error`.
//
// The options are the webhook's (--applies-to, --unknown-properties, ...), except that the audit
// always judges as --enforcement deny: under warn the webhook admits an invalid object with its
// errors as warnings, but the object is just as wrong, so its errors stay `fail`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsw/options.h"
#include "dsw/review.h"

namespace dsw::audit {

// The values of a report result's `result`.
enum class Result { Pass, Fail, Warn, Error, Skip };
std::string_view to_string(Result r);

struct Finding {
  Result result = Result::Pass;
  std::string message;  // "" for a pass
  std::string field;    // for a fail from a field error: its path
  std::string reason;   // for a fail from a field error: its cause type, "FieldValueNotSupported"
};

// One audited object: who it is, and what /validate says about a CREATE of it.
struct Judged {
  ObjectKind kind = ObjectKind::Other;
  std::string api_version;  // as read: "core.oam.dev/v1beta1"
  std::string namespace_, name, uid;
  // The JSON Patch the mutating webhook would answer for it (Applications only; "" for none).
  std::string defaults;
  std::vector<Finding> findings;  // never empty
};

// The kind the webhook examines `object` is (the group of its apiVersion, any version, and its
// kind, as lib's object_kind decides for a review); Other for everything else.
ObjectKind kind_of(const nlohmann::json& object);

// Judges `object` (one of the three kinds) as /validate does a CREATE of it. `object` is moved
// into the request and dropped afterwards.
Judged judge(nlohmann::json object, const Options& options);

// An object read with its members below `max_depth` left out: /validate refuses a review that
// nests that deep (HTTP 400) before judging it, so its one result is an `error` saying so.
Judged too_deep(const nlohmann::json& object, const Options& options);

}  // namespace dsw::audit
