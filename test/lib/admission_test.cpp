// Whole-Application defaulting and validation, including override policies and UPDATE.
#include "test_support.h"

using namespace dsw;
using namespace dsw::testing;

namespace {
json props_after_defaulting(json trait) {
  json app = application({table("t", {std::move(trait)})});
  return defaulted(app)["spec"]["components"][0]["traits"][0].value("properties", json());
}
const json kFull = {{"enabled", true}, {"viewType", "NEW_AND_OLD_IMAGES"}};
}  // namespace

TEST_CASE("defaulting: every case of the contract") {
  CHECK(props_after_defaulting(streams_trait()) == kFull);
  CHECK(props_after_defaulting(json{{"type", "dynamodb-streams-kro"}, {"properties", nullptr}}) ==
        kFull);
  CHECK(props_after_defaulting(streams_trait(json::object())) == kFull);
  CHECK(props_after_defaulting(streams_trait({{"viewType", "NEW_IMAGE"}})) ==
        json{{"enabled", true}, {"viewType", "NEW_IMAGE"}});
  CHECK(props_after_defaulting(streams_trait({{"enabled", true}})) == kFull);
  CHECK(props_after_defaulting(streams_trait({{"enabled", nullptr}, {"viewType", nullptr}})) == kFull);
  SUBCASE("a disabled stream gets no view type") {
    CHECK(props_after_defaulting(streams_trait({{"enabled", false}})) == json{{"enabled", false}});
    CHECK(props_after_defaulting(streams_trait({{"enabled", false}, {"viewType", nullptr}})) ==
          json{{"enabled", false}, {"viewType", nullptr}});
  }
  SUBCASE("present values are never changed, invalid ones are left for validation") {
    CHECK(props_after_defaulting(streams_trait({{"enabled", "yes"}})) ==
          json{{"enabled", "yes"}, {"viewType", "NEW_AND_OLD_IMAGES"}});
    CHECK(props_after_defaulting(streams_trait({{"viewType", "bogus"}, {"enabled", false}})) ==
          json{{"viewType", "bogus"}, {"enabled", false}});
    CHECK(props_after_defaulting(json{{"type", "dynamodb-streams-kro"}, {"properties", "on"}}) ==
          "on");
    CHECK(props_after_defaulting(streams_trait({{"viewType", "KEYS_ONLY"}, {"extra", {{"n", 1}}}})) ==
          json{{"enabled", true}, {"viewType", "KEYS_ONLY"}, {"extra", {{"n", 1}}}});
  }
  SUBCASE("complete traits give no patch at all") {
    CHECK(default_application(application({table("t", {streams_trait(kFull)})})).empty());
    CHECK(default_application(application({table("t", {streams_trait({{"enabled", false}})})})).empty());
  }
}

TEST_CASE("defaulting touches only our traits, with exact operations") {
  json app = application({table("a", {json{{"type", "scaler"}}, streams_trait()}),
                          table("b", {streams_trait({{"viewType", "KEYS_ONLY"}}, "dynamodb-streams-kro@v2")}),
                          table("c", {json{{"type", "dynamodb-streams-kro-legacy"}}})});
  Patch p = default_application(app);
  CHECK(json::parse(p.to_json()) ==
        json::parse(R"([
          {"op":"add","path":"/spec/components/0/traits/1/properties",
           "value":{"enabled":true,"viewType":"NEW_AND_OLD_IMAGES"}},
          {"op":"add","path":"/spec/components/1/traits/0/properties/enabled","value":true}])"));
  json out = defaulted(app);
  CHECK(out["spec"]["components"][2] == app["spec"]["components"][2]);
  CHECK(out["spec"]["components"][0]["traits"][0] == app["spec"]["components"][0]["traits"][0]);
}

TEST_CASE("defaulting override policies only where the override adds the trait") {
  auto policy = [](json entries) {
    return json{{"name", "o"}, {"type", "override"}, {"properties", {{"components", entries}}}};
  };
  json base_with = table("with", {streams_trait({{"enabled", true}, {"viewType", "KEYS_ONLY"}})});
  json base_without = table("without", json::array());
  SUBCASE("merging into a base trait: defaults would overwrite the base's values, so none") {
    json app = application({base_with}, {policy({{{"name", "with"}, {"traits", {streams_trait()}}}})});
    CHECK(default_application(app).empty());
  }
  SUBCASE("adding to a component without the trait: defaulted") {
    json app = application({base_with, base_without},
                           {policy({{{"name", "without"}, {"traits", {streams_trait()}}}})});
    json out = defaulted(app);
    CHECK(out["spec"]["policies"][0]["properties"]["components"][0]["traits"][0]["properties"] ==
          kFull);
  }
  SUBCASE("a selection that mixes both is a merge somewhere: not defaulted") {
    json app = application({base_with, base_without}, {policy({{{"name", "*"}, {"traits", {streams_trait()}}}})});
    CHECK(default_application(app).empty());
  }
  SUBCASE("selecting nothing, or a disabled trait: not defaulted") {
    json app = application({base_without}, {policy({{{"name", "nope"}, {"traits", {streams_trait()}}}})});
    CHECK(default_application(app).empty());
    json disabled = streams_trait();
    disabled["disable"] = true;
    json app2 = application({base_without}, {policy({{{"name", "without"}, {"traits", {disabled}}}})});
    CHECK(default_application(app2).empty());
  }
}

TEST_CASE("validation of a whole Application reports every error with its exact path") {
  json app = application(
      {table("ok", {streams_trait({{"viewType", "KEYS_ONLY"}})}),
       table("bad", {streams_trait({{"viewType", "NEW"}, {"enabled", "yes"}}), streams_trait()}),
       table("web", {streams_trait()}, "webservice")});
  auto errs = errors_of(app);
  CHECK(errs == std::vector<std::string>{
                    "spec.components[1].traits[0].properties.enabled: Invalid value: \"yes\": must "
                    "be a boolean",
                    "spec.components[1].traits[0].properties.viewType: Unsupported value: \"NEW\": "
                    "supported values: \"KEYS_ONLY\", \"NEW_IMAGE\", \"OLD_IMAGE\", "
                    "\"NEW_AND_OLD_IMAGES\"",
                    "spec.components[1].traits[1].type: Duplicate value: \"dynamodb-streams-kro\"",
                    "spec.components[2].traits[0].type: Invalid value: \"dynamodb-streams-kro\": "
                    "component \"web\" has type \"webservice\"; the trait applies only to "
                    "component types \"aws-dynamodb-kro\""});
}

TEST_CASE("applies-to: revisions ignored, set configurable") {
  CHECK(errors_of(application({table("t", {streams_trait()}, "aws-dynamodb-kro@v2")})).empty());
  Options o;
  o.applies_to = {"aws-dynamodb-kro", "my-table"};
  CHECK(errors_of(application({table("t", {streams_trait()}, "my-table")}), o).empty());
  auto errs = errors_of(application({table("t", {streams_trait()}, "webservice")}), o);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("applies only to component types \"aws-dynamodb-kro\", \"my-table\"") !=
        std::string::npos);
}

TEST_CASE("validation of override policy traits") {
  auto policy = [](json entries) {
    return json{{"name", "o"}, {"type", "override"}, {"properties", {{"components", entries}}}};
  };
  json app = application({table("t", json::array()), table("web", json::array(), "webservice")},
                         {policy({{{"name", "t"}, {"traits", {streams_trait({{"viewType", "OLD"}})}}},
                                  {{"name", "web"}, {"traits", {streams_trait()}}}})});
  auto errs = errors_of(app);
  REQUIRE(errs.size() == 2);
  CHECK(errs[0].rfind("spec.policies[0].properties.components[0].traits[0].properties.viewType: "
                      "Unsupported value: \"OLD\"",
                      0) == 0);
  CHECK(errs[1] ==
        "spec.policies[0].properties.components[1].traits[0].type: Invalid value: "
        "\"dynamodb-streams-kro\": the override adds the trait to component \"web\" of type "
        "\"webservice\"; the trait applies only to component types \"aws-dynamodb-kro\"");
}

TEST_CASE("UPDATE: the view type of an enabled stream cannot change") {
  auto app_with = [](json props, std::string name = "t") {
    return application({table("other", json::array()), table(std::move(name), {streams_trait(std::move(props))})});
  };
  json old_app = app_with({{"enabled", true}, {"viewType", "NEW_AND_OLD_IMAGES"}});
  SUBCASE("changed while enabled: denied at the new path") {
    json new_app = application({table("t", {streams_trait({{"enabled", true}, {"viewType", "KEYS_ONLY"}})})});
    auto errs = errors_of(new_app, {}, &old_app);
    REQUIRE(errs.size() == 1);
    CHECK(errs[0] ==
          "spec.components[0].traits[0].properties.viewType: Invalid value: \"KEYS_ONLY\": cannot "
          "change the view type of an enabled stream from \"NEW_AND_OLD_IMAGES\" (DynamoDB "
          "rejects it: \"Table already has an enabled stream\"); disable the stream first "
          "(enabled: false), then re-enable it with the new view type");
  }
  SUBCASE("matched by name, not by index") {
    json renamed = app_with({{"viewType", "KEYS_ONLY"}}, "different");
    CHECK(errors_of(renamed, {}, &old_app).empty());
  }
  SUBCASE("disabling, re-enabling, or keeping the type is fine") {
    json disabled = app_with({{"enabled", false}, {"viewType", "KEYS_ONLY"}});
    CHECK(errors_of(disabled, {}, &old_app).empty());
    CHECK(errors_of(app_with({{"enabled", true}, {"viewType", "KEYS_ONLY"}}), {}, &disabled).empty());
    CHECK(errors_of(app_with({{"viewType", "NEW_AND_OLD_IMAGES"}}), {}, &old_app).empty());
  }
  SUBCASE("an implicit view type on either side is not a change we can see") {
    CHECK(errors_of(app_with({{"enabled", true}}), {}, &old_app).empty());
  }
  SUBCASE("configurable to a warning") {
    Options o;
    o.view_type_change = Enforcement::Warn;
    json new_app = app_with({{"viewType", "KEYS_ONLY"}});
    auto f = validate_application(new_app, &old_app, o);
    CHECK(f.errors.empty());
    REQUIRE(f.warnings.size() == 1);
    CHECK(f.warnings[0].rfind("spec.components[1].traits[0].properties.viewType: Invalid value: "
                              "\"KEYS_ONLY\": cannot change",
                              0) == 0);
  }
}

TEST_CASE("override selection work is bounded") {
  // 2,000 override entries x 6,000 components = 12 million pairs, over the 10 million bound.
  json components = json::array();
  for (int i = 0; i < 6000; ++i) components.push_back(json{{"name", "c" + std::to_string(i)}});
  json entries = json::array();
  for (int i = 0; i < 2000; ++i)
    entries.push_back(json{{"name", "*x" + std::to_string(i)}, {"traits", {streams_trait()}}});
  json app = application(components, {json{{"type", "override"}, {"properties", {{"components", entries}}}}});
  auto errs = errors_of(app);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].rfind("spec.policies[0].properties.components[1666]: Forbidden: too many override "
                      "entries and components",
                      0) == 0);
  CHECK(default_application(app).empty());
  SUBCASE("below the bound everything is evaluated") {
    entries.erase(entries.begin() + 1000, entries.end());
    json small = application(components, {json{{"type", "override"}, {"properties", {{"components", entries}}}}});
    CHECK(errors_of(small).empty());
  }
}
