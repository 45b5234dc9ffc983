// `dynamodb-streams-webhook serve`: the HTTPS admission webhook.
#pragma once

#include <string>
#include <vector>

namespace dsw::commands {

// Returns the process exit code.
int serve(const std::vector<std::string>& args);

}  // namespace dsw::commands
