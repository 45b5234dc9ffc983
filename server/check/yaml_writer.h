// The YAML writer of `check`: a document written back as YAML text without changing its
// meaning for kubectl (the typing of yaml_scalar.h).
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

namespace dsw::yamldoc {

// YAML text (block style) of a document that to_json accepted. Aliases are written out in
// full, comments are not kept; every value keeps its type and content.
std::string to_yaml_text(const YAML::Node& node);

}  // namespace dsw::yamldoc
