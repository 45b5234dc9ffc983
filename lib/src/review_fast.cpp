// The hot path's reader of AdmissionReviews. nlohmann's parser costs ~10 µs per KB here and was
// most of dsw::serve(); RapidJSON's SAX reader scans the same text several times faster, and
// this handler builds an nlohmann document of only what the admission logic reads:
//   apiVersion, kind, request.{uid,kind,operation,name,namespace,dryRun},
//   request.{object,oldObject}.metadata.name, ...spec.policies (whole),
//   ...spec.components[i].{name,type,traits} (whole).
// Everything else (userInfo, component properties, ...) is checked for validity but not built.
//
// The answer must be exactly decode_review()'s, so any doubt goes back to it: when RapidJSON
// rejects the text, or it holds something RapidJSON accepts and nlohmann does not (a lone
// low surrogate escape, a number out of double's range), the body is decoded again by
// decode_review(), whose error message is then the one returned. Numbers that are kept are
// converted by nlohmann itself, and duplicate keys keep the last value as nlohmann does.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__SSE2__)
#define RAPIDJSON_SSE2  // vectorised whitespace skipping and string scanning
#endif
#include <rapidjson/reader.h>

#include "review_internal.h"

namespace dsw::detail {

namespace {

using nlohmann::json;

// What part of the review a value is, which decides which of its members are built.
enum class Role { Skip, Full, Root, Request, Object, Metadata, Spec, Components, Component };

Role member_role(Role parent, std::string_view key) {
  switch (parent) {
    case Role::Root:
      if (key == "request") return Role::Request;
      return key == "apiVersion" || key == "kind" ? Role::Full : Role::Skip;
    case Role::Request:
      if (key == "object" || key == "oldObject") return Role::Object;
      return key == "uid" || key == "kind" || key == "operation" || key == "name" ||
                     key == "namespace" || key == "dryRun"
                 ? Role::Full
                 : Role::Skip;
    case Role::Object:
      if (key == "metadata") return Role::Metadata;
      return key == "spec" ? Role::Spec : Role::Skip;
    case Role::Metadata:
      return key == "name" ? Role::Full : Role::Skip;
    case Role::Spec:
      if (key == "components") return Role::Components;
      return key == "policies" ? Role::Full : Role::Skip;
    case Role::Component:
      return key == "name" || key == "type" || key == "traits" ? Role::Full : Role::Skip;
    case Role::Skip:
      return Role::Skip;
    case Role::Full:
    case Role::Components:  // an object where the array should be: kept as it is
      break;
  }
  return Role::Full;
}

// Whether `s` is strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF), as nlohmann requires of every string. RapidJSON is run without its own (slow,
// per-byte) encoding check, and it decodes "\udc00" (a lone low surrogate, which nlohmann
// refuses) to the bytes ED B0 80: both are caught here, on the decoded strings.
bool valid_utf8(const char* s, std::size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  const unsigned char* end = p + n;
  while (p < end) {
    // ASCII (nearly every key and value) eight bytes at a time.
    if (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (len == 0 || static_cast<std::size_t>(end - p) < len) return false;
    for (std::size_t k = 1; k < len; ++k)
      if ((p[k] & 0xC0) != 0x80) return false;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0) || (c == 0xF0 && p[1] < 0x90) ||
        (c == 0xF4 && p[1] >= 0x90))
      return false;
    p += len;
  }
  return true;
}

class PrunedBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, PrunedBuilder> {
 public:
  explicit PrunedBuilder(std::size_t max_depth) : max_depth_(max_depth) {}
  json root;

  bool Null() { return scalar(nullptr); }
  bool Bool(bool b) { return scalar(b); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    std::string_view text(s, n);
    if (skip_ > 0 || next_role() == Role::Skip) {
      // Without an exponent and within 300 digits a number cannot overflow a double; anything
      // else is left to nlohmann's own check.
      return text.find_first_of("eE") == std::string_view::npos && n <= 300;
    }
    try {
      return scalar(json::parse(text));
    } catch (const json::exception&) {
      return false;
    }
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (!valid_utf8(s, n)) return false;
    if (skip_ > 0) return true;
    return scalar(std::string(s, n));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (!valid_utf8(s, n)) return false;
    if (skip_ == 0) key_.assign(s, n);
    return true;
  }
  bool StartObject() { return open(json::value_t::object); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(json::value_t::array); }
  bool EndArray(rapidjson::SizeType) { return close(); }

 private:
  struct Frame {
    json* value;
    Role role;
  };

  Role next_role() const {
    if (stack_.empty()) return Role::Root;
    const Frame& top = stack_.back();
    if (top.value->is_array()) return top.role == Role::Components ? Role::Component : Role::Full;
    return member_role(top.role, key_);
  }

  // Stores `v` where the parser stands, as nlohmann's DOM parser does (operator[]: last wins).
  json* put(json v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    json& parent = *stack_.back().value;
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json& slot = parent[key_];
    slot = std::move(v);
    return &slot;
  }

  bool scalar(json v) {
    if (skip_ > 0 || next_role() == Role::Skip) return true;
    put(std::move(v));
    return true;
  }

  bool open(json::value_t type) {
    if (++depth_ > max_depth_) return false;  // as json_nesting_depth() counts
    if (skip_ > 0) {
      ++skip_;
      return true;
    }
    Role role = next_role();
    if (role == Role::Skip) {
      skip_ = 1;
      return true;
    }
    stack_.push_back({put(json(type)), role});
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
  std::string key_;
  std::size_t skip_ = 0;  // depth inside a value that is not built
  std::size_t depth_ = 0;
  std::size_t max_depth_;
};

}  // namespace

DecodeResult decode_review_for_admission(std::string_view body, const Options& options) {
  // check_raw_body()'s two conditions, without its separate nesting scan: a raw control byte
  // sends the body to decode_review() (which names the same error), and the builder stops the
  // parse as soon as it opens a value deeper than the limit (so the recursion stays bounded),
  // after which decode_review() names that error too.
  if (first_control_byte(body) != std::string_view::npos) return decode_review(body, options);
  // RapidJSON's fast stream reads up to a NUL byte: a copy of the body (which holds none,
  // first_control_byte() found none) gets one. The buffer is kept per thread, so no allocation.
  thread_local std::string text;
  // The SSE2 scanner reads aligned 16-byte blocks, up to 15 bytes past the NUL: keep them
  // inside the buffer (found by fuzzing under AddressSanitizer).
  text.reserve(body.size() + 16);
  text.assign(body.data(), body.size());
  PrunedBuilder builder(options.max_depth);
  // In situ: strings are unescaped inside the copy instead of through the reader's own stack
  // (the builder copies what it keeps, so nothing points into `text` afterwards).
  rapidjson::InsituStringStream stream(text.data());
  rapidjson::Reader reader;
  // Recursive descent is safe: the builder refuses to open a value past options.max_depth.
  constexpr unsigned kFlags = rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseInsituFlag;
  bool ok = !reader.Parse<kFlags>(stream, builder).IsError();
  // Each connection thread keeps at most 64 KiB between requests; a big body's copy is freed
  // (its cost is small next to reading it), so idle threads do not pin large buffers.
  if (text.capacity() > (64u << 10)) std::string().swap(text);
  if (!ok) return decode_review(body, options);
  return request_from_document(std::move(builder.root));
}

}  // namespace dsw::detail
