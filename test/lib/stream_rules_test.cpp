// The stream rules on their own, with the field paths of each place a stream is configured.
#include "test_support.h"

#include "dsw/stream_rules.h"

using namespace dsw;
using namespace dsw::testing;

namespace {

streams::StreamFields ack_fields() {
  return {field::Path::root("spec").child("streamSpecification"), "streamEnabled",
          "streamViewType"};
}

streams::StreamFields trait_fields() {
  return {field::Path::root("t").child("properties"), "enabled", "viewType"};
}

std::vector<std::string> messages(const streams::Findings& f) {
  std::vector<std::string> out;
  for (const auto& e : f.errors) out.push_back(e.to_string());
  return out;
}

const std::string kSupported =
    "supported values: \"KEYS_ONLY\", \"NEW_IMAGE\", \"OLD_IMAGE\", \"NEW_AND_OLD_IMAGES\"";

}  // namespace

TEST_CASE("the view-type enum and its suggestions") {
  for (auto v : streams::kViewTypes) CHECK(streams::is_view_type(json(v)));
  CHECK_FALSE(streams::is_view_type(json("new_image")));
  CHECK_FALSE(streams::is_view_type(json(5)));
  CHECK_FALSE(streams::is_view_type(json(nullptr)));
  CHECK(streams::suggest_view_type("new-image") == std::optional<std::string_view>("NEW_IMAGE"));
  CHECK(streams::suggest_view_type("New And Old Images") ==
        std::optional<std::string_view>("NEW_AND_OLD_IMAGES"));
  CHECK(streams::suggest_view_type("keys only") == std::optional<std::string_view>("KEYS_ONLY"));
  CHECK_FALSE(streams::suggest_view_type("NEW"));
  CHECK_FALSE(streams::suggest_view_type(""));
  CHECK(streams::kReplicaViewType == "NEW_AND_OLD_IMAGES");
}

TEST_CASE("check_enabled: a boolean, at the caller's path") {
  streams::Findings f;
  CHECK(streams::check_enabled(json(true), ack_fields(), f));
  CHECK(streams::check_enabled(json(false), ack_fields(), f));
  CHECK(f.errors.empty());
  CHECK_FALSE(streams::check_enabled(json("true"), ack_fields(), f));
  CHECK_FALSE(streams::check_enabled(json(1), trait_fields(), f));
  CHECK(messages(f) == std::vector<std::string>{
                           "spec.streamSpecification.streamEnabled: Invalid value: \"true\": "
                           "must be a boolean",
                           "t.properties.enabled: Invalid value: 1: must be a boolean"});
}

TEST_CASE("check_view_type: a string of the enum, with did-you-mean") {
  streams::Findings f;
  for (auto v : streams::kViewTypes) CHECK(streams::check_view_type(json(v), ack_fields(), f));
  CHECK(f.errors.empty());
  CHECK_FALSE(streams::check_view_type(json(5), ack_fields(), f));
  CHECK_FALSE(streams::check_view_type(json("new-image"), ack_fields(), f));
  CHECK_FALSE(streams::check_view_type(json("NEW"), ack_fields(), f));
  CHECK_FALSE(streams::check_view_type(json(""), ack_fields(), f));
  CHECK(messages(f) ==
        std::vector<std::string>{
            "spec.streamSpecification.streamViewType: Invalid value: 5: must be a string",
            "spec.streamSpecification.streamViewType: Unsupported value: \"new-image\": " +
                kSupported + " (did you mean \"NEW_IMAGE\"?)",
            "spec.streamSpecification.streamViewType: Unsupported value: \"NEW\": " + kSupported,
            "spec.streamSpecification.streamViewType: Unsupported value: \"\": " + kSupported});
  CHECK(f.errors[0].type == field::ErrorType::Invalid);
  CHECK(f.errors[1].type == field::ErrorType::NotSupported);
}

TEST_CASE("require_view_type: apimachinery's Required value, naming the four view types") {
  streams::Findings f;
  streams::require_view_type(ack_fields(), f);
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].type == field::ErrorType::Required);
  CHECK_FALSE(f.errors[0].value);
  CHECK(f.errors[0].to_string() ==
        "spec.streamSpecification.streamViewType: Required value: a stream with streamEnabled: "
        "true needs a view type (DynamoDB refuses to enable one without it); " +
            kSupported);
  CHECK(f.errors[0].body().rfind("Required value: ", 0) == 0);
}

TEST_CASE("warn_view_type_ignored names the caller's enabling field") {
  streams::Findings f;
  streams::warn_view_type_ignored(ack_fields(), "KEYS_ONLY", f);
  streams::warn_view_type_ignored(trait_fields(), "OLD_IMAGE", f);
  CHECK(f.errors.empty());
  CHECK(f.warnings == std::vector<std::string>{
                          "spec.streamSpecification.streamViewType: \"KEYS_ONLY\" is ignored "
                          "while the stream is disabled (streamEnabled: false)",
                          "t.properties.viewType: \"OLD_IMAGE\" is ignored while the stream is "
                          "disabled (enabled: false)"});
}

TEST_CASE("check_view_type_change: only two different strings; deny or warn") {
  const json keys("KEYS_ONLY"), image("NEW_IMAGE"), five(5);
  SUBCASE("nothing to report") {
    streams::Findings f;
    streams::check_view_type_change(&keys, &keys, ack_fields(), Enforcement::Deny, f);
    streams::check_view_type_change(nullptr, &keys, ack_fields(), Enforcement::Deny, f);
    streams::check_view_type_change(&keys, nullptr, ack_fields(), Enforcement::Deny, f);
    streams::check_view_type_change(&keys, &five, ack_fields(), Enforcement::Deny, f);
    CHECK(f.errors.empty());
    CHECK(f.warnings.empty());
  }
  const std::string expected =
      "spec.streamSpecification.streamViewType: Invalid value: \"NEW_IMAGE\": cannot change the "
      "view type of an enabled stream from \"KEYS_ONLY\" (DynamoDB rejects it: \"Table already "
      "has an enabled stream\"); disable the stream first (streamEnabled: false), then re-enable "
      "it with the new view type";
  SUBCASE("deny") {
    streams::Findings f;
    streams::check_view_type_change(&keys, &image, ack_fields(), Enforcement::Deny, f);
    CHECK(messages(f) == std::vector<std::string>{expected});
    CHECK(f.warnings.empty());
  }
  SUBCASE("warn") {
    streams::Findings f;
    streams::check_view_type_change(&keys, &image, ack_fields(), Enforcement::Warn, f);
    CHECK(f.errors.empty());
    CHECK(f.warnings == std::vector<std::string>{expected});
  }
}
