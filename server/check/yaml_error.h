// The error every part of `check`'s YAML handling (yaml_document.h, yaml_to_json.h,
// yaml_patch.h) throws for bad input.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace dsw::yamldoc {

// Bad input, with the 1-based line and column where it was found (0 when unknown).
struct Error : std::runtime_error {
  Error(std::string message, int line_ = 0, int column_ = 0)
      : std::runtime_error(std::move(message)), line(line_), column(column_) {}
  int line;
  int column;
};

}  // namespace dsw::yamldoc
