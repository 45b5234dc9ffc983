// `dynamodb-streams-webhook selftest --url URL --ca-file FILE`: checks a running webhook end to
// end over HTTPS (GET /readyz; a valid and an invalid Application to /mutate and /validate) and
// prints one line per check. The chart's `helm test` hook runs it.
#pragma once

#include <string>
#include <vector>

namespace dsw::commands {

// Exit status: 0 every check held; 1 a check failed (a wrong answer, no connection, a certificate
// that does not verify); 2 usage or configuration error (flags, unreadable or unusable files).
int selftest(const std::vector<std::string>& args);

}  // namespace dsw::commands
