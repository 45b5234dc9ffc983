// Fuzz target: the whole mutate and validate handling, bytes in and bytes out, through
// dsw::answer_review(); the input is the raw HTTP request body. Every answer is checked against the
// invariants in invariants.h (well-formed AdmissionReview with the request's apiVersion and
// uid, no patch on validate, a patch that applies cleanly and is idempotent, a message on
// every deny, 400 bodies that never quote the input), for both endpoints, with the default
// options, with every rule set to warn, and with --enforcement warn (a denial becomes exactly
// its warnings, everything else is answered as in deny).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "invariants.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dsw::fuzz::check_both_endpoints(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
