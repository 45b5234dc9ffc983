#include <iostream>

#include "commands.h"

namespace dsw::commands {

int check(const std::vector<std::string>&) {
  std::cerr << "check: not built yet\n";
  return 2;
}

}  // namespace dsw::commands
