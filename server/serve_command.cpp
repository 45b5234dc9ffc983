#include <iostream>

#include "commands.h"

namespace dsw::commands {

int serve(const std::vector<std::string>&) {
  std::cerr << "serve: not built yet\n";
  return 2;
}

}  // namespace dsw::commands
