// The commands of the dynamodb-streams-webhook binary: one table that main() dispatches on and
// prints its usage from. Each command lives in its own folder (serve/, check/, cli/) and returns
// the process exit code.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dsw::commands {

struct Command {
  std::string_view name;
  std::string_view summary;  // one line for the binary's --help
  int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& all();

}  // namespace dsw::commands
