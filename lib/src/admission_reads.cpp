// What the admission logic reads of an AdmissionReview: dsw::answer_review() builds only these parts
// of a review (review_reader.cpp); everything else is parsed, so the body must still be valid
// JSON, but not built. Building the whole document was most of the library's time per review.
//
// Code that reads another field of the review must add its path here, or it finds the field
// absent. The fuzzing invariant that answer_review() answers exactly as handle(decode_review()), which
// reads the whole document, catches a missing line.
#include <string>
#include <string_view>

#include "review_internal.h"

namespace dsw::detail {

namespace {

// Paths in the review (see KeepPaths::add for the syntax); each is kept whole.
constexpr std::string_view kReviewPaths[] = {
    "apiVersion",
    "kind",
    "request.uid",
    "request.kind",
    "request.operation",
    "request.name",
    "request.namespace",
    "request.dryRun",
};

// Paths in the object under review: kept in request.object and in request.oldObject alike.
constexpr std::string_view kObjectPaths[] = {
    "metadata.name",
    "spec.policies",
    "spec.components[].name",
    "spec.components[].type",
    "spec.components[].traits",
    "spec.streamSpecification",  // ACK Table
    "spec.tableReplicas",        // ACK Table
    "spec.streamEnabled",        // kro DynamoDBTable
    "spec.streamViewType",       // kro DynamoDBTable
};

}  // namespace

const KeepPaths& admission_reads() {
  static const KeepPaths paths = [] {
    KeepPaths p;
    for (std::string_view path : kReviewPaths) p.add(path);
    for (std::string_view path : kObjectPaths) {
      p.add("request.object." + std::string(path));
      p.add("request.oldObject." + std::string(path));
    }
    return p;
  }();
  return paths;
}

}  // namespace dsw::detail
