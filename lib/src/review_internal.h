// The steps of reading an AdmissionReview, shared by decode_review() and dsw::answer_review()
// (internal header).
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dsw/options.h"
#include "dsw/review.h"
#include "keep_paths.h"

namespace dsw::detail {

// The refusal a body gets from its raw text, if any: nesting deeper than options.max_depth
// (measured over the whole text, so it comes first), then a raw byte below 0x20 other than tab,
// LF and CR (NUL among them). read_review() runs it only on a body it refuses.
std::optional<DecodeError> check_raw_body(std::string_view body, const Options& options);

// The offset of the first raw byte below 0x20 other than tab, LF and CR, or npos.
std::size_t first_control_byte(std::string_view text);

// The Request held in a parsed AdmissionReview document (apiVersion, kind, request checks).
DecodeResult request_from_document(nlohmann::json doc);

// Reads an AdmissionReview with nlohmann's SAX parser, building only the parts of the document
// on `keep`'s paths (review_reader.cpp). Every body gets the answer decode_review() gives, but
// request.object and request.oldObject hold only what is kept.
DecodeResult read_review(std::string_view body, const Options& options, const KeepPaths& keep);

// The parts of a review the admission logic reads (admission_reads.cpp): what dsw::answer_review()
// reads with read_review().
const KeepPaths& admission_reads();

}  // namespace dsw::detail
