// AdmissionReviews of any size for the microbenchmark: the seed's basic-usage Application with
// its component repeated N times (each with its own name and one dynamodb-streams-kro trait),
// wrapped by test/support/admission_review.h.
#pragma once

#include <cstddef>
#include <string>

namespace dsw::bench {

// The review as JSON text (admission.k8s.io/v1, CREATE), with `components` components.
std::string make_review(std::size_t components);

}  // namespace dsw::bench
