// The trait's own rules: type matching, property validation, suggestions, defaults.
#include "test_support.h"

#include "dsw/streams_trait.h"

using namespace dsw;
using namespace dsw::testing;

namespace {
std::vector<std::string> property_errors(const json& trait, const Options& o = {}) {
  streams::Findings f;
  streams::validate_properties(trait, field::Path::root("t"), o, f);
  std::vector<std::string> out;
  for (auto& e : f.errors) out.push_back(e.to_string());
  return out;
}
std::vector<std::string> property_warnings(const json& trait, const Options& o = {}) {
  streams::Findings f;
  streams::validate_properties(trait, field::Path::root("t"), o, f);
  return f.warnings;
}
}  // namespace

TEST_CASE("which traits are ours") {
  CHECK(streams::is_trait_type("dynamodb-streams-kro"));
  CHECK(streams::is_trait_type("dynamodb-streams-kro@v1"));
  CHECK(streams::is_trait_type("dynamodb-streams-kro@1.2.3"));
  CHECK_FALSE(streams::is_trait_type("dynamodb-streams-kro-legacy"));
  CHECK_FALSE(streams::is_trait_type("dynamodb-streams-kro@"));
  CHECK_FALSE(streams::is_trait_type("dynamodb-streams"));
  CHECK_FALSE(streams::is_trait_type("DYNAMODB-STREAMS-KRO"));
  CHECK_FALSE(streams::is_trait_type(""));
  CHECK(streams::is_trait(json{{"type", "dynamodb-streams-kro"}}));
  CHECK_FALSE(streams::is_trait(json{{"type", 5}}));
  CHECK_FALSE(streams::is_trait(json("dynamodb-streams-kro")));
}

TEST_CASE("valid properties give no errors") {
  CHECK(property_errors(streams_trait()).empty());
  CHECK(property_errors(streams_trait(nullptr)).empty());
  CHECK(property_errors(json{{"type", "dynamodb-streams-kro"}, {"properties", nullptr}}).empty());
  for (auto v : streams::kViewTypes)
    CHECK(property_errors(streams_trait({{"enabled", true}, {"viewType", v}})).empty());
  CHECK(property_errors(streams_trait({{"enabled", nullptr}, {"viewType", nullptr}})).empty());
  CHECK(property_errors(streams_trait(json::object())).empty());
}

TEST_CASE("shape errors") {
  CHECK(property_errors(json{{"type", "dynamodb-streams-kro"}, {"properties", "on"}}) ==
        std::vector<std::string>{"t.properties: Invalid value: \"on\": must be an object"});
  CHECK(property_errors(json{{"type", "dynamodb-streams-kro"}, {"properties", json::array()}}) ==
        std::vector<std::string>{"t.properties: Invalid value: []: must be an object"});
  CHECK(property_errors(streams_trait({{"enabled", "yes"}})) ==
        std::vector<std::string>{"t.properties.enabled: Invalid value: \"yes\": must be a boolean"});
  CHECK(property_errors(streams_trait({{"enabled", 1}})) ==
        std::vector<std::string>{"t.properties.enabled: Invalid value: 1: must be a boolean"});
  CHECK(property_errors(streams_trait({{"viewType", 5}})) ==
        std::vector<std::string>{"t.properties.viewType: Invalid value: 5: must be a string"});
  CHECK(property_errors(streams_trait({{"viewType", json::array({"KEYS_ONLY"})}})) ==
        std::vector<std::string>{
            "t.properties.viewType: Invalid value: [\"KEYS_ONLY\"]: must be a string"});
}

TEST_CASE("view type outside the enum, with a suggestion when it is a near miss") {
  const std::string supported =
      "supported values: \"KEYS_ONLY\", \"NEW_IMAGE\", \"OLD_IMAGE\", \"NEW_AND_OLD_IMAGES\"";
  CHECK(property_errors(streams_trait({{"viewType", "NEW"}})) ==
        std::vector<std::string>{"t.properties.viewType: Unsupported value: \"NEW\": " + supported});
  CHECK(property_errors(streams_trait({{"viewType", "new-image"}})) ==
        std::vector<std::string>{"t.properties.viewType: Unsupported value: \"new-image\": " +
                                 supported + " (did you mean \"NEW_IMAGE\"?)"});
  CHECK(property_errors(streams_trait({{"viewType", "New And Old Images"}})).front().find(
            "(did you mean \"NEW_AND_OLD_IMAGES\"?)") != std::string::npos);
  CHECK(property_errors(streams_trait({{"viewType", ""}})).size() == 1);
  CHECK(streams::suggest_view_type("keysonly") == std::optional<std::string_view>("KEYS_ONLY"));
  CHECK_FALSE(streams::suggest_view_type("KEYS"));
}

TEST_CASE("unknown properties: denied by default, suggested, or only warned") {
  auto errs = property_errors(streams_trait({{"viewtype", "KEYS_ONLY"}}));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0] ==
        "t.properties.viewtype: Forbidden: unknown property; supported properties: \"enabled\", "
        "\"viewType\" (did you mean \"viewType\"?)");
  CHECK(property_errors(streams_trait({{"enable", true}})).front().find("(did you mean \"enabled\"?)") !=
        std::string::npos);
  CHECK(property_errors(streams_trait({{"retention", 24}})).front() ==
        "t.properties.retention: Forbidden: unknown property; supported properties: "
        "\"enabled\", \"viewType\"");
  SUBCASE("a key that is not an identifier is quoted in the path") {
    CHECK(property_errors(streams_trait({{"a b\n", 1}})).front().rfind(
              "t.properties[\"a b\\n\"]: Forbidden", 0) == 0);
  }
  SUBCASE("warn mode") {
    Options o;
    o.unknown_properties = Enforcement::Warn;
    CHECK(property_errors(streams_trait({{"viewtype", "X"}}), o).empty());
    CHECK(property_warnings(streams_trait({{"viewtype", "X"}}), o) ==
          std::vector<std::string>{
              "t.properties.viewtype: Forbidden: unknown property; supported properties: "
              "\"enabled\", \"viewType\" (did you mean \"viewType\"?)"});
  }
  CHECK(streams::suggest_property("VIEWTYPE") == std::optional<std::string_view>("viewType"));
  CHECK_FALSE(streams::suggest_property("tableName"));
  CHECK_FALSE(streams::suggest_property(std::string(10000, 'x')));
}

TEST_CASE("every error is reported at once") {
  auto errs = property_errors(streams_trait({{"enabled", "no"}, {"viewType", "X"}, {"extra", 1}}));
  CHECK(errs.size() == 3);
}

TEST_CASE("a view type on a disabled stream is a warning, not an error") {
  auto t = streams_trait({{"enabled", false}, {"viewType", "KEYS_ONLY"}});
  CHECK(property_errors(t).empty());
  CHECK(property_warnings(t) ==
        std::vector<std::string>{"t.properties.viewType: \"KEYS_ONLY\" is ignored while the "
                                 "stream is disabled (enabled: false)"});
  CHECK(property_warnings(streams_trait({{"enabled", false}})).empty());
  CHECK(property_warnings(streams_trait({{"enabled", true}, {"viewType", "KEYS_ONLY"}})).empty());
}
