// What the review reader refuses, and with which message: exactly what the webhook answered
// when it read reviews with nlohmann's DOM parser (json::parse), byte offsets included, whether
// the fault is in a part of the review that answer_review() builds or in one it only parses.
#include "dsw/json_limits.h"
#include "review_internal.h"
#include "test_support.h"

using namespace dsw;
using namespace dsw::testing;

namespace {

const std::string kOutOfRange = "request body is not valid JSON (a number is out of range)";

std::string at_byte(std::size_t n) {
  return "request body is not valid JSON (error at byte " + std::to_string(n) + ")";
}

// How the webhook words json::parse()'s verdict on `body` (as decode_review() did before it
// read with the SAX parser), or "" when json::parse() accepts it.
std::string dom_refusal(std::string_view body) {
  try {
    const json parsed = json::parse(body);  // only whether it throws matters
    (void)parsed;
    return "";
  } catch (const json::parse_error& e) {
    return at_byte(e.byte);
  } catch (const json::out_of_range&) {
    return kOutOfRange;
  }
}

// The refusal of `body`: decode_review(), the reader answer_review() uses, and answer_review() itself must all
// give the same message (an empty one when the body is read).
std::string refusal(std::string_view body, const Options& options = {}) {
  auto message = [](const DecodeResult& r) {
    const auto* e = std::get_if<DecodeError>(&r);
    return e == nullptr ? std::string() : e->message;
  };
  const std::string whole = message(decode_review(body, options));
  CHECK(message(detail::read_review(body, options, detail::admission_reads())) == whole);
  for (Endpoint e : {Endpoint::Mutate, Endpoint::Validate}) {
    const Outcome out = answer_review(e, body, options);
    if (!whole.empty()) {
      CHECK(out.http_status == 400);
      CHECK(out.body == whole);
    }
  }
  return whole;
}

// A review with `props` as the trait's properties (built by answer_review()), `component_extra` as more
// members of the component and `request_extra` as more members of the request (not built).
std::string review_text(const std::string& props, const std::string& component_extra = "",
                        const std::string& request_extra = "") {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{)"
         R"("uid":"u-1","kind":{"group":"core.oam.dev","version":"v1beta1","kind":"Application"},)"
         R"("operation":"CREATE","name":"app","namespace":"ns",)" +
         request_extra +
         R"("object":{"metadata":{"name":"app"},"spec":{"components":[{"name":"t","type":"aws-dynamodb-kro",)" +
         component_extra + R"("traits":[{"type":"dynamodb-streams-kro","properties":)" + props +
         "}]}]}}}}";
}

// `text` (a JSON value) in each kind of place: kept (trait properties, the request's uid) and
// only parsed (component properties, userInfo).
std::vector<std::string> in_every_place(const std::string& text) {
  return {review_text(R"({"viewType":)" + text + "}"),
          review_text("{}", R"("properties":{"size":)" + text + "},"),
          review_text("{}", "", R"("userInfo":{"username":)" + text + "},"),
          R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":)" + text + "}}"};
}

}  // namespace

TEST_CASE("text that is not JSON: the byte offset json::parse() reports") {
  for (const auto& [body, byte] : std::vector<std::pair<std::string, std::size_t>>{
           {"", 1}, {" ", 2}, {R"({"a":1,})", 8}, {"[1,]", 4}, {"{'a':1}", 2}, {R"({"a":)", 6},
           {"01", 2}, {R"({"a":1}x)", 8}, {"nul", 4}, {R"(["\udc00"])", 8}, {"[\"\xff\"]", 3}}) {
    CAPTURE(body);
    CHECK(refusal(body) == at_byte(byte));
    CHECK(dom_refusal(body) == at_byte(byte));
  }
  const std::string good = review_text("{}");
  REQUIRE(refusal(good).empty());
  for (const std::string& body :
       {good + "x", good + "}", good.substr(0, 50), good.substr(0, good.size() - 1), "/*c*/" + good,
        std::string("NaN"), std::string("1."), std::string(".5"), std::string("-"), std::string("[1 2]")}) {
    CAPTURE(body);
    CHECK(refusal(body) == dom_refusal(body));
    CHECK_FALSE(refusal(body).empty());
  }
  CHECK(refusal(good + "x") == at_byte(good.size() + 1));
  // A UTF-8 byte order mark is skipped by nlohmann's lexer, and so the review is read.
  CHECK(refusal("\xef\xbb\xbf" + good).empty());
}

TEST_CASE("a number beyond double's range is refused wherever it is, built or not") {
  for (const std::string n : {"1e400", "-1e400", "1E+999", "4e42343", "-0.5e309"}) {
    for (const std::string& body : in_every_place(n)) {
      CAPTURE(body);
      CHECK(refusal(body) == kOutOfRange);
      CHECK(dom_refusal(body) == kOutOfRange);
    }
  }
  // What is not out of range: underflow to zero, integers past 64 bits (read as doubles).
  for (const std::string n : {"1e-400", "18446744073709551616", "-9223372036854775809", "1e308"}) {
    for (const std::string& body : in_every_place(n)) {
      CAPTURE(body);
      CHECK(dom_refusal(body).empty());
      CHECK(refusal(body).empty() == (body.find(R"("uid":)" + n) == std::string::npos));
    }
  }
}

TEST_CASE("lone or mismatched surrogate escapes are refused wherever they are") {
  for (const std::string s : {R"("\udc00")", R"("\udfff")", R"("\ud800")", R"("\ud800\u0041")",
                               R"("\ud800\ud800")", R"("x\udbff")"}) {
    for (const std::string& body : in_every_place(s)) {
      CAPTURE(body);
      CHECK(refusal(body) == dom_refusal(body));
      CHECK(refusal(body).rfind("request body is not valid JSON (error at byte ", 0) == 0);
    }
  }
  // A pair is one character, read into UTF-8.
  Request r = std::get<Request>(decode_review(in_every_place(R"("\ud83d\ude00")")[3], Options{}));
  CHECK(r.uid == "\xf0\x9f\x98\x80");
}

TEST_CASE("ill-formed UTF-8 is refused in every string, built or not, value or key") {
  for (const std::string bad : {"\xff", "\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80",
                                 "\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xc3",
                                 "\xe2\x82", "a\xe2\x82"}) {
    std::vector<std::string> bodies = in_every_place("\"" + bad + "\"");
    bodies.push_back(review_text("{\"" + bad + "\":1}"));                          // a kept key
    bodies.push_back(review_text("{}", "\"properties\":{\"" + bad + "\":1},"));   // a key only parsed
    for (const std::string& body : bodies) {
      CAPTURE(body);
      CHECK(refusal(body) == dom_refusal(body));
      CHECK(refusal(body).rfind("request body is not valid JSON (error at byte ", 0) == 0);
    }
  }
  // Where the offset points: just after the first byte that cannot be in UTF-8 there.
  const std::string body = review_text("{}", "", "\"userInfo\":{\"username\":\"ab\xc3(\"},");
  CHECK(refusal(body) == at_byte(body.find("\xc3(") + 2));
  for (const std::string ok : {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"}) {
    for (const std::string& b : in_every_place("\"" + ok + "\"")) CHECK(refusal(b).empty());
  }
}

TEST_CASE("a NUL or another raw control byte is refused at the first one, before the parser") {
  const std::string good = review_text("{}");
  SUBCASE("a NUL, where nlohmann's lexer would stop reading and accept what came before") {
    const std::string body = good + std::string("\0{\"trailing\": garbage", 21);
    CHECK(dom_refusal(body).empty());  // why the raw check exists
    CHECK(refusal(body) == at_byte(good.size() + 1));
    CHECK(refusal(std::string("5\0\0{}", 5)) == at_byte(2));
  }
  SUBCASE("control bytes in strings built or only parsed, and between tokens") {
    for (const std::string& body : in_every_place(std::string("\"a\x1b") + "b\"")) {
      CAPTURE(body);
      CHECK(refusal(body) == at_byte(body.find('\x1b') + 1));
    }
    CHECK(refusal(std::string("{\x01}")) == at_byte(2));
  }
  SUBCASE("the first control byte is named even after a syntax error") {
    CHECK(dom_refusal("{x\x01") == at_byte(2));
    CHECK(refusal("{x\x01") == at_byte(3));
  }
  SUBCASE("tab, LF and CR pass the raw check: fine between tokens, refused by the lexer in strings") {
    CHECK(refusal("{\t\"apiVersion\"\r\n:1}") == "apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1");
    const std::string body = review_text("{}", "", "\"userInfo\":{\"username\":\"a\tb\"},");
    CHECK(refusal(body) == dom_refusal(body));
    CHECK(refusal(body) == at_byte(body.find('\t') + 1));
  }
}

TEST_CASE("nesting: exactly at the limit is read, one level over is refused before parsing") {
  const std::string over = "request body nests JSON deeper than 512 levels";
  CHECK(refusal(std::string(512, '[') + std::string(512, ']')) == "request body is not a JSON object");
  CHECK(refusal(std::string(513, '[') + std::string(513, ']')) == over);
  // Refused before the parser: the nesting error wins over a syntax error earlier in the text.
  CHECK(refusal("x" + std::string(513, '[')) == over);
  SUBCASE("inside a real review, in a part answer_review() builds and in one it only parses") {
    for (bool kept : {true, false}) {
      CAPTURE(kept);
      auto body_nesting = [&](std::size_t levels) {
        const std::string nest = std::string(levels, '[') + std::string(levels, ']');
        return kept ? review_text(R"({"x":)" + nest + "}")
                    : review_text("{}", R"("properties":{"x":)" + nest + "},");
      };
      const std::size_t around = json_nesting_depth(body_nesting(100), 1000) - 100;
      CHECK(refusal(body_nesting(512 - around)).empty());
      CHECK(refusal(body_nesting(513 - around)) == over);
    }
  }
  SUBCASE("the limit is the operator's") {
    Options shallow;
    shallow.max_depth = 4;
    CHECK(refusal(review_text("{}"), shallow) == "request body nests JSON deeper than 4 levels");
    CHECK(refusal("[[[[]]]]", shallow) == "request body is not a JSON object");
  }
}
