// Unit tests of server/check/yaml_patch: RFC 6902 add/replace applied to the YAML tree in place,
// keeping key order, and refused where RFC 6902 refuses.
#include <doctest/doctest.h>

#include "check/yaml_patch.h"
#include "check/yaml_writer.h"

#include "yaml_test_support.h"

using dsw::yamldoc::Error;
using nlohmann::json;
namespace yd = dsw::yamldoc;
using yd::testing::load_json;

namespace {

dsw::PatchOp add(std::string path, json value) {
  return {dsw::PatchOp::Kind::Add, std::move(path), std::move(value)};
}
dsw::PatchOp replace(std::string path, json value) {
  return {dsw::PatchOp::Kind::Replace, std::move(path), std::move(value)};
}

}  // namespace

TEST_CASE("apply_patch adds and replaces in place, new keys last") {
  auto docs = yd::load_stream("b: 1\na:\n  z: 0\n  props: ~\nlist: [x, z]\n");
  YAML::Node n = yd::unshared_copy(docs[0].node);
  yd::apply_patch(n, {add("/a/new", "NEW_IMAGE"), replace("/a/props", {{"enabled", true}}),
                      add("/list/1", "y"), add("/list/-", "end"), replace("/b", "2"),
                      add("/a/z", 5)});
  CHECK(yd::to_json_text(n, -1) ==
        "{\"b\":\"2\",\"a\":{\"z\":5,\"props\":{\"enabled\":true},\"new\":\"NEW_IMAGE\"},"
        "\"list\":[\"x\",\"y\",\"z\",\"end\"]}");
  // The string "2" stays a string through YAML.
  CHECK(load_json(yd::to_yaml_text(n))["b"] == "2");
}

TEST_CASE("apply_patch honours a prefix and escaped pointer segments") {
  auto docs = yd::load_stream("items:\n- metadata: {a/b: {}, c~d: {}}\n");
  YAML::Node n = yd::unshared_copy(docs[0].node);
  yd::apply_patch(n, {add("/metadata/a~1b/x", 1), add("/metadata/c~0d/y", 2)}, "/items/0");
  CHECK(yd::to_json(n) == json::parse(R"({"items":[{"metadata":{"a/b":{"x":1},"c~d":{"y":2}}}]})"));
}

TEST_CASE("apply_patch refuses paths that do not exist, as RFC 6902 does") {
  auto docs = yd::load_stream("a: {b: 1}\nl: [1]\n");
  YAML::Node n = yd::unshared_copy(docs[0].node);
  CHECK_THROWS_AS(yd::apply_patch(n, {add("/missing/x", 1)}), Error);
  CHECK_THROWS_AS(yd::apply_patch(n, {replace("/a/c", 1)}), Error);
  CHECK_THROWS_AS(yd::apply_patch(n, {add("/l/5", 1)}), Error);
  CHECK_THROWS_AS(yd::apply_patch(n, {replace("/l/1", 1)}), Error);
  CHECK_THROWS_AS(yd::apply_patch(n, {add("/a/b/c", 1)}), Error);  // parent is a scalar
}

TEST_CASE("a patch on an aliased node changes only the path it names") {
  auto docs = yd::load_stream("base: &p {viewType: KEYS_ONLY}\nuse: *p\n");
  YAML::Node n = yd::unshared_copy(docs[0].node);
  yd::apply_patch(n, {add("/use/enabled", true)});
  CHECK(yd::to_json(n) == json::parse(
                              R"({"base":{"viewType":"KEYS_ONLY"},"use":{"viewType":"KEYS_ONLY","enabled":true}})"));
}
