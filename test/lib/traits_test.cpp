// Finding the traits: components, override policies, selection by name glob and type.
#include "test_support.h"

#include "dsw/traits.h"

using namespace dsw;
using namespace dsw::testing;

TEST_CASE("glob selection of override entries") {
  CHECK(glob_match("", "anything"));
  CHECK(glob_match("*", ""));
  CHECK(glob_match("user-*", "user-table"));
  CHECK(glob_match("*-table", "user-table"));
  CHECK(glob_match("u*r*e", "user-table"));
  CHECK_FALSE(glob_match("user-*", "orders"));
  CHECK_FALSE(glob_match("user", "user-table"));
  CHECK(glob_match("user-table", "user-table"));
  // Pathological patterns stay fast (no exponential backtracking).
  CHECK_FALSE(glob_match(std::string(50, '*') + "b", std::string(5000, 'a')));
}

TEST_CASE("component type ignores the revision") {
  CHECK(component_type(json{{"type", "aws-dynamodb-kro@v3"}}) == "aws-dynamodb-kro");
  CHECK(component_type(json{{"type", "aws-dynamodb-kro"}}) == "aws-dynamodb-kro");
  CHECK(component_type(json{{"name", "x"}}).empty());
}

TEST_CASE("finds streams traits in components, skipping other traits and odd shapes") {
  json app = application({table("a", {json{{"type", "scaler"}}, streams_trait(),
                                      json{{"type", "dynamodb-streams-kro-legacy"}},
                                      streams_trait(nullptr, "dynamodb-streams-kro@v2")}),
                          table("b", json::array()), json("not-a-component"),
                          json{{"name", "c"}, {"traits", "not-a-list"}}});
  auto sites = find_streams_traits(app);
  REQUIRE(sites.size() == 1);
  CHECK(sites[0].path.to_string() == "spec.components[0]");
  REQUIRE(sites[0].traits.size() == 2);
  CHECK(sites[0].traits[0].index == 1);
  CHECK(sites[0].traits[0].path.to_string() == "spec.components[0].traits[1]");
  CHECK(sites[0].traits[0].pointer.str() == "/spec/components/0/traits/1");
  CHECK(sites[0].traits[1].index == 3);
  CHECK(find_streams_traits(json::object()).empty());
  CHECK(find_streams_traits(json{{"spec", "x"}}).empty());
  CHECK(find_streams_traits(json{{"spec", {{"components", {{"a", 1}}}}}}).empty());
}

TEST_CASE("override policies: selection and whether the override adds the trait") {
  json components = {table("user-table", json::array()), table("user-archive", {streams_trait()}),
                     table("orders", json::array(), "webservice")};
  auto override_policy = [](json entries) {
    return json{{"name", "o"}, {"type", "override"}, {"properties", {{"components", entries}}}};
  };
  SUBCASE("selected by glob; one of them already carries the trait: merge, not add") {
    json app = application(components, {override_policy({{{"name", "user-*"}, {"traits", {streams_trait()}}}})});
    auto sites = find_streams_traits(app);
    REQUIRE(sites.size() == 2);
    const auto& o = sites[1];
    CHECK(o.source == ComponentSite::Source::Override);
    CHECK(o.path.to_string() == "spec.policies[0].properties.components[0]");
    CHECK(o.traits[0].pointer.str() == "/spec/policies/0/properties/components/0/traits/0");
    CHECK(o.selected.size() == 2);
    CHECK_FALSE(o.adds_trait());
  }
  SUBCASE("selected component lacks the trait: the override adds it") {
    json app = application(components, {override_policy({{{"name", "user-table"}, {"traits", {streams_trait()}}}})});
    auto sites = find_streams_traits(app);
    REQUIRE(sites.size() == 2);
    CHECK(sites[1].selected.size() == 1);
    CHECK(sites[1].adds_trait());
  }
  SUBCASE("selection by type; empty name selects all") {
    json app = application(components, {override_policy({{{"type", "webservice"}, {"traits", {streams_trait()}}}})});
    auto sites = find_streams_traits(app);
    REQUIRE(sites.size() == 2);
    REQUIRE(sites[1].selected.size() == 1);
    CHECK(component_name(*sites[1].selected[0]) == "orders");
  }
  SUBCASE("selecting nothing never adds") {
    json app = application(components, {override_policy({{{"name", "nope"}, {"traits", {streams_trait()}}}})});
    auto sites = find_streams_traits(app);
    REQUIRE(sites.size() == 2);
    CHECK(sites[1].selected.empty());
    CHECK_FALSE(sites[1].adds_trait());
  }
  SUBCASE("disabled override traits and other policy types are skipped") {
    json disabled = streams_trait();
    disabled["disable"] = true;
    json app = application(components, {override_policy({{{"name", "user-table"}, {"traits", {disabled}}}}),
                                        json{{"type", "topology"},
                                             {"properties", {{"components", {{{"traits", {streams_trait()}}}}}}}}});
    CHECK(find_streams_traits(app).size() == 1);
  }
}
