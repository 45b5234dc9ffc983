// `dynamodb-streams-webhook check`: default and validate Application (and table) manifests
// offline.
#pragma once

#include <string>
#include <vector>

namespace dsw::commands {

// Returns the process exit code.
int check(const std::vector<std::string>& args);

}  // namespace dsw::commands
