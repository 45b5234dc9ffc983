// Unit tests of server/check/yaml_*: scalar typing, YAML -> JSON, writing YAML and JSON back
// without changing meaning, and applying a JSON Patch to the YAML tree.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "check/yaml_document.h"
#include "check/yaml_patch.h"
#include "check/yaml_scalar.h"
#include "check/yaml_to_json.h"
#include "check/yaml_writer.h"

using dsw::yamldoc::Error;
using dsw::yamldoc::ScalarKind;
using nlohmann::json;
namespace yd = dsw::yamldoc;

namespace {

json load_json(const std::string& text) {
  auto docs = yd::load_stream(text);
  REQUIRE(docs.size() == 1);
  return yd::to_json(docs[0].node);
}

// YAML text -> node -> YAML text -> node: both nodes must read as the same JSON.
json reemit(const json& value) {
  YAML::Node n = yd::from_json(value);
  std::string text = yd::to_yaml_text(n);
  CAPTURE(text);
  return load_json(text);
}

std::string error_of(const std::string& text) {
  try {
    auto docs = yd::load_stream(text);
    for (auto& d : docs) yd::to_json(d.node);
  } catch (const Error& e) {
    return std::to_string(e.line) + ": " + e.what();
  }
  return "no error";
}

dsw::PatchOp add(std::string path, json value) {
  return {dsw::PatchOp::Kind::Add, std::move(path), std::move(value)};
}
dsw::PatchOp replace(std::string path, json value) {
  return {dsw::PatchOp::Kind::Replace, std::move(path), std::move(value)};
}

}  // namespace

TEST_CASE("plain scalars are typed as kubectl (go-yaml v2) types them") {
  for (auto s : {"", "~", "null", "Null", "NULL"}) CHECK(yd::resolve_plain(s) == ScalarKind::Null);
  for (auto s : {"true", "True", "TRUE", "false", "yes", "No", "on", "OFF", "y", "N"})
    CHECK(yd::resolve_plain(s) == ScalarKind::Bool);
  for (auto s : {"0", "42", "-7", "+7", "0x1F", "0o17", "0777", "0b101", "1_000",
                 "9223372036854775807", "18446744073709551615"})
    CHECK_MESSAGE(yd::resolve_plain(s) == ScalarKind::Int, s);
  for (auto s : {"1.0", "1.10", "-0.5", ".5", "1e5", "1.5E-3", "08080", ".inf", "-.Inf", ".nan",
                 "123456789012345678901234567890"})
    CHECK_MESSAGE(yd::resolve_plain(s) == ScalarKind::Float, s);
  for (auto s : {"abc", "NEW_IMAGE", "1.2.3", "2024-01-01", "0x", "1e400", "yes please", "-",
                 "TRUEE", "nil", "1:20", "."})
    CHECK_MESSAGE(yd::resolve_plain(s) == ScalarKind::String, s);
}

TEST_CASE("to_json keeps quoted scalars strings and types plain ones") {
  json j = load_json(
      "port: \"8080\"\nnum: 8080\nversion: 1.10\nquoted: 'true'\nflag: yes\nnothing:\n"
      "tilde: ~\nhex: 0x10\noctal: 0777\nstr: !!str 12\nint: !!int \"12\"\n"
      "big: 123456789012345678901234567890\nuni: \"h\xC3\xA9llo \xE2\x9C\x93\"\n"
      "block: |\n  a\n  b\nfolded: plain\n  text\n");
  CHECK(j["port"] == "8080");
  CHECK(j["num"] == 8080);
  CHECK(j["version"].is_number_float());
  CHECK(j["version"].get<double>() == doctest::Approx(1.1));
  CHECK(j["quoted"] == "true");
  CHECK(j["flag"] == true);
  CHECK(j["nothing"].is_null());
  CHECK(j["tilde"].is_null());
  CHECK(j["hex"] == 16);
  CHECK(j["octal"] == 511);
  CHECK(j["str"] == "12");
  CHECK(j["int"] == 12);
  CHECK(j["big"].is_number_float());
  CHECK(j["uni"] == "h\xC3\xA9llo \xE2\x9C\x93");
  CHECK(j["block"] == "a\nb\n");
  CHECK(j["folded"] == "plain text");
}

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
  CHECK(error_of("a: [1,\nb: 2\n").find("3: ") == 0);  // syntax error with its line
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

TEST_CASE("strings written as YAML read back as the same strings") {
  const std::vector<std::string> tricky{
      "", " ", "plain", "8080", "1.10", "0777", "0x1F", "1e5", "true", "True", "yes", "no", "on",
      "y", "N", "null", "~", "-", "- a", "a: b", "a #b", "#x", "&x", "*x", "!x", "|", ">", "'",
      "\"", "%x", "@x", "`x", "{", "[a]", "a,b", "key:", "x ", " x", "\tx", "a\tb", "...",
      "---", "--- a", ".inf", ".nan", "<<", "=", "line1\nline2", "line1\nline2\n",
      "line1\n\n", "\nleading", " indented\nx", "a\r\nb", "tab\tin\nblock", "bell\x07",
      "del\x7F", "h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80", "nel\xC2\x85x", "ls\xE2\x80\xA8x",
      "bom\xEF\xBB\xBFx", "back\\slash", "2024-01-01", "@", "?", ":", "a:b", "trailing\n\n\n",
      "  two\n  lines  \n", "last line has spaces \nx  "};
  for (const auto& s : tricky) {
    CAPTURE(s);
    json in = {{"v", s}, {s.empty() ? "empty" : s, "as key"}};
    CHECK(reemit(in) == in);
    json seq = json::array({s, json::array({s}), {{"k", s}}});
    CHECK(reemit({{"list", seq}}) == json({{"list", seq}}));
  }
}

TEST_CASE("plain scalars read from YAML are written back exactly as they were") {
  const std::string text =
      "version: 1.10\nratio: 1.0\nbig: 123456789012345678901234567890\noctal: 0777\n"
      "flag: yes\nnone: ~\nname: plain text\nlist:\n- 1\n- 2.50\n- \"3\"\n";
  auto docs = yd::load_stream(text);
  YAML::Node copy = yd::unshared_copy(docs[0].node);
  std::string out = yd::to_yaml_text(copy);
  CHECK(out.find("version: 1.10\n") != std::string::npos);
  CHECK(out.find("ratio: 1.0\n") != std::string::npos);
  CHECK(out.find("big: 123456789012345678901234567890\n") != std::string::npos);
  CHECK(out.find("octal: 0777\n") != std::string::npos);
  CHECK(out.find("flag: yes\n") != std::string::npos);
  CHECK(out.find("- \"3\"\n") != std::string::npos);
  CHECK(load_json(out) == yd::to_json(docs[0].node));
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

TEST_CASE("keys and values read as plain are quoted when their text would not read back") {
  // Keys (and values) yaml-cpp reads as plain text that a plain block scalar cannot hold: a CR
  // (yaml-cpp keeps it as text), a line break (multi-line plain scalars fold into one), a
  // leading `---`, a byte-order mark.
  const std::vector<std::string> inputs{
      "a\rb: 1\n",       "x\r\r: 1\n",         "? a\n\n  b\n: 1\n",     "  --- x: 1\n",
      "? --- x\n: 1\n",  "a: 1\n\xEF\xBB\xBF" "b: 2\n", "? \xEF\xBB\xBF" "b\n: 2\n",
      "k: a\r\r\n",      "k: a\n\n  b\n",       "0\r\r\r\r<<: \r\r"};
  for (const auto& text : inputs) {
    CAPTURE(text);
    auto docs = yd::load_stream(text);
    REQUIRE(docs.size() == 1);
    const json j = yd::to_json(docs[0].node);
    const std::string yaml = yd::to_yaml_text(docs[0].node);
    CAPTURE(yaml);
    CHECK(load_json(yaml) == j);
  }
  // The same rules for a key as for a value, whatever the text: nodes tagged as read plain.
  const std::vector<std::string> texts{
      "a: b", "a\nb", "a\rb", "a\r", "\rb", "--- a", "---", "...", "... a", "\xEF\xBB\xBF" "k",
      "k\xEF\xBB\xBF", "a #b", " a", "a ", "- a", "-", "? a", ": a", "a:", "a\tb", "#a", "&a",
      "*a", "!a", "|a", ">a", "%a", "@a", "`a", "{a", "[a", "a\xC2\x85" "b", "a\xE2\x80\xA8" "b",
      "<<", "'a", "\"a"};
  for (const auto& s : texts) {
    CAPTURE(s);
    YAML::Node key(s), value(s);
    key.SetTag("?");
    value.SetTag("?");
    YAML::Node map(YAML::NodeType::Map);
    map.force_insert(key, "as key");
    YAML::Node v_key("v");
    v_key.SetTag("?");
    map.force_insert(v_key, value);
    YAML::Node root(YAML::NodeType::Map);
    YAML::Node nested_key("nested");
    nested_key.SetTag("?");
    root.force_insert(nested_key, map);
    const std::string yaml = yd::to_yaml_text(root);
    CAPTURE(yaml);
    CHECK(load_json(yaml) == json({{"nested", {{s, "as key"}, {"v", s}}}}));
  }
  // What reads back the same stays as it was written.
  auto docs = yd::load_stream("2024-01-01: 1.2.3\n10Gi: a:b\nyEs: x,y\n");
  CHECK(yd::to_yaml_text(docs[0].node) == "2024-01-01: 1.2.3\n10Gi: a:b\nyEs: x,y\n");
}

TEST_CASE("keys too long for an implicit key are written as explicit keys") {
  // YAML (and yaml-cpp) allow `key: value` only for keys up to 1024 characters.
  const std::string k(1100, 'k');
  for (const std::string& text :
       {"? " + k + "\n: 1\n", "? " + k + "\n:\n  a: 1\n", "? " + k + "\n:\n- a\n- b\n",
        "- ? " + k + "\n  : [1]\n  b: {}\n- x: {c: [1, {? " + k + " : z}]}\n",
        "? \"" + k + "\\n\"\n: 1\n"}) {
    CAPTURE(text);
    auto docs = yd::load_stream(text);
    const std::string yaml = yd::to_yaml_text(docs[0].node);
    CAPTURE(yaml);
    CHECK(load_json(yaml) == yd::to_json(docs[0].node));
  }
  CHECK(reemit({{k, {{"a", k}}}}) == json({{k, {{"a", k}}}}));
  // A key of many escaped characters is long once written (quoted, each CR takes two bytes).
  const std::string crs(600, '\r');
  CHECK(reemit({{crs, 1}}) == json({{crs, 1}}));
  // Shorter keys stay implicit.
  const std::string k900(900, 'k');
  CHECK(yd::to_yaml_text(yd::from_json({{k900, 1}})) == "\"" + k900 + "\": 1\n");
}

// The exact text of a rewritten document: what `check` writes for a defaulted Application.

TEST_CASE("a rewritten document has the block layout kubectl writes") {
  auto docs = yd::load_stream("a: {b: [1, [2, 3], {c: d, e: [x]}], e: {}, f: []}\ng: [[], {}, [[y]]]\n");
  // Sequences under a key are not indented; nested sequences and mappings start on the "- "
  // line; empty collections stay on their line in flow style.
  CHECK(yd::to_yaml_text(docs[0].node) ==
        "a:\n"
        "  b:\n"
        "  - 1\n"
        "  - - 2\n"
        "    - 3\n"
        "  - c: d\n"
        "    e:\n"
        "    - x\n"
        "  e: {}\n"
        "  f: []\n"
        "g:\n"
        "- []\n"
        "- {}\n"
        "- - - y\n");
  // A document that is a scalar or an empty collection.
  CHECK(yd::to_yaml_text(yd::from_json("yes")) == "\"yes\"\n");
  CHECK(yd::to_yaml_text(yd::load_stream("1.10")[0].node) == "1.10\n");
  CHECK(yd::to_yaml_text(yd::from_json(json::object())) == "{}\n");
  CHECK(yd::to_yaml_text(yd::from_json(json::array())) == "[]\n");
  CHECK(yd::to_yaml_text(yd::from_json("a\nb")) == "|-\n  a\n  b\n");
}

TEST_CASE("strings are quoted exactly where a reader could take them for something else") {
  // Strings of any origin (here patch values): plain only when no YAML 1.1 or 1.2 reader would
  // type them otherwise and YAML's syntax allows it.
  const std::vector<std::pair<std::string, std::string>> cases{
      {"plain text", "plain text"}, {"NEW_IMAGE", "NEW_IMAGE"},    {"\xC3\xA9t\xC3\xA9", "\xC3\xA9t\xC3\xA9"},
      {"q\"b\\", "q\"b\\"},         {"nb\xC2\xA0sp", "nb\xC2\xA0sp"}, {"yes", "\"yes\""},
      {"Off", "\"Off\""},           {"null", "\"null\""},          {"~", "\"~\""},
      {"1.10", "\"1.10\""},         {"0777", "\"0777\""},          {"2024-01-01", "\"2024-01-01\""},
      {"-x", "\"-x\""},             {"?x", "\"?x\""},              {"<<", "\"<<\""},
      {"--- x", "\"--- x\""},       {"", "\"\""},                  {"x ", "\"x \""},
      {"#x", "\"#x\""},             {"a #b", "\"a #b\""},          {"a: b", "\"a: b\""},
      {"key:", "\"key:\""},         {"[a]", "\"[a]\""},            {"tab\there", "\"tab\\there\""}};
  for (const auto& [s, text] : cases) {
    CAPTURE(s);
    CHECK(yd::to_yaml_text(yd::from_json({{"v", s}})) == "v: " + text + "\n");
    CHECK(yd::to_yaml_text(yd::from_json({{s, 1}})) == text + ": 1\n");
  }
  // Read as plain (and typed as a string by kubectl): written as it was where it reads back the
  // same, quoted where it would not.
  auto docs = yd::load_stream("a: 2024-01-01\nb: -x\nc: yEs\nd: 10Gi\ne: ?x\nf: 1.2.3\n");
  CHECK(yd::to_yaml_text(docs[0].node) ==
        "a: 2024-01-01\nb: -x\nc: yEs\nd: 10Gi\ne: \"?x\"\nf: 1.2.3\n");
}

TEST_CASE("double quotes escape controls, line and paragraph separators and the BOM") {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"a\x1b", "\"a\\x1B\""},         {"\x08", "\"\\x08\""},
      {"\x7f", "\"\\x7F\""},           {"n\xC2\x85l", "\"n\\x85l\""},
      {"l\xE2\x80\xA8s", "\"l\\Ls\""}, {"p\xE2\x80\xA9s", "\"p\\Ps\""},
      {"\xEF\xBB\xBF" "bom", "\"\\uFEFFbom\""}, {"cr\rx", "\"cr\\rx\""},
      {"a: \xC2\xA0", "\"a: \xC2\xA0\""}, {" a\nb", "\" a\\nb\""},
      {"a\r\nb", "\"a\\r\\nb\""}};
  for (const auto& [s, text] : cases) {
    CAPTURE(s);
    CHECK(yd::to_yaml_text(yd::from_json({{"v", s}})) == "v: " + text + "\n");
    CHECK(load_json("v: " + text + "\n") == json({{"v", s}}));
  }
}

TEST_CASE("multi-line strings are literal blocks that keep every final line break") {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"a\nb", "|-\n  a\n  b\n"},
      {"a\nb\n", "|\n  a\n  b\n"},
      {"a\n\nb\n\n", "|+\n  a\n\n  b\n\n"},  // empty lines carry no indentation
      {"a\n\tb", "|-\n  a\n  \tb\n"}};
  for (const auto& [s, text] : cases) {
    CAPTURE(s);
    CHECK(yd::to_yaml_text(yd::from_json({{"v", s}})) == "v: " + text);
    CHECK(yd::to_yaml_text(yd::from_json({{"l", {s}}})) == "l:\n- " + text);
    CHECK(load_json("v: " + text) == json({{"v", s}}));
  }
}

TEST_CASE("tagged scalars are written in their JSON form, plain ones as they were read") {
  auto docs = yd::load_stream(
      "a: !!int \"12\"\nb: !!bool yes\nc: !!str\nd: ~\ne: 0x1F\nf: 1_000\ng: +.5\nh: !!str 12\n"
      "? a b\n: 1\n");
  CHECK(yd::to_yaml_text(docs[0].node) ==
        "a: 12\nb: true\nc: \"\"\nd: null\ne: 0x1F\nf: 1_000\ng: +.5\nh: \"12\"\na b: 1\n");
}
