// The reader of AdmissionReviews: nlohmann's SAX parser, with a handler that builds an nlohmann
// document of only the values on the KeepPaths it is given. decode_review() keeps everything;
// dsw::answer_review() keeps what the admission logic reads (admission_reads.cpp), which skips most of
// a review (userInfo, component properties, ...) and most of the cost of building it.
//
// The lexer is the one json::parse() uses, so a body is refused exactly as the DOM parser
// refuses it (same errors, same byte offsets), whether the faulty part is kept or not; and the
// handler stores values as the DOM parser's own handler does (a duplicate key keeps its last
// value). nlohmann's parser is iterative, so nesting costs no stack; the handler counts the depth
// and stops the parse past options.max_depth, which bounds what is built. A body that is JSON is
// read in this one pass; only a body that is refused is scanned again (check_raw_body()), so that
// it gets the same refusal as when its nesting was measured before parsing (the deepest nesting
// anywhere in it comes first, then a control byte, then the parser's error).
#include <string>
#include <vector>

#include "review_internal.h"

namespace dsw::detail {

namespace {

using nlohmann::json;
using Node = KeepPaths::Node;

class PrunedBuilder {
 public:
  PrunedBuilder(const Node& root, std::size_t max_depth)
      : next_(&root), slot_(&document), max_depth_(max_depth) {
    stack_.reserve(16);
  }

  json document;           // what was built
  std::string error;       // the decode error, once the parser reported one
  bool too_deep = false;   // the parse stopped at nesting deeper than max_depth

  // The json_sax interface (called by json::sax_parse; no virtual functions needed).
  bool null() { return scalar(nullptr); }
  bool boolean(bool v) { return scalar(v); }
  bool number_integer(json::number_integer_t v) { return scalar(v); }
  bool number_unsigned(json::number_unsigned_t v) { return scalar(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return scalar(v); }
  bool string(json::string_t& v) { return scalar(v); }
  bool binary(json::binary_t&) { return true; }  // only the binary formats (CBOR, ...) have it
  bool start_object(std::size_t) { return open(json::value_t::object); }
  bool start_array(std::size_t) { return open(json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& k) {
    if (skip_ > 0) return true;
    const Frame& top = stack_.back();
    next_ = KeepPaths::member(*top.node, k);
    // The member's place is made now, as the DOM parser does; a duplicate key gets the same
    // place, and its value replaces the earlier one.
    if (next_ != nullptr) slot_ = &top.value->get_ref<json::object_t&>()[k];
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const json::exception& e) {
    // The two faults json::parse() throws: parse_error (with the byte offset) for text that is
    // not JSON, out_of_range 406 for a number beyond double's range (1e400).
    if (const auto* pe = dynamic_cast<const json::parse_error*>(&e)) {
      error = "request body is not valid JSON (error at byte " + std::to_string(pe->byte) + ")";
    } else {
      error = "request body is not valid JSON (a number is out of range)";
    }
    return false;
  }

 private:
  struct Frame {
    json* value;       // the object or array being built
    const Node* node;  // which of its members or elements are kept
    bool array;
  };

  // Whether the value the parser reads now is built; if so, slot_ is where it goes and next_
  // says what is kept below it.
  bool place() {
    if (skip_ > 0) return false;
    if (!stack_.empty() && stack_.back().array) {
      const Frame& top = stack_.back();
      next_ = KeepPaths::element(*top.node);
      if (next_ == nullptr) return false;
      slot_ = &top.value->get_ref<json::array_t&>().emplace_back();
      return true;
    }
    return next_ != nullptr;  // set by key(), or by the constructor for the document itself
  }

  template <class V>
  bool scalar(V&& v) {
    if (place()) *slot_ = json(std::forward<V>(v));
    return true;
  }

  bool open(json::value_t type) {
    if (++depth_ > max_depth_) {
      too_deep = true;
      return false;
    }
    if (!place()) {
      ++skip_;  // a dropped object or array: nothing is built until it closes
      return true;
    }
    *slot_ = json(type);
    const bool array = type == json::value_t::array;
    stack_.push_back(
        {slot_, array ? &KeepPaths::as_array(*next_) : &KeepPaths::as_object(*next_), array});
    return true;
  }

  bool close() {
    --depth_;
    if (skip_ > 0)
      --skip_;
    else
      stack_.pop_back();
    return true;
  }

  std::vector<Frame> stack_;
  const Node* next_;      // what is kept of the next value; nullptr: it is dropped
  json* slot_;            // where the next value goes
  std::size_t skip_ = 0;  // depth inside a dropped value
  std::size_t depth_ = 0;
  const std::size_t max_depth_;
};

}  // namespace

DecodeResult read_review(std::string_view body, const Options& options, const KeepPaths& keep) {
  // A raw control byte (NUL among them, which nlohmann's lexer takes for the end) is refused
  // before parsing.
  if (first_control_byte(body) != std::string_view::npos) return *check_raw_body(body, options);
  PrunedBuilder builder(keep.root(), options.max_depth);
  if (!json::sax_parse(body.data(), body.data() + body.size(), &builder)) {
    // Refused: nesting past the limit anywhere in the body is the reason given first.
    if (auto error = check_raw_body(body, options)) return std::move(*error);
    return DecodeError{std::move(builder.error)};
  }
  return request_from_document(std::move(builder.document));
}

}  // namespace dsw::detail
