// The AdmissionReview request, decoded from admission.k8s.io/v1 or v1beta1 into one type.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "dsw/options.h"

namespace dsw {

struct GroupVersionKind {
  std::string group;
  std::string version;
  std::string kind;
};

// The kinds the webhook examines, by group and kind (any version); everything else is Other.
enum class ObjectKind { Application, AckTable, KroTable, Other };
ObjectKind object_kind(const GroupVersionKind& gvk);
// "Application", "Table", "DynamoDBTable" or "other": the bounded values of the metrics' label.
std::string_view to_string(ObjectKind k);

struct Request {
  std::string api_version;  // "admission.k8s.io/v1" or "admission.k8s.io/v1beta1"
  std::string uid;
  GroupVersionKind kind;
  std::string operation;  // CREATE, UPDATE, DELETE, CONNECT
  std::string name;
  std::string namespace_;
  bool dry_run = false;
  nlohmann::json object;      // null when absent
  nlohmann::json old_object;  // null when absent

  bool is_application() const { return object_kind(kind) == ObjectKind::Application; }
};

// Why a body is not a usable AdmissionReview. The transport answers these with HTTP 400 and the
// message, which never quotes the body.
struct DecodeError {
  std::string message;
};

using DecodeResult = std::variant<Request, DecodeError>;

// Checks nesting against options.max_depth and refuses raw control bytes before parsing, parses
// once with nlohmann_json, and builds the whole document: request.object and oldObject hold
// every member. (dsw::answer_review() reads with the same parser but builds only what the admission
// logic reads; its answers are those of handle(decode_review()).)
DecodeResult decode_review(std::string_view body, const Options& options);

}  // namespace dsw
