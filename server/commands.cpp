#include "commands.h"

#include "audit/audit_command.h"
#include "check/check_command.h"
#include "cli/review_command.h"
#include "selftest/selftest_command.h"
#include "serve/serve_command.h"

namespace dsw::commands {

const std::vector<Command>& all() {
  static const std::vector<Command> table = {
      {"serve", "run the HTTPS admission webhook (POST /mutate, POST /validate)", &serve},
      {"check", "default and validate Application (and table) manifests offline", &check},
      {"review", "answer one AdmissionReview exactly as the server would", &review},
      {"audit", "judge what the cluster holds and write OpenReports Reports", &audit},
      {"selftest", "check a running webhook end to end over HTTPS (the chart's helm test)", &selftest},
  };
  return table;
}

}  // namespace dsw::commands
