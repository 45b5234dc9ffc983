// Helpers shared by the unit tests of server/check/yaml_*: a text read as one document's
// JSON, and the first error reading a text gives.
#pragma once

#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "check/yaml_document.h"
#include "check/yaml_to_json.h"

namespace dsw::yamldoc::testing {

// The JSON of the one document `text` holds.
inline nlohmann::json load_json(const std::string& text) {
  auto docs = load_stream(text);
  REQUIRE(docs.size() == 1);
  return to_json(docs[0].node);
}

// "line: message" of the first error that loading `text` and converting its documents gives,
// or "no error".
inline std::string error_of(const std::string& text) {
  try {
    auto docs = load_stream(text);
    for (auto& d : docs) to_json(d.node);
  } catch (const Error& e) {
    return std::to_string(e.line) + ": " + e.what();
  }
  return "no error";
}

}  // namespace dsw::yamldoc::testing
