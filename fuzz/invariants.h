// The properties every answer of the webhook must have, checked by the fuzz targets (and by
// the corpus replay test that runs the same targets without libFuzzer).
//
// A violated invariant prints what was expected and aborts, which libFuzzer reports as a crash
// and saves the input as a reproducer.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dsw/handler.h"
#include "dsw/options.h"

namespace dsw::fuzz {

using nlohmann::json;

[[noreturn]] inline void fail(const char* file, int line, const char* cond, const std::string& why) {
  std::fprintf(stderr, "\n*** INVARIANT VIOLATED at %s:%d: %s\n*** %s\n", file, line, cond,
               why.c_str());
  std::fflush(stderr);
  std::abort();
}

#define DSW_FUZZ_CHECK(cond, why)                                      \
  do {                                                                 \
    if (!(cond)) ::dsw::fuzz::fail(__FILE__, __LINE__, #cond, (why)); \
  } while (0)

// Standard base64 (as Kubernetes encodes []byte); returns false on anything malformed.
bool base64_decode_strict(std::string_view in, std::string& out);

// Whether a 400 message echoes the request body: it must quote nothing (no `"`, `{` or `}`),
// so that no JSON of the body can appear in it.
bool quotes_input(std::string_view message, std::string_view input);

// One line of printable ASCII, as a 400 message must be.
bool printable_ascii_line(std::string_view s);

// Checks the answer `out` that answer_review(endpoint, input, options) gave for `input`:
//  - exactly the answer of handle(decode_review()), which reads the whole document: 400 with
//    decode_review's message for the bodies it refuses (a short printable line that never
//    quotes the input), else handle()'s answer byte for byte;
//  - 200: a well-formed AdmissionReview in the request's apiVersion, kind AdmissionReview,
//    response.uid equal to request.uid, allowed a boolean, only known response fields;
//  - every deny carries a non-empty status.message (and causes for 422 Invalid);
//  - warnings are one line, no control characters, at most 256 bytes;
//  - a validating answer never carries patch or patchType; a mutating answer never denies
//    for content;
//  - a patch is base64 RFC 6902 (add/replace only) that applies to request.object with
//    nlohmann's json::patch, only adds absent members or replaces nulls, writes only the
//    documented default values, and a second mutating pass over the patched object yields no
//    patch; on CREATE, an object that validates still validates once defaulted.
// Returns the patched object for a mutating answer with a patch, else null.
json check_answer(Endpoint endpoint, std::string_view input, const Outcome& out,
                  const Options& options);

// Runs both endpoints over `input` with the default options and with every rule set to warn,
// and checks every answer with check_answer(). Returns the mutate answer's patched object.
json check_both_endpoints(std::string_view input);

}  // namespace dsw::fuzz
