// dynamodb-streams-webhook: a validating and mutating admission webhook for KubeVela
// Applications that use the dynamodb-streams-kro trait.
//
// main() picks a command from the table in commands.cpp. The path of a request through `serve`:
//   serve/serve_command.cpp  flags, certificates, signals, the shutdown sequence
//   serve/http_server.cpp    cpp-httplib's SSLServer: the hooks decide a request's route once,
//                            refuse what its line and headers decide, then the one POST handler
//                            hands the body to
//   lib/src/handler.cpp      dsw::answer_review: decode the review, handle it (decide), encode
//                            the AdmissionReview answer
// and back through cpp-httplib to the socket; serve/http_server.cpp's logger hook counts and logs
// it. The offline commands: cli/review_command.cpp and check/check_command.cpp.
#include <iostream>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "commands.h"
#include "version.h"

namespace {

void usage(std::ostream& out) {
  out << "Usage: dynamodb-streams-webhook COMMAND [FLAGS]\n\n"
         "Admission webhook that validates and defaults the dynamodb-streams-kro trait of\n"
         "KubeVela Applications, and validates the stream of ACK Tables and kro\n"
         "DynamoDBTables.\n\n"
         "Commands:\n";
  for (const auto& c : dsw::commands::all()) {
    out << "  " << c.name << std::string(10 - c.name.size(), ' ') << c.summary << "\n";
  }
  out << "\n"
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
  if (cmd == "--version" || cmd == "version") {
    std::cout << "dynamodb-streams-webhook " << DSW_VERSION << "\n";
    return 0;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(std::cout);
    return 0;
  }
  for (const auto& c : dsw::commands::all()) {
    if (c.name != cmd) continue;
    try {
      return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
    } catch (const dsw::cli::UsageError& e) {
      std::cerr << "dynamodb-streams-webhook: " << e.message << "\n";
      return 2;
    }
  }
  std::cerr << "dynamodb-streams-webhook: unknown command \"" << cmd
            << "\" (see dynamodb-streams-webhook --help)\n";
  return 2;
}
