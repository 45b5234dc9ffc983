// The subcommands of the dynamodb-streams-webhook binary. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace dsw::commands {

// Offline: default and validate Application manifests (YAML or JSON).
int check(const std::vector<std::string>& args);
// Offline: answer one AdmissionReview exactly as the server would.
int review(const std::vector<std::string>& args);
// The HTTPS admission webhook server.
int serve(const std::vector<std::string>& args);

}  // namespace dsw::commands
