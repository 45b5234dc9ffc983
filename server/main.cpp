// dynamodb-streams-webhook: a validating and mutating admission webhook for KubeVela
// Applications that use the dynamodb-streams-kro trait.
//
// The path of a request: main -> commands::serve (serve/serve_command.cpp: flags, certificates,
// signals) -> WebhookServer (serve/http_server.cpp: cpp-httplib's SSLServer, its hooks and
// routes) -> dsw::serve (lib/src/handler.cpp: decode the review, handle, encode the answer) ->
// back through cpp-httplib to the socket. The offline commands: cli/review_command.cpp and
// check/check_command.cpp.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "cli/commands.h"
#include "version.h"

namespace {

void usage(std::ostream& out) {
  out << "Usage: dynamodb-streams-webhook COMMAND [FLAGS]\n\n"
         "Admission webhook that validates and defaults the dynamodb-streams-kro trait of\n"
         "KubeVela Applications, and validates the stream of ACK Tables and kro\n"
         "DynamoDBTables.\n\n"
         "Commands:\n"
         "  serve     run the HTTPS admission webhook (POST /mutate, POST /validate)\n"
         "  check     default and validate Application (and table) manifests offline\n"
         "  review    answer one AdmissionReview exactly as the server would\n\n"
         "Flags:\n"
         "  --version  print the version\n"
         "  --help     show this help; COMMAND --help shows a command's flags\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    usage(std::cerr);
    return 2;
  }
  const std::string cmd = args.front();
  std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (cmd == "--version" || cmd == "version") {
      std::cout << "dynamodb-streams-webhook " << DSW_VERSION << "\n";
      return 0;
    }
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      usage(std::cout);
      return 0;
    }
    if (cmd == "serve") {
      return dsw::commands::serve(rest);
    }
    if (cmd == "check") return dsw::commands::check(rest);
    if (cmd == "review") return dsw::commands::review(rest);
  } catch (const dsw::cli::UsageError& e) {
    std::cerr << "dynamodb-streams-webhook: " << e.message << "\n";
    return 2;
  }
  std::cerr << "dynamodb-streams-webhook: unknown command \"" << cmd
            << "\" (see dynamodb-streams-webhook --help)\n";
  return 2;
}
