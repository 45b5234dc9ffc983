// Fuzz target: the YAML (and JSON) reader of the offline `check` command
// (server/check/yaml_*.h), the same steps `check` takes on every document.
//
// Invariants:
//  - load_stream() and to_json() fail only with yamldoc::Error (a message, never a crash, a
//    yaml-cpp exception or a nlohmann exception), and load_stream() returns (a stray top-level
//    ',' made yaml-cpp 0.7's LoadAll() loop until memory ran out: jbeder/yaml-cpp#1040);
//  - a document to_json() accepts has valid UTF-8 everywhere (dump() does not throw);
//  - its JSON text (one line and indented) reads back as the same JSON;
//  - for a mapping (what manifests are): its YAML text reads back as one document with the same
//    JSON (no value changes type). (The kept source text is not re-read: it is the input's own
//    bytes, and yaml-cpp 0.7 reads some broken input, such as `-2: "`, differently with and
//    without a final newline.)
//  - for an Application: the defaulting patch applies to an unshared copy of the YAML tree,
//    which then reads exactly as json::patch gives, still does after writing it as YAML and
//    reading it again, leaves the original tree untouched, and a second pass yields no patch.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsw/admission.h"
#include "invariants.h"

#include "check/yaml_document.h"
#include "check/yaml_patch.h"
#include "check/yaml_to_json.h"
#include "check/yaml_writer.h"

namespace {

using nlohmann::json;
namespace yamldoc = dsw::yamldoc;

// Smaller than `check`'s million values, so that one input stays fast; the limit logic is the
// same.
yamldoc::Limits fuzz_limits() {
  yamldoc::Limits l;
  l.max_nodes = 20'000;
  return l;
}

bool is_application(const json& doc) {
  return doc.is_object() && doc.contains("apiVersion") && doc["apiVersion"].is_string() &&
         doc["apiVersion"].get<std::string>().rfind("core.oam.dev/", 0) == 0 &&
         doc.contains("kind") && doc["kind"] == "Application";
}

// The one document `text` holds, as JSON; fails the run when it is not exactly one document
// that to_json() accepts.
json reread(const std::string& text, const char* what) {
  std::vector<yamldoc::Document> docs;
  try {
    docs = yamldoc::load_stream(text);
  } catch (const yamldoc::Error& e) {
    DSW_FUZZ_CHECK(false, std::string(what) + " does not read back: " + e.what() + "\n" + text);
  }
  DSW_FUZZ_CHECK(docs.size() == 1, std::string(what) + " reads back as " +
                                       std::to_string(docs.size()) + " documents:\n" + text);
  try {
    return yamldoc::to_json(docs[0].node, fuzz_limits());
  } catch (const yamldoc::Error& e) {
    DSW_FUZZ_CHECK(false, std::string(what) + " is refused on reading back: " + e.what() + "\n" +
                              text);
  }
}

void check_document(const yamldoc::Document& doc) {
  json j;
  try {
    j = yamldoc::to_json(doc.node, fuzz_limits());
  } catch (const yamldoc::Error& e) {
    DSW_FUZZ_CHECK(*e.what() != '\0', "an Error carries a message");
    return;
  }
  try {
    (void)j.dump();
  } catch (const json::exception& e) {
    DSW_FUZZ_CHECK(false, std::string("to_json() let invalid UTF-8 through: ") + e.what());
  }
  if (j.is_null()) return;  // `check` skips empty documents

  const std::string line = yamldoc::to_json_text(doc.node, -1);
  json from_line;
  try {
    from_line = json::parse(line);
  } catch (const json::exception& e) {
    DSW_FUZZ_CHECK(false, std::string("to_json_text() is not JSON: ") + e.what() + "\n" + line);
  }
  DSW_FUZZ_CHECK(from_line == j, "to_json_text() reads as to_json():\n" + line + "\n" + j.dump());
  DSW_FUZZ_CHECK(json::parse(yamldoc::to_json_text(doc.node, 2)) == j, "indented JSON text");

  // `check` writes defaulted documents back as YAML; manifests are mappings. yaml-cpp 0.7 reads
  // some broken top-level scalars in ways no writer can reproduce (` --- ` as the string
  // "---"), so the round trip is asserted for mappings.
  if (!j.is_object()) return;
  const std::string yaml = yamldoc::to_yaml_text(doc.node);
  DSW_FUZZ_CHECK(reread(yaml, "to_yaml_text()") == j,
                 "to_yaml_text() keeps every value and type:\n" + yaml + "\nwas\n" + j.dump());

  if (!is_application(j)) return;
  dsw::Patch patch = dsw::default_application(j);
  if (patch.empty()) return;
  const json expected = j.patch(json::parse(patch.to_json()));
  YAML::Node copy = yamldoc::unshared_copy(doc.node);
  try {
    yamldoc::apply_patch(copy, patch.ops());
  } catch (const yamldoc::Error& e) {
    DSW_FUZZ_CHECK(false, std::string("the defaults do not apply to the YAML tree: ") + e.what() +
                              "\n" + patch.to_json() + "\n" + yaml);
  }
  const json patched = yamldoc::to_json(copy, fuzz_limits());
  DSW_FUZZ_CHECK(patched == expected, "the patched YAML tree reads as json::patch gives:\n" +
                                          patched.dump() + "\nexpected\n" + expected.dump());
  DSW_FUZZ_CHECK(yamldoc::to_json(doc.node, fuzz_limits()) == j,
                 "patching the unshared copy leaves the original tree alone");
  const std::string written = yamldoc::to_yaml_text(copy);
  DSW_FUZZ_CHECK(reread(written, "the defaulted YAML") == expected,
                 "the defaulted YAML reads back as the defaulted JSON:\n" + written);
  DSW_FUZZ_CHECK(dsw::default_application(expected).empty(), "a second pass yields no patch");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<yamldoc::Document> docs;
  try {
    docs = yamldoc::load_stream(text);
  } catch (const yamldoc::Error& e) {
    DSW_FUZZ_CHECK(*e.what() != '\0', "an Error carries a message");
    return 0;
  } catch (const std::exception& e) {
    DSW_FUZZ_CHECK(false, std::string("load_stream() let another exception out: ") + e.what());
  }
  for (const auto& doc : docs) {
    try {
      check_document(doc);
    } catch (const std::exception& e) {
      DSW_FUZZ_CHECK(false, std::string("an exception other than yamldoc::Error: ") + e.what());
    }
  }
  return 0;
}
