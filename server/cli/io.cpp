#include "cli/io.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace dsw::io {

std::optional<std::string> read_all(const std::string& path, std::string& out) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    if (std::cin.bad()) return std::string("cannot read standard input");
    out = ss.str();
    return std::nullopt;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return "cannot open " + path + ": " + std::strerror(errno);
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (f.bad()) return "cannot read " + path;
  return std::nullopt;
}

}  // namespace dsw::io
