// Patching a YAML document for `check`: a dsw::Patch (the defaults) applied to the yaml-cpp
// tree itself, so that the user's key order and scalar text survive in what is written back.
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "check/yaml_error.h"
#include "dsw/patch.h"

namespace dsw::yamldoc {

// A deep copy that shares no node with `node` (aliases expanded), so that it can be modified.
YAML::Node unshared_copy(const YAML::Node& node);

// Applies RFC 6902 add/replace operations to the YAML tree (which must share no nodes, see
// unshared_copy). Every path is prefixed with `prefix` (a JSON pointer, "" for the root).
// New mapping keys are appended after the existing ones. Throws Error when a path does not
// exist the way RFC 6902 requires.
void apply_patch(YAML::Node& root, const std::vector<PatchOp>& ops, std::string_view prefix = {});

// The JSON value of a patch operation as a YAML node (strings marked so they stay strings).
YAML::Node from_json(const nlohmann::json& value);

}  // namespace dsw::yamldoc
