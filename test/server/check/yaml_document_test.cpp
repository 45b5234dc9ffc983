// Unit tests of server/check/yaml_document (loading): multi-document streams and their cut-out
// texts, JSON value streams, what the input must be, and yaml-cpp 0.7's stray-comma loop refused.
#include <doctest/doctest.h>

#include "check/yaml_document.h"

#include "yaml_test_support.h"

using dsw::yamldoc::Error;
using nlohmann::json;
namespace yd = dsw::yamldoc;
using yd::testing::error_of;
using yd::testing::load_json;

TEST_CASE("load_stream cuts out each document's own text") {
  auto docs = yd::load_stream("# head\na: 1 # one\n---\n---  # empty\n--- \nb: [2]\n...\n");
  REQUIRE(docs.size() == 4);
  REQUIRE(docs[0].source);
  CHECK(*docs[0].source == "# head\na: 1 # one\n");
  CHECK(docs[1].node.IsNull());
  CHECK(docs[2].node.IsNull());
  REQUIRE(docs[3].source);
  CHECK(*docs[3].source == "b: [2]\n...\n");
  // A document on the marker line keeps the marker.
  auto inline_doc = yd::load_stream("a: 1\n--- {b: 2}\n");
  REQUIRE(inline_doc.size() == 2);
  CHECK(*inline_doc[1].source == "--- {b: 2}\n");
}

TEST_CASE("load_stream reads a JSON value stream and counts lines across it") {
  auto docs = yd::load_stream("{\"a\": \"1\"}\n\n{\"b\": [1, 2.0],\n \"c\": {\"d\": 1, \"d\": 2}}\n");
  REQUIRE(docs.size() == 2);
  CHECK(yd::to_json(docs[0].node) == json({{"a", "1"}}));
  CHECK(docs[1].line_offset == 2);
  try {
    yd::to_json(docs[1].node);
    FAIL("duplicate key not reported");
  } catch (const Error& e) {
    CHECK(e.line + docs[1].line_offset == 4);
  }
  // A BOM is not part of the document.
  CHECK(yd::to_json(yd::load_stream("\xEF\xBB\xBF" "a: 1\n")[0].node) == json({{"a", 1}}));
}

TEST_CASE("the input must be printable UTF-8 text") {
  CHECK(error_of("a: 1\nb: \"\xFF\"\n") == "2: the input is not valid UTF-8");
  CHECK(error_of("a: 1\nb: x\x01y\n") == "2: control character U+0001 is not allowed in YAML");
  CHECK(error_of(std::string("a: \0\n", 5)) == "1: control character U+0000 is not allowed in YAML");
  CHECK(error_of("a: \"\\x01 is fine escaped\"\n") == "no error");
}

TEST_CASE("a syntax error carries its line") {
  CHECK(error_of("a: [1,\nb: 2\n").find("3: ") == 0);
}

TEST_CASE("a stray top-level ',' is a syntax error, not an endless loop (yaml-cpp#1040)") {
  // yaml-cpp 0.7's LoadAll() never returns on these; load_stream() must refuse them.
  CHECK(error_of("{},") == "1: unexpected ',' outside a flow collection ([...] or {...})");
  CHECK(error_of("[],") == "1: unexpected ',' outside a flow collection ([...] or {...})");
  CHECK(error_of("{},{},") == "1: unexpected ',' outside a flow collection ([...] or {...})");
  CHECK(error_of(",") == "1: unexpected ',' outside a flow collection ([...] or {...})");
  CHECK(error_of("\"x\",") == "1: unexpected ',' outside a flow collection ([...] or {...})");
  CHECK(error_of("{\"a\": 1},\n") == "1: unexpected ',' outside a flow collection ([...] or {...})");
  CHECK(error_of("a: 1\n---\n- a\n,\n") ==
        "4: unexpected ',' outside a flow collection ([...] or {...})");
  try {
    yd::load_stream("x: 1\n---\n[1],\n");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.line == 3);
    CHECK(e.column == 4);
  }
  // A ',' inside a plain scalar is text, and multi-document streams still read.
  CHECK(load_json("a,") == json("a,"));
  auto docs = yd::load_stream("a: 1\n---\n---\nb: [1, 2]\n...\n--- {c: 3}\n");
  REQUIRE(docs.size() == 4);
  CHECK(yd::to_json(docs[0].node) == json({{"a", 1}}));
  CHECK(docs[1].node.IsNull());
  CHECK(yd::to_json(docs[2].node) == json({{"b", {1, 2}}}));
  CHECK(yd::to_json(docs[3].node) == json({{"c", 3}}));
  CHECK(yd::load_stream("[1]\n[2]\n{}\n").size() == 3);
}

TEST_CASE("JSON's escapes of a character beyond U+FFFF (a UTF-16 pair) are read as that character") {
  // jq -a and Python's json.dumps write them so; yaml-cpp alone refuses "invalid unicode".
  auto docs = yd::load_stream(R"({"name": "app-\ud83d\ude00", "b": "\\ud83d\\ude00", "c": ["\uD83D\uDE00"]})");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].node["name"].as<std::string>() == "app-\xF0\x9F\x98\x80");
  CHECK(docs[0].node["b"].as<std::string>() == "\\ud83d\\ude00");  // escaped backslashes
  CHECK(docs[0].node["c"][0].as<std::string>() == "\xF0\x9F\x98\x80");
  REQUIRE(docs[0].source);
  CHECK(docs[0].source->find("\\ud83d\\ude00") != std::string::npos);  // written back as it was
  // A lone surrogate is no character: still refused, with its position.
  CHECK_THROWS_AS(yd::load_stream(R"({"a": "\ud83d"})"), Error);
  CHECK_THROWS_AS(yd::load_stream(R"({"a": "\ude00\ud83d"})"), Error);
}
