// YAML to JSON for `check`: a document (a yaml-cpp node tree) as the JSON kubectl would send,
// with the scalar typing of yaml_scalar.h.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "check/yaml_error.h"

namespace dsw::yamldoc {

struct Limits {
  // Collections nested deeper than this are refused (yaml-cpp itself refuses ~500).
  std::size_t max_depth = 512;
  // Values in one document after expanding aliases (guards against "billion laughs").
  std::size_t max_nodes = 1'000'000;
};

// The JSON form of a document, as kubectl would send it. Throws Error for what JSON cannot
// hold or kubectl would refuse: non-scalar or duplicate mapping keys, merge keys (<<),
// .inf/.nan, invalid UTF-8, too deep nesting, too many values.
nlohmann::json to_json(const YAML::Node& node, const Limits& limits = {});

// JSON text of a document that to_json accepted. Numbers keep their written form when it is
// valid JSON (1.10 stays 1.10, big integers keep every digit); indent < 0 writes one line.
std::string to_json_text(const YAML::Node& node, int indent = 2);

}  // namespace dsw::yamldoc
