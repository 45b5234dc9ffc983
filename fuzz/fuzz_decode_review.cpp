// Fuzz target: dsw::decode_review and the nesting guard in front of the JSON parser.
//
// Invariants:
//  - a refused body gets a short, printable, one-line message that never quotes the body;
//  - an accepted body is an admission.k8s.io/v1 or v1beta1 AdmissionReview with a non-empty
//    request.uid, and the decoded fields equal what an independent parse of the body reads;
//  - a body with a NUL byte (where nlohmann's lexer would stop reading) is never accepted;
//  - the refusals are worded exactly as before the reader used nlohmann's SAX parser: nesting
//    over the limit first, then the first raw control byte, then what json::parse() (the DOM
//    parser) throws, with its byte offset;
//  - json_nesting_depth() equals the real nesting depth of every valid JSON text (measured with
//    nlohmann's SAX parser, which builds nothing and does not recurse), so the guard cannot be
//    fooled into letting a deep document through;
//  - the guard is exact: the body decodes with max_depth equal to its depth and is refused for
//    nesting with one less.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "dsw/json_limits.h"
#include "dsw/review.h"
#include "invariants.h"

namespace {

using nlohmann::json;

// Counts the deepest nesting of a valid JSON text without building it.
struct DepthCounter : nlohmann::json_sax<json> {
  std::size_t depth = 0;
  std::size_t max = 0;
  void enter() {
    if (++depth > max) max = depth;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    enter();
    return true;
  }
  bool key(string_t&) override { return true; }
  bool end_object() override {
    --depth;
    return true;
  }
  bool start_array(std::size_t) override {
    enter();
    return true;
  }
  bool end_array() override {
    --depth;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
};

// The refusal decode_review() must give `input`, found without the library's reader: "" when
// the body is JSON (it may still not be an AdmissionReview).
std::string expected_json_refusal(std::string_view input, const dsw::Options& options) {
  if (dsw::json_nesting_depth(input, options.max_depth) > options.max_depth)
    return "request body nests JSON deeper than " + std::to_string(options.max_depth) + " levels";
  const std::string not_json = "request body is not valid JSON ";
  for (std::size_t i = 0; i < input.size(); ++i) {
    const auto c = static_cast<unsigned char>(input[i]);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
      return not_json + "(error at byte " + std::to_string(i + 1) + ")";
  }
  try {
    const json parsed = json::parse(input);
    (void)parsed;
  } catch (const json::parse_error& e) {
    return not_json + "(error at byte " + std::to_string(e.byte) + ")";
  } catch (const json::out_of_range&) {
    return not_json + "(a number is out of range)";
  }
  return "";
}

bool is_depth_error(const dsw::DecodeResult& r) {
  const auto* e = std::get_if<dsw::DecodeError>(&r);
  return e != nullptr && e->message.find("deeper than") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const dsw::Options options;
  const dsw::DecodeResult result = dsw::decode_review(input, options);

  const std::string json_refusal = expected_json_refusal(input, options);
  if (!json_refusal.empty()) {
    const auto* err = std::get_if<dsw::DecodeError>(&result);
    DSW_FUZZ_CHECK(err != nullptr && err->message == json_refusal,
                   "refused as \"" + json_refusal + "\", got \"" + (err ? err->message : "") + "\"");
  }
  if (const auto* err = std::get_if<dsw::DecodeError>(&result)) {
    DSW_FUZZ_CHECK(!json_refusal.empty() ||
                       (err->message.rfind("request body is not valid JSON", 0) != 0 &&
                        err->message.rfind("request body nests", 0) != 0),
                   "JSON that json::parse() reads is refused only as a review: " + err->message);
    DSW_FUZZ_CHECK(!err->message.empty() && err->message.size() <= 160 &&
                       dsw::fuzz::printable_ascii_line(err->message),
                   "a decode error is a short line of printable ASCII: " + err->message);
    DSW_FUZZ_CHECK(!dsw::fuzz::quotes_input(err->message, input),
                   "a decode error never quotes the body: " + err->message);
  } else {
    const auto& req = std::get<dsw::Request>(result);
    DSW_FUZZ_CHECK(req.api_version == "admission.k8s.io/v1" ||
                       req.api_version == "admission.k8s.io/v1beta1",
                   "only admission.k8s.io/v1 and v1beta1 are accepted: " + req.api_version);
    DSW_FUZZ_CHECK(!req.uid.empty(), "an accepted review has a uid");
    const json doc = json::parse(input);  // must not throw: decode_review parsed it
    DSW_FUZZ_CHECK(doc.is_object() && doc.at("kind") == "AdmissionReview", "kind AdmissionReview");
    const json& r = doc.at("request");
    DSW_FUZZ_CHECK(r.at("uid") == req.uid, "uid decoded as written");
    DSW_FUZZ_CHECK(r.contains("object") ? r["object"] == req.object : req.object.is_null(),
                   "request.object decoded as written");
    DSW_FUZZ_CHECK(r.contains("oldObject") ? r["oldObject"] == req.old_object
                                           : req.old_object.is_null(),
                   "request.oldObject decoded as written");
    const json* op = r.contains("operation") ? &r["operation"] : nullptr;
    DSW_FUZZ_CHECK(op != nullptr && op->is_string() ? *op == req.operation : req.operation.empty(),
                   "operation decoded as written");
  }

  // The nesting guard against an independent, non-recursive measurement.
  // nlohmann's lexer takes a NUL byte for the end of the text; JSON never contains one raw.
  const bool has_nul = input.find('\0') != std::string_view::npos;
  DSW_FUZZ_CHECK(!has_nul || !std::holds_alternative<dsw::Request>(result),
                 "a body with a NUL byte is not JSON and is never accepted");
  DepthCounter counter;
  bool valid = false;
  try {
    valid = !has_nul && json::sax_parse(input.begin(), input.end(), &counter);
  } catch (const json::exception&) {
    valid = false;  // out-of-range numbers throw even from the SAX parser
  }
  if (valid) {
    const std::size_t guard = dsw::json_nesting_depth(input, static_cast<std::size_t>(-2));
    DSW_FUZZ_CHECK(guard == counter.max, "json_nesting_depth says " + std::to_string(guard) +
                                             ", the document nests " +
                                             std::to_string(counter.max));
    if (counter.max > 0 && counter.max <= options.max_depth) {
      dsw::Options exact;
      exact.max_depth = counter.max;
      DSW_FUZZ_CHECK(!is_depth_error(dsw::decode_review(input, exact)),
                     "a body exactly at max_depth is not refused for nesting");
      exact.max_depth = counter.max - 1;
      DSW_FUZZ_CHECK(is_depth_error(dsw::decode_review(input, exact)),
                     "a body one level over max_depth is refused for nesting");
    }
  } else {
    DSW_FUZZ_CHECK(!std::holds_alternative<dsw::Request>(result),
                   "invalid JSON is never accepted");
  }
  return 0;
}
