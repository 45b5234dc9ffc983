// The steps of decode_review(), shared with the fast reader in review_fast.cpp (internal header).
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dsw/options.h"
#include "dsw/review.h"

namespace dsw::detail {

// What is refused before any parser runs: nesting deeper than options.max_depth, and NUL bytes.
std::optional<DecodeError> check_raw_body(std::string_view body, const Options& options);

// The offset of the first raw byte below 0x20 other than tab, LF and CR, or npos.
std::size_t first_control_byte(std::string_view text);

// The Request held in a parsed AdmissionReview document (apiVersion, kind, request checks).
DecodeResult request_from_document(nlohmann::json doc);

// decode_review() for dsw::serve(): the same answer for every body, but read with RapidJSON,
// building only the parts of the document the admission logic reads (see review_fast.cpp).
DecodeResult decode_review_for_admission(std::string_view body, const Options& options);

}  // namespace dsw::detail
