// Reading whole files or standard input, for the offline commands.
#pragma once

#include <optional>
#include <string>

namespace dsw::io {

// Reads `path` ("-" is standard input) into `out`; on failure returns a one-line reason.
std::optional<std::string> read_all(const std::string& path, std::string& out);

}  // namespace dsw::io
