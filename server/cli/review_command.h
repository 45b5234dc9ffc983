// `dynamodb-streams-webhook review`: answer one AdmissionReview exactly as the server would.
#pragma once

#include <string>
#include <vector>

namespace dsw::commands {

// Returns the process exit code.
int review(const std::vector<std::string>& args);

}  // namespace dsw::commands
