// What the parts of `check`'s YAML handling share (internal header): yaml-cpp's tags, the
// typed value of a scalar (yaml_scalar.cpp), mapping keys as JSON strings (yaml_to_json.cpp),
// and errors located at a node.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "check/yaml_error.h"
#include "check/yaml_scalar.h"

namespace dsw::yamldoc::detail {

inline constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";
inline constexpr std::string_view kIntTag = "tag:yaml.org,2002:int";
inline constexpr std::string_view kFloatTag = "tag:yaml.org,2002:float";
inline constexpr std::string_view kBoolTag = "tag:yaml.org,2002:bool";
inline constexpr std::string_view kNullTag = "tag:yaml.org,2002:null";
// Tag yaml-cpp gives a plain scalar without a tag, and the one of a quoted or block scalar.
inline constexpr std::string_view kPlainTag = "?";
inline constexpr std::string_view kNonPlainTag = "!";

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// An Error at the node's position in the input.
[[noreturn]] inline void fail(const YAML::Node& at, std::string message) {
  const YAML::Mark mark = at.Mark();
  throw Error(std::move(message), mark.is_null() ? 0 : mark.line + 1,
              mark.is_null() ? 0 : mark.column + 1);
}

// ---- yaml_scalar.cpp ----

struct Typed {
  ScalarKind kind;
  nlohmann::json value;
  std::string text;  // the JSON text of a number (and of true, false, null)
};

// The type and value of a plain scalar (go-yaml v2's resolve with no tag).
Typed resolve(std::string_view text);

// Type of a scalar or null node, honouring quotes and explicit tags. Throws Error for a
// scalar whose tag (!!int, !!float, !!bool, !!null) does not fit its text.
Typed type_of(const YAML::Node& n);

// ---- yaml_to_json.cpp ----

// A mapping key as the JSON string sigs.k8s.io/yaml makes of it (true, 5, null). Throws Error
// for a collection, a merge key (<<) or invalid UTF-8.
std::string key_string(const YAML::Node& key);

}  // namespace dsw::yamldoc::detail
