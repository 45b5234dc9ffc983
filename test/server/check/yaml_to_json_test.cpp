// Unit tests of server/check/yaml_to_json: a document's JSON value and JSON text, mapping keys
// as sigs.k8s.io/yaml converts them, and what JSON cannot hold refused with a message.
#include <doctest/doctest.h>

#include "check/yaml_to_json.h"

#include "yaml_test_support.h"

using dsw::yamldoc::Error;
using nlohmann::json;
namespace yd = dsw::yamldoc;
using yd::testing::error_of;
using yd::testing::load_json;

TEST_CASE("to_json keeps key order and converts keys as sigs.k8s.io/yaml does") {
  json j = load_json("z: 1\na: 2\n5: x\ntrue: y\n");
  std::vector<std::string> keys;
  for (auto& [k, v] : j.items()) keys.push_back(k);
  // nlohmann::json sorts keys; the JSON text writer keeps the YAML order (tested below).
  CHECK(j.contains("5"));
  CHECK(j.contains("true"));
  auto docs = yd::load_stream("z: 1\na: 2\n");
  CHECK(yd::to_json_text(docs[0].node, -1) == "{\"z\":1,\"a\":2}");
}

TEST_CASE("to_json refuses what JSON cannot hold or kubectl refuses") {
  CHECK(error_of("a: 1\nb: 2\na: 3\n") == "3: mapping key \"a\" already defined");
  CHECK(error_of("<<: {a: 1}\n") == "1: merge keys (<<) are not supported; write the keys out");
  CHECK(error_of("? [a]\n: 1\n") == "1: a mapping key must be a string, not a collection");
  CHECK(error_of("a: .inf\n") == "1: \".inf\" (infinity or NaN) cannot be represented in JSON");
  CHECK(error_of("a: \"\\uD800\"\n").find("1: invalid unicode") == 0);  // a lone surrogate
  CHECK(error_of("a: !!int abc\n").find("cannot read \"abc\" as tag:yaml.org,2002:int") !=
        std::string::npos);
}

TEST_CASE("nesting and alias expansion are bounded, without crashing") {
  std::string deep(100000, '[');
  CHECK(error_of(deep).find("nesting too deep") != std::string::npos);
  // Within yaml-cpp's limit but beyond ours.
  yd::Limits small;
  small.max_depth = 10;
  auto docs = yd::load_stream(std::string(20, '[') + std::string(20, ']'));
  CHECK_THROWS_AS(yd::to_json(docs[0].node, small), Error);
  CHECK_NOTHROW(yd::to_json(docs[0].node));
  // A self-referencing alias is cut by the depth limit.
  CHECK(error_of("a: &a [*a]\n").find("nesting deeper than 512 levels") != std::string::npos);
  // "Billion laughs": 9^12 values after expansion.
  std::string bomb = "a: &a [1,1,1,1,1,1,1,1,1]\n";
  for (char c = 'b'; c <= 'l'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) bomb += (i ? ",*" : "*") + prev;
    bomb += "]\n";
  }
  CHECK(error_of(bomb).find("more than 1000000 values") != std::string::npos);
}

TEST_CASE("JSON text keeps numbers as written when they are valid JSON") {
  auto docs = yd::load_stream(
      "a: 1.10\nb: 123456789012345678901234567890\nc: 0x10\nd: .5\ne: \"1.10\"\nf: 1e5\n"
      "g: 08080\nh: [true, null, {}]\ni: []\n");
  CHECK(yd::to_json_text(docs[0].node, -1) ==
        "{\"a\":1.10,\"b\":123456789012345678901234567890,\"c\":16,\"d\":0.5,\"e\":\"1.10\","
        "\"f\":1e5,\"g\":8080.0,\"h\":[true,null,{}],\"i\":[]}");
  // Valid JSON that parses to the same values.
  CHECK(json::parse(yd::to_json_text(docs[0].node, 2))["e"] == "1.10");
}
