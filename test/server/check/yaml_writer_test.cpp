// Unit tests of server/check/yaml_writer: documents written back as YAML read back as the same
// values of the same types, in the block layout kubectl writes, keeping plain scalars' text.
#include <doctest/doctest.h>

#include "check/yaml_patch.h"
#include "check/yaml_writer.h"

#include "yaml_test_support.h"

using nlohmann::json;
namespace yd = dsw::yamldoc;
using yd::testing::load_json;

namespace {

// YAML text -> node -> YAML text -> node: both nodes must read as the same JSON.
json reemit(const json& value) {
  YAML::Node n = yd::from_json(value);
  std::string text = yd::to_yaml_text(n);
  CAPTURE(text);
  return load_json(text);
}

}  // namespace

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
