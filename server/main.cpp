// dynamodb-streams-webhook: a validating and mutating admission webhook for KubeVela
// Applications that use the dynamodb-streams-kro trait.
//
// The path of a request: main -> commands::serve (server/serve.cpp) -> the HTTP layer
// (server/http_server.cpp) -> dsw::serve (lib/src/handler.cpp) -> decode_review, handle,
// Response::encode -> back to the socket.
#include <unistd.h>

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
         "KubeVela Applications.\n\n"
         "Commands:\n"
         "  serve     run the HTTPS admission webhook (POST /mutate, POST /validate)\n"
         "  check     default and validate Application manifests offline (YAML or JSON)\n"
         "  review    answer one AdmissionReview exactly as the server would\n\n"
         "Flags:\n"
         "  --version  print the version\n"
         "  --help     show this help; COMMAND --help shows a command's flags\n";
}

// glibc keeps at most 7 freed blocks per size in each thread's cache (tcache); a review builds
// and drops a few hundred small JSON nodes, so most frees and mallocs miss it and take the
// arena's slower path. 256 per size measured 8-10% less CPU per request for `serve`
// (docs/performance.md). The count is a tunable glibc reads only at start-up, so `serve`
// re-executes itself once with it set. Left alone when GLIBC_TUNABLES is already set (even
// empty: the way to opt out) or LD_PRELOAD is (another allocator, or valgrind), and when the
// exec fails (no /proc): then the process simply goes on with glibc's defaults.
// The binary's own path is executed (not /proc/self/exe, which would rename the process "exe"
// for ps, top and pkill).
void tune_malloc_and_reexec(char** argv) {
  if (std::getenv("GLIBC_TUNABLES") != nullptr || std::getenv("LD_PRELOAD") != nullptr) return;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return;
  self[n] = '\0';
  if (::setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=256", 0) != 0) return;
  ::execv(self, argv);
  ::unsetenv("GLIBC_TUNABLES");  // exec failed (e.g. the binary was replaced): carry on as we are
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
      tune_malloc_and_reexec(argv);
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
