// The guards of the ACK Table and the kro DynamoDBTable: every rule, CREATE and UPDATE, and
// the absent, null and empty cases.
#include "test_support.h"

#include "dsw/tables.h"

using namespace dsw;
using namespace dsw::testing;

namespace {

const std::string kSupported =
    "supported values: \"KEYS_ONLY\", \"NEW_IMAGE\", \"OLD_IMAGE\", \"NEW_AND_OLD_IMAGES\"";
const std::string kRequired =
    "Required value: a stream with streamEnabled: true needs a view type (DynamoDB refuses to "
    "enable one without it); " +
    kSupported;

json ack(json spec) {
  return {{"apiVersion", "dynamodb.services.k8s.aws/v1alpha1"},
          {"kind", "Table"},
          {"metadata", {{"name", "orders"}, {"namespace", "team-a"}}},
          {"spec", std::move(spec)}};
}

json kro(json spec) {
  return {{"apiVersion", "kro.run/v1alpha1"},
          {"kind", "DynamoDBTable"},
          {"metadata", {{"name", "orders"}, {"namespace", "team-a"}}},
          {"spec", std::move(spec)}};
}

// Stands for a member that is absent.
const json kAbsent = json(json::value_t::discarded);

json stream(json enabled, json view) {
  json s = json::object();
  if (!enabled.is_discarded()) s["streamEnabled"] = std::move(enabled);
  if (!view.is_discarded()) s["streamViewType"] = std::move(view);
  return s;
}

json ack_stream(json enabled, json view = kAbsent, json replicas = kAbsent) {
  json spec = {{"tableName", "orders"}, {"streamSpecification", stream(enabled, view)}};
  if (!replicas.is_discarded()) spec["tableReplicas"] = std::move(replicas);
  return ack(std::move(spec));
}

json kro_stream(json enabled, json view = kAbsent) {
  json spec = stream(std::move(enabled), std::move(view));
  spec["tableName"] = "orders";
  return kro(std::move(spec));
}

struct Result {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

Result check_ack(const json& t, const json* old = nullptr, const Options& o = {}) {
  auto f = tables::validate_ack_table(t, old, o);
  Result r;
  for (auto& e : f.errors) r.errors.push_back(e.to_string());
  r.warnings = f.warnings;
  return r;
}

Result check_kro(const json& t, const json* old = nullptr, const Options& o = {}) {
  auto f = tables::validate_kro_table(t, old, o);
  Result r;
  for (auto& e : f.errors) r.errors.push_back(e.to_string());
  r.warnings = f.warnings;
  return r;
}

using Lines = std::vector<std::string>;

json replicas() { return json::array({{{"regionName", "us-west-2"}}}); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// ACK Table

TEST_CASE("ACK Table: valid streams, no stream, and no spec give nothing") {
  for (auto v : streams::kViewTypes) {
    CHECK(check_ack(ack_stream(true, v)).errors.empty());
    CHECK(check_ack(ack_stream(true, v)).warnings.empty());
  }
  CHECK(check_ack(ack({{"tableName", "orders"}})).errors.empty());
  CHECK(check_ack(ack({{"streamSpecification", nullptr}})).errors.empty());
  CHECK(check_ack(ack({{"streamSpecification", json::object()}})).errors.empty());
  CHECK(check_ack(ack_stream(false)).errors.empty());
  CHECK(check_ack(ack_stream(nullptr, nullptr)).errors.empty());
  CHECK(check_ack(ack(nullptr)).errors.empty());
  json no_spec = ack(nullptr);
  no_spec.erase("spec");
  CHECK(check_ack(no_spec).errors.empty());
  CHECK(check_ack(ack_stream(true, "NEW_AND_OLD_IMAGES", replicas())).errors.empty());
  CHECK(check_ack(ack_stream(false, kAbsent, json::array())).errors.empty());
}

TEST_CASE("ACK Table: spec.streamSpecification must be an object") {
  CHECK(check_ack(ack({{"streamSpecification", "on"}})).errors ==
        Lines{"spec.streamSpecification: Invalid value: \"on\": must be an object"});
  CHECK(check_ack(ack({{"streamSpecification", json::array({true})}})).errors ==
        Lines{"spec.streamSpecification: Invalid value: [true]: must be an object"});
  CHECK(check_ack(ack({{"streamSpecification", true}, {"tableReplicas", replicas()}})).errors ==
        Lines{"spec.streamSpecification: Invalid value: true: must be an object"});
}

TEST_CASE("ACK Table: streamEnabled a boolean, streamViewType a string of the enum") {
  CHECK(check_ack(ack_stream("yes", "NEW_IMAGE")).errors ==
        Lines{"spec.streamSpecification.streamEnabled: Invalid value: \"yes\": must be a boolean"});
  CHECK(check_ack(ack_stream(1)).errors ==
        Lines{"spec.streamSpecification.streamEnabled: Invalid value: 1: must be a boolean"});
  CHECK(check_ack(ack_stream(true, 5)).errors ==
        Lines{"spec.streamSpecification.streamViewType: Invalid value: 5: must be a string"});
  CHECK(check_ack(ack_stream(true, "new-image")).errors ==
        Lines{"spec.streamSpecification.streamViewType: Unsupported value: \"new-image\": " +
              kSupported + " (did you mean \"NEW_IMAGE\"?)"});
  CHECK(check_ack(ack_stream(true, "NEW")).errors ==
        Lines{"spec.streamSpecification.streamViewType: Unsupported value: \"NEW\": " +
              kSupported});
  SUBCASE("a bad view type is reported whatever streamEnabled says") {
    CHECK(check_ack(ack_stream(false, "NEW")).errors.size() == 1);
    CHECK(check_ack(ack_stream(kAbsent, "NEW")).errors.size() == 1);
    CHECK(check_ack(ack_stream(kAbsent, "NEW")).warnings.empty());
  }
  SUBCASE("every error at once") {
    CHECK(check_ack(ack_stream("on", json::array())).errors.size() == 2);
  }
}

TEST_CASE("ACK Table: streamEnabled: true needs a view type (absent, null or empty)") {
  const Lines required{"spec.streamSpecification.streamViewType: " + kRequired};
  CHECK(check_ack(ack_stream(true)).errors == required);
  CHECK(check_ack(ack_stream(true, nullptr)).errors == required);
  CHECK(check_ack(ack_stream(true, "")).errors == required);
  auto f = tables::validate_ack_table(ack_stream(true), nullptr, Options{});
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].type == field::ErrorType::Required);
  SUBCASE("not when the stream is off or unset") {
    CHECK(check_ack(ack_stream(false)).errors.empty());
    CHECK(check_ack(ack_stream(false, "")).errors.empty());
    CHECK(check_ack(ack_stream(nullptr, "")).errors.empty());
    CHECK(check_ack(ack_stream(kAbsent, nullptr)).errors.empty());
  }
  SUBCASE("not when streamEnabled is invalid (its own error says so)") {
    CHECK(check_ack(ack_stream("true")).errors.size() == 1);
  }
}

TEST_CASE("ACK Table: replicas need the stream enabled with NEW_AND_OLD_IMAGES") {
  const std::string head =
      "spec.tableReplicas: Forbidden: a table with replicas (a DynamoDB global table) needs its "
      "stream enabled with view type \"NEW_AND_OLD_IMAGES\", but ";
  CHECK(check_ack(ack_stream(true, "NEW_IMAGE", replicas())).errors ==
        Lines{head + "the stream's view type is \"NEW_IMAGE\""});
  CHECK(check_ack(ack_stream(false, kAbsent, replicas())).errors ==
        Lines{head + "the stream is not enabled"});
  CHECK(check_ack(ack_stream(kAbsent, "NEW_AND_OLD_IMAGES", replicas())).errors ==
        Lines{head + "the stream is not enabled"});
  CHECK(check_ack(ack({{"tableReplicas", replicas()}})).errors ==
        Lines{head + "the stream is not enabled"});
  CHECK(check_ack(ack({{"streamSpecification", nullptr}, {"tableReplicas", replicas()}})).errors ==
        Lines{head + "the stream is not enabled"});
  CHECK(check_ack(ack_stream(true, kAbsent, replicas())).errors ==
        Lines{"spec.streamSpecification.streamViewType: " + kRequired,
              head + "the stream has no view type"});
  SUBCASE("no replicas: nothing to check") {
    CHECK(check_ack(ack_stream(false, kAbsent, json::array())).errors.empty());
    CHECK(check_ack(ack_stream(false, kAbsent, nullptr)).errors.empty());
    CHECK(check_ack(ack_stream(true, "KEYS_ONLY", json::array())).errors.empty());
  }
  SUBCASE("not checked while the stream's own values are invalid") {
    CHECK(check_ack(ack_stream(true, "new-and-old-images", replicas())).errors.size() == 1);
    CHECK(check_ack(ack_stream("true", "NEW_AND_OLD_IMAGES", replicas())).errors.size() == 1);
  }
}

TEST_CASE("ACK Table: a view type on a disabled stream is a warning") {
  auto r = check_ack(ack_stream(false, "KEYS_ONLY"));
  CHECK(r.errors.empty());
  CHECK(r.warnings == Lines{"spec.streamSpecification.streamViewType: \"KEYS_ONLY\" is ignored "
                            "while the stream is disabled (streamEnabled: false)"});
  CHECK(check_ack(ack_stream(false)).warnings.empty());
  CHECK(check_ack(ack_stream(false, "")).warnings.empty());
  CHECK(check_ack(ack_stream(false, "NEW")).warnings.empty());  // an error instead
  CHECK(check_ack(ack_stream(kAbsent, "KEYS_ONLY")).warnings.empty());
}

TEST_CASE("ACK Table on UPDATE: the view type of an enabled stream cannot change") {
  const json old = ack_stream(true, "NEW_AND_OLD_IMAGES");
  const std::string denial =
      "spec.streamSpecification.streamViewType: Invalid value: \"KEYS_ONLY\": cannot change the "
      "view type of an enabled stream from \"NEW_AND_OLD_IMAGES\" (DynamoDB rejects it: \"Table "
      "already has an enabled stream\"); disable the stream first (streamEnabled: false), then "
      "re-enable it with the new view type";
  CHECK(check_ack(ack_stream(true, "KEYS_ONLY"), &old).errors == Lines{denial});
  CHECK(check_ack(ack_stream(true, "KEYS_ONLY")).errors.empty());  // CREATE
  SUBCASE("--view-type-change=warn") {
    Options warn;
    warn.view_type_change = Enforcement::Warn;
    auto r = check_ack(ack_stream(true, "KEYS_ONLY"), &old, warn);
    CHECK(r.errors.empty());
    CHECK(r.warnings == Lines{denial});
  }
  SUBCASE("disabling first, and re-enabling, are allowed") {
    json off = ack_stream(false);
    CHECK(check_ack(off, &old).errors.empty());
    CHECK(check_ack(ack_stream(true, "KEYS_ONLY"), &off).errors.empty());
    json unset = ack({{"tableName", "orders"}});
    CHECK(check_ack(ack_stream(true, "KEYS_ONLY"), &unset).errors.empty());
  }
  SUBCASE("an invalid or missing new view type gets its own error, not this one") {
    CHECK(check_ack(ack_stream(true, "keys-only"), &old).errors.size() == 1);
    CHECK(check_ack(ack_stream(true, ""), &old).errors ==
          Lines{"spec.streamSpecification.streamViewType: " + kRequired});
  }
  SUBCASE("the other rules apply on UPDATE too") {
    json before = ack_stream(false);
    CHECK(check_ack(ack_stream(true, kAbsent), &before).errors.size() == 1);
    CHECK(check_ack(ack_stream(true, "NEW_IMAGE", replicas()), &before).errors.size() == 1);
  }
}

TEST_CASE("ACK Table on UPDATE: unchanged stream fields are not checked again") {
  // Stored before the webhook checked Tables: the controllers must still be able to write it
  // (finalizers, annotations, other spec fields).
  json stored = ack_stream(true, kAbsent, replicas());
  json relabelled = stored;
  relabelled["metadata"]["finalizers"] = json::array({"finalizers.dynamodb.services.k8s.aws/Table"});
  relabelled["spec"]["billingMode"] = "PAY_PER_REQUEST";
  CHECK(check_ack(relabelled, &stored).errors.empty());
  CHECK(check_ack(relabelled).errors.size() == 2);  // CREATE checks everything
  json off = ack_stream(false, "KEYS_ONLY");
  CHECK(check_ack(off, &off).warnings.empty());
  SUBCASE("a change to either field checks them all") {
    json more = stored;
    more["spec"]["tableReplicas"].push_back({{"regionName", "eu-west-1"}});
    CHECK(check_ack(more, &stored).errors.size() == 2);
    json other = stored;
    other["spec"]["streamSpecification"]["streamViewType"] = "NEW_IMAGE";
    CHECK(check_ack(other, &stored).errors.size() == 1);
  }
}

// ---------------------------------------------------------------------------------------------
// kro DynamoDBTable

TEST_CASE("kro DynamoDBTable: an instance without stream fields is left alone") {
  CHECK(check_kro(kro({{"tableName", "orders"}})).errors.empty());
  CHECK(check_kro(kro({{"tableName", "orders"}, {"streamSpecification", "junk"}})).errors.empty());
  CHECK(check_kro(kro(nullptr)).errors.empty());
  CHECK(check_kro(kro("x")).errors.empty());
  for (auto v : streams::kViewTypes) {
    auto r = check_kro(kro_stream(true, v));
    CHECK(r.errors.empty());
    CHECK(r.warnings.empty());
  }
  CHECK(check_kro(kro_stream(false)).errors.empty());
  CHECK(check_kro(kro_stream(nullptr, nullptr)).errors.empty());
}

TEST_CASE("kro DynamoDBTable: every stream rule at spec.streamEnabled / spec.streamViewType") {
  CHECK(check_kro(kro_stream("yes")).errors ==
        Lines{"spec.streamEnabled: Invalid value: \"yes\": must be a boolean"});
  CHECK(check_kro(kro_stream(true, 5)).errors ==
        Lines{"spec.streamViewType: Invalid value: 5: must be a string"});
  CHECK(check_kro(kro_stream(true, "New Image")).errors ==
        Lines{"spec.streamViewType: Unsupported value: \"New Image\": " + kSupported +
              " (did you mean \"NEW_IMAGE\"?)"});
  CHECK(check_kro(kro_stream(kAbsent, "OLD")).errors ==
        Lines{"spec.streamViewType: Unsupported value: \"OLD\": " + kSupported});
  for (json missing : {kAbsent, json(nullptr), json("")})
    CHECK(check_kro(kro_stream(true, missing)).errors == Lines{"spec.streamViewType: " + kRequired});
  auto r = check_kro(kro_stream(false, "NEW_IMAGE"));
  CHECK(r.errors.empty());
  CHECK(r.warnings == Lines{"spec.streamViewType: \"NEW_IMAGE\" is ignored while the stream is "
                            "disabled (streamEnabled: false)"});
  SUBCASE("replicas are an ACK Table rule only") {
    json t = kro_stream(false);
    t["spec"]["tableReplicas"] = replicas();
    CHECK(check_kro(t).errors.empty());
  }
}

TEST_CASE("kro DynamoDBTable on UPDATE") {
  const json old = kro_stream(true, "NEW_IMAGE");
  const std::string denial =
      "spec.streamViewType: Invalid value: \"OLD_IMAGE\": cannot change the view type of an "
      "enabled stream from \"NEW_IMAGE\" (DynamoDB rejects it: \"Table already has an enabled "
      "stream\"); disable the stream first (streamEnabled: false), then re-enable it with the "
      "new view type";
  CHECK(check_kro(kro_stream(true, "OLD_IMAGE"), &old).errors == Lines{denial});
  Options warn;
  warn.view_type_change = Enforcement::Warn;
  CHECK(check_kro(kro_stream(true, "OLD_IMAGE"), &old, warn).warnings == Lines{denial});
  CHECK(check_kro(kro_stream(false, "OLD_IMAGE"), &old).errors.empty());
  CHECK(check_kro(kro_stream(true, "NEW_IMAGE"), &old).errors.empty());
  SUBCASE("unchanged stream fields are not checked again") {
    json stored = kro_stream(true);
    json touched = stored;
    touched["metadata"]["labels"] = {{"team", "a"}};
    CHECK(check_kro(touched, &stored).errors.empty());
    json fixed = kro_stream(true, "KEYS_ONLY");
    CHECK(check_kro(fixed, &stored).errors.empty());
  }
  SUBCASE("an old object without stream fields, or without a spec") {
    json plain = kro({{"tableName", "orders"}});
    CHECK(check_kro(kro_stream(true, "KEYS_ONLY"), &plain).errors.empty());
    json nospec = kro(nullptr);
    CHECK(check_kro(kro_stream(true), &nospec).errors.size() == 1);
  }
}
