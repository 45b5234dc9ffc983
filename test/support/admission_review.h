// AdmissionReviews for the C++ suites (test/lib, via test_support.h), the fuzz targets and the
// microbenchmark: their one builder. The Python suites have test/support/reviews.py, which builds
// reviews of the same shape.
//
// A review carries what an apiserver puts in an admission.k8s.io AdmissionRequest: uid, kind and
// resource (requestKind and requestResource the same), name and namespace (from the object's
// metadata, or the old object's for a DELETE), operation, userInfo, object and oldObject (left
// out when null, as the apiserver's `omitempty` does), dryRun and the operation's options. A test
// that needs a malformed review builds this one and then breaks it. Header only (nlohmann_json).
#pragma once

#include <cctype>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace dsw::testing {

// A GroupVersionKind.
struct Gvk {
  std::string group;
  std::string version;
  std::string kind;
};

inline const Gvk kApplicationKind{"core.oam.dev", "v1beta1", "Application"};
inline const Gvk kAckTableKind{"dynamodb.services.k8s.aws", "v1alpha1", "Table"};
inline const Gvk kKroTableKind{"kro.run", "v1alpha1", "DynamoDBTable"};
inline constexpr const char* kReviewUid = "705ab4f5-6393-11e8-b7cc-42010a800002";

namespace review_detail {

inline nlohmann::json gvk(const Gvk& k) {
  return {{"group", k.group}, {"version", k.version}, {"kind", k.kind}};
}

// The kind's resource: the kind in lower case, plural with an "s" (applications, tables,
// dynamodbtables).
inline nlohmann::json gvr(const Gvk& k) {
  std::string resource;
  for (char c : k.kind) resource += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return {{"group", k.group}, {"version", k.version}, {"resource", resource + "s"}};
}

// metadata.<member> of the first of the objects that has it as a string, else `fallback`.
inline std::string metadata(const nlohmann::json& object, const nlohmann::json& old_object,
                            const char* member, const char* fallback) {
  for (const nlohmann::json* o : {&object, &old_object}) {
    if (!o->is_object() || !o->contains("metadata")) continue;
    const nlohmann::json& m = (*o)["metadata"];
    if (m.is_object() && m.contains(member) && m[member].is_string())
      return m[member].get<std::string>();
  }
  return fallback;
}

inline const char* options_kind(const std::string& operation) {
  if (operation == "CREATE") return "CreateOptions";
  if (operation == "UPDATE") return "UpdateOptions";
  if (operation == "DELETE") return "DeleteOptions";
  return nullptr;
}

}  // namespace review_detail

// An AdmissionReview (uid kReviewUid) of `object` for `operation`, with `old_object` as
// oldObject; null leaves either out. `kind` for objects other than Applications.
inline nlohmann::json review(const std::string& operation, nlohmann::json object,
                             nlohmann::json old_object = nullptr,
                             const std::string& api_version = "admission.k8s.io/v1",
                             const Gvk& kind = kApplicationKind) {
  using nlohmann::json;
  json req = {{"uid", kReviewUid},
              {"kind", review_detail::gvk(kind)},
              {"resource", review_detail::gvr(kind)},
              {"requestKind", review_detail::gvk(kind)},
              {"requestResource", review_detail::gvr(kind)},
              {"name", review_detail::metadata(object, old_object, "name", "")},
              {"namespace", review_detail::metadata(object, old_object, "namespace", "default")},
              {"operation", operation},
              {"userInfo",
               {{"username", "kubernetes-admin"},
                {"groups", json::array({"system:masters", "system:authenticated"})}}},
              {"dryRun", false}};
  if (!object.is_null()) req["object"] = std::move(object);
  if (!old_object.is_null()) req["oldObject"] = std::move(old_object);
  if (const char* options = review_detail::options_kind(operation))
    req["options"] = {{"apiVersion", "meta.k8s.io/v1"}, {"kind", options}};
  return {{"apiVersion", api_version}, {"kind", "AdmissionReview"}, {"request", std::move(req)}};
}

}  // namespace dsw::testing
