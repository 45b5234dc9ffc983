// Unit tests of audit/judge: an object judged as /validate judges a CREATE of it (the same
// texts, from dsw::handle with the same options), always as --enforcement deny; the identity of
// the object and the mutating webhook's defaults. The audit tests compare every corpus object
// with the real binary's `review --validate` (audit_reports_test.py).
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "audit/judge.h"
#include "dsw/handler.h"

using namespace dsw::audit;
using dsw::ObjectKind;
using dsw::Options;
using nlohmann::json;

namespace {

json app(const json& trait_properties) {
  json trait = {{"type", "dynamodb-streams-kro"}};
  if (!trait_properties.is_null()) trait["properties"] = trait_properties;
  return {{"apiVersion", "core.oam.dev/v1beta1"},
          {"kind", "Application"},
          {"metadata", {{"name", "orders"}, {"namespace", "team-a"}, {"uid", "u-1"}}},
          {"spec",
           {{"components",
             json::array({{{"name", "t"}, {"type", "aws-dynamodb-kro"}, {"traits", json::array({trait})}}})}}}};
}

// What /validate says, through the same entry point the server uses.
json validate(const json& object, const Options& options) {
  json review = {{"apiVersion", "admission.k8s.io/v1"},
                 {"kind", "AdmissionReview"},
                 {"request",
                  {{"uid", "x"},
                   {"operation", "CREATE"},
                   {"kind", {{"group", "core.oam.dev"}, {"version", "v1beta1"}, {"kind", "Application"}}},
                   {"object", object}}}};
  auto out = dsw::answer_review(dsw::Endpoint::Validate, review.dump(), options);
  REQUIRE(out.http_status == 200);
  return json::parse(out.body)["response"];
}

}  // namespace

TEST_CASE("a valid object is one pass, with its identity and the defaults it would get") {
  Judged j = judge(app(nullptr), Options{});
  CHECK(j.kind == ObjectKind::Application);
  CHECK(j.api_version == "core.oam.dev/v1beta1");
  CHECK(j.namespace_ == "team-a");
  CHECK(j.name == "orders");
  CHECK(j.uid == "u-1");
  REQUIRE(j.findings.size() == 1);
  CHECK(j.findings[0].result == Result::Pass);
  CHECK(json::parse(j.defaults) ==
        json::parse(R"([{"op":"add","path":"/spec/components/0/traits/0/properties",
                         "value":{"enabled":true,"viewType":"NEW_AND_OLD_IMAGES"}}])"));
  CHECK(judge(app({{"enabled", true}, {"viewType", "KEYS_ONLY"}}), Options{}).defaults.empty());
}

TEST_CASE("each field error is a fail with /validate's text, each warning a warn") {
  json obj = app({{"enabled", "yes"}, {"viewType", "new-image"}, {"extra", 1}});
  obj["spec"]["components"][0]["traits"].push_back({{"type", "dynamodb-streams-kro"}});
  Options options;
  Judged j = judge(obj, options);
  json answer = validate(obj, options);
  REQUIRE(answer["allowed"] == false);
  const json& causes = answer["status"]["details"]["causes"];
  std::size_t fails = 0;
  for (const auto& f : j.findings) {
    if (f.result != Result::Fail) continue;
    const json& c = causes[fails++];
    CHECK(f.message == c["field"].get<std::string>() + ": " + c["message"].get<std::string>());
    CHECK(f.field == c["field"]);
    CHECK(f.reason == c["reason"]);
    CHECK(answer["status"]["message"].get<std::string>().find(f.message) != std::string::npos);
  }
  CHECK(fails == causes.size());
  CHECK(fails >= 3);

  // An unknown property only warned about: a warn with the answer's warning text.
  options.unknown_properties = dsw::Enforcement::Warn;
  obj = app({{"enabled", true}, {"viewtype", "KEYS_ONLY"}});
  j = judge(obj, options);
  answer = validate(obj, options);
  REQUIRE(answer["allowed"] == true);
  REQUIRE(j.findings.size() == answer["warnings"].size());
  for (std::size_t i = 0; i < j.findings.size(); ++i) {
    CHECK(j.findings[i].result == Result::Warn);
    CHECK(j.findings[i].message == answer["warnings"][i]);
  }
}

TEST_CASE("--enforcement warn does not turn fails into warns") {
  json obj = app({{"viewType", "NEW"}});
  Options deny, warn;
  warn.enforcement = dsw::Enforcement::Warn;
  Judged a = judge(obj, deny), b = judge(obj, warn);
  REQUIRE(a.findings.size() == 1);
  CHECK(a.findings[0].result == Result::Fail);
  REQUIRE(b.findings.size() == 1);
  CHECK(b.findings[0].result == Result::Fail);
  CHECK(a.findings[0].message == b.findings[0].message);
  // What the webhook itself answers under warn: admitted, the same text as a warning.
  json answer = validate(obj, warn);
  CHECK(answer["allowed"] == true);
  CHECK(answer["warnings"][0] == a.findings[0].message);
}

TEST_CASE("the tables are judged by the guards, any version; other kinds are not ours") {
  json ack = {{"apiVersion", "dynamodb.services.k8s.aws/v1"},
              {"kind", "Table"},
              {"metadata", {{"name", "t"}}},
              {"spec", {{"streamSpecification", {{"streamEnabled", true}}}}}};
  Judged j = judge(ack, Options{});
  CHECK(j.kind == ObjectKind::AckTable);
  REQUIRE(j.findings.size() == 1);
  CHECK(j.findings[0].result == Result::Fail);
  CHECK(j.findings[0].message.find("spec.streamSpecification.streamViewType: Required value") == 0);
  CHECK(j.defaults.empty());

  json kro = {{"apiVersion", "kro.run/v1alpha1"}, {"kind", "DynamoDBTable"}, {"metadata", {{"name", "k"}}},
              {"spec", json::object()}};
  CHECK(kind_of(kro) == ObjectKind::KroTable);
  CHECK(judge(kro, Options{}).findings[0].result == Result::Pass);

  CHECK(kind_of(json{{"apiVersion", "v1"}, {"kind", "Application"}}) == ObjectKind::Other);
  CHECK(kind_of(json{{"apiVersion", "apps/v1"}, {"kind", "Deployment"}}) == ObjectKind::Other);
  CHECK(kind_of(json::array()) == ObjectKind::Other);
}

TEST_CASE("an object too deep to review is one error naming the limit") {
  Options options;
  options.max_depth = 64;
  Judged j = too_deep(app(nullptr), options);
  CHECK(j.name == "orders");
  REQUIRE(j.findings.size() == 1);
  CHECK(j.findings[0].result == Result::Error);
  CHECK(j.findings[0].message.find("deeper than 64 levels") != std::string::npos);
}
