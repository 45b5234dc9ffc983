// Loading `check`'s input: the documents of a YAML stream (or of a JSON text), each with its
// own text where it can be cut out exactly, so that an unchanged document is written back as
// it was. The other steps on a loaded document: yaml_to_json.h (its JSON, as kubectl sends
// it), yaml_patch.h (applying the defaults), yaml_writer.h (writing it back as YAML).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "check/yaml_error.h"

namespace dsw::yamldoc {

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
// one or more values. Empty documents are kept as null nodes. Throws Error on a syntax error
// (and on input that is not printable UTF-8, or that yaml-cpp 0.7 would loop on forever).
std::vector<Document> load_stream(std::string_view text);

}  // namespace dsw::yamldoc
