// `dynamodb-streams-webhook review --mutate|--validate [FILE|-]`: reads one AdmissionReview and
// writes exactly the body the server would answer with (dsw::serve, the same function).
#include <iostream>

#include "cli/flags.h"
#include "cli/review_command.h"
#include "dsw/handler.h"
#include "cli/io.h"

namespace dsw::commands {

int review(const std::vector<std::string>& args) {
  Options options;
  std::optional<Endpoint> endpoint;
  cli::FlagSet flags("review", "dynamodb-streams-webhook review --mutate|--validate [FLAGS] [FILE|-]",
                     "Reads one AdmissionReview (JSON) from FILE or standard input and writes the\n"
                     "response the server would send to standard output. Exit 0 with a review\n"
                     "answer (allowed or denied), 1 when the input is not an AdmissionReview (the\n"
                     "server answers those with HTTP 400), 2 for usage or I/O errors.");
  auto choose = [&endpoint](Endpoint e) {
    if (endpoint && *endpoint != e)
      throw cli::UsageError{"review: --mutate and --validate exclude each other"};
    endpoint = e;
  };
  flags.toggle("mutate", "answer as the mutating endpoint (/mutate)",
               [&] { choose(Endpoint::Mutate); });
  flags.toggle("validate", "answer as the validating endpoint (/validate)",
               [&] { choose(Endpoint::Validate); });
  cli::add_admission_flags(flags, options);
  if (!flags.parse(args, std::cout)) return 0;
  if (!endpoint) throw cli::UsageError{"review: one of --mutate or --validate is required"};
  if (flags.positional().size() > 1) throw cli::UsageError{"review: at most one FILE"};
  std::string path = flags.positional().empty() ? "-" : flags.positional().front();
  std::string body;
  if (auto err = io::read_all(path, body)) {
    std::cerr << "review: " << *err << "\n";
    return 2;
  }
  Outcome out = answer_review(*endpoint, body, options);
  if (out.http_status != 200) {
    std::cerr << "review: HTTP " << out.http_status << ": " << out.body << "\n";
    return 1;
  }
  std::cout << out.body << "\n";
  return 0;
}

}  // namespace dsw::commands
