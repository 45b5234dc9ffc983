// YAML (and JSON) manifests for the offline `check` command: loading a multi-document stream,
// converting documents to JSON with kubectl's scalar typing, applying a dsw::Patch to the YAML
// tree itself, and writing documents back as YAML or JSON without changing their meaning.
//
// Scalars are typed the way kubectl types them (sigs.k8s.io/yaml, i.e. go-yaml v2, YAML 1.1),
// because that decides what the apiserver, and so the webhook, receives:
//   - quoted scalars and scalars tagged !!str are strings;
//   - plain ~, null, Null, NULL and the empty value are null;
//   - plain y/Y/yes/Yes/YES/on/On/ON/true/True/TRUE are true, n/N/no/No/NO/off/Off/OFF/
//     false/False/FALSE are false;
//   - plain integers (decimal, 0x hex, 0o or leading-0 octal, 0b binary, `_` separators) and
//     floats ([-+]?(.d+|d+(.d*)?)([eE][-+]?d+)?, .inf, .nan) are numbers;
//   - everything else is a string (including timestamps such as 2024-01-01).
// A value is never re-typed on output: plain scalars are written back exactly as they were
// read, and strings that would read as something else are quoted.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "dsw/patch.h"

namespace dsw::yamldoc {

// Bad input, with the 1-based line and column where it was found (0 when unknown).
struct Error : std::runtime_error {
  Error(std::string message, int line_ = 0, int column_ = 0)
      : std::runtime_error(std::move(message)), line(line_), column(column_) {}
  int line;
  int column;
};

// The type a plain (unquoted, untagged) scalar has for kubectl.
enum class ScalarKind { Null, Bool, Int, Float, String };
ScalarKind resolve_plain(std::string_view text);

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

// YAML text (block style) of a document that to_json accepted. Aliases are written out in
// full, comments are not kept; every value keeps its type and content.
std::string to_yaml_text(const YAML::Node& node);

// A deep copy that shares no node with `node` (aliases expanded), so that it can be modified.
YAML::Node unshared_copy(const YAML::Node& node);

// Applies RFC 6902 add/replace operations to the YAML tree (which must share no nodes, see
// unshared_copy). Every path is prefixed with `prefix` (a JSON pointer, "" for the root).
// New mapping keys are appended after the existing ones. Throws Error when a path does not
// exist the way RFC 6902 requires.
void apply_patch(YAML::Node& root, const std::vector<PatchOp>& ops, std::string_view prefix = {});

// The JSON value of a patch operation as a YAML node (strings marked so they stay strings).
YAML::Node from_json(const nlohmann::json& value);

struct Document {
  YAML::Node node;
  // The document's own text (without a bare leading `---` line), when it could be cut out of
  // the stream exactly; written back unchanged when the document is not modified, so that
  // comments and formatting survive.
  std::optional<std::string> source;
  // Lines before the document's text whose positions its nodes do not count (JSON streams).
  int line_offset = 0;
};

// Every document of a YAML stream (documents separated by `---`) or of a JSON text holding
// one or more values. Empty documents are kept as null nodes. Throws Error on a syntax error.
std::vector<Document> load_stream(std::string_view text);

}  // namespace dsw::yamldoc
