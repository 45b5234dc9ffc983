// Scalar typing for `check`: the type a YAML scalar has for kubectl.
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
// A value is never re-typed on output (yaml_writer.h): plain scalars are written back exactly
// as they were read, and strings that would read as something else are quoted.
#pragma once

#include <string_view>

namespace dsw::yamldoc {

// The type a plain (unquoted, untagged) scalar has for kubectl.
enum class ScalarKind { Null, Bool, Int, Float, String };
ScalarKind resolve_plain(std::string_view text);

}  // namespace dsw::yamldoc
