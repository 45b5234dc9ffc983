// What the review reader (lib/src/review_reader.cpp) builds: dsw::answer_review() builds only the parts
// of a review the admission logic reads (admission_reads.cpp), decode_review() the whole
// document, and both store values exactly as nlohmann's own parser does. What it refuses, and
// with which message, is in review_refusals_test.cpp.
#include <filesystem>

#include "review_internal.h"
#include "test_support.h"

using namespace dsw;
using namespace dsw::testing;

namespace {

// The Request answer_review() works on: only what the admission logic reads is built.
Request read_for_admission(std::string_view body) {
  DecodeResult r = detail::read_review(body, Options{}, detail::admission_reads());
  if (const auto* e = std::get_if<DecodeError>(&r)) FAIL("refused: " << e->message);
  return std::get<Request>(std::move(r));
}

Request decode_whole(std::string_view body) {
  DecodeResult r = decode_review(body, Options{});
  if (const auto* e = std::get_if<DecodeError>(&r)) FAIL("refused: " << e->message);
  return std::get<Request>(std::move(r));
}

// A review around `object_text` (and `old_text` as oldObject, when given), with the members an
// apiserver sends that the admission logic does not read.
std::string review_text(const std::string& object_text, const std::string& old_text = "") {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{)"
         R"("uid":"u-1","kind":{"group":"core.oam.dev","version":"v1beta1","kind":"Application"},)"
         R"("resource":{"group":"core.oam.dev","version":"v1beta1","resource":"applications"},)"
         R"("operation":"UPDATE","name":"app","namespace":"ns","dryRun":true,)"
         R"("userInfo":{"username":"alice","groups":["system:masters"]},)"
         R"("options":{"kind":"UpdateOptions"},"object":)" +
         object_text + (old_text.empty() ? "" : R"(,"oldObject":)" + old_text) + "}}";
}

// An Application with members the admission logic reads and members it does not.
const std::string kApp =
    R"({"apiVersion":"core.oam.dev/v1beta1","kind":"Application",)"
    R"("metadata":{"name":"app","namespace":"ns","labels":{"team":"a"},"annotations":{"x":"y"}},)"
    R"("spec":{"components":[)"
    R"({"name":"t","type":"aws-dynamodb-kro","properties":{"tableName":"t","keys":[1,2.5,-3]},)"
    R"("dependsOn":["u"],"traits":[{"type":"dynamodb-streams-kro","properties":{"viewType":"NEW_IMAGE"}}]},)"
    R"({"name":"w","type":"webservice","properties":{"image":"nginx"}}],)"
    R"("policies":[{"name":"p","type":"override","properties":{"components":[{"name":"t"}]}}],)"
    R"("workflow":{"steps":[{"name":"s","type":"deploy"}]}},"status":{"phase":"running"}})";

const json kAppAsAdmissionReadsIt = json::parse(
    R"({"metadata":{"name":"app"},"spec":{"components":[)"
    R"({"name":"t","type":"aws-dynamodb-kro",)"
    R"("traits":[{"type":"dynamodb-streams-kro","properties":{"viewType":"NEW_IMAGE"}}]},)"
    R"({"name":"w","type":"webservice"}],)"
    R"("policies":[{"name":"p","type":"override","properties":{"components":[{"name":"t"}]}}]}})");

}  // namespace

TEST_CASE("answer_review()'s reader builds only what the admission logic reads") {
  Request r = read_for_admission(review_text(kApp, kApp));
  CHECK(r.api_version == "admission.k8s.io/v1");
  CHECK(r.uid == "u-1");
  CHECK(r.kind.group == "core.oam.dev");
  CHECK(r.kind.version == "v1beta1");
  CHECK(r.kind.kind == "Application");
  CHECK(r.operation == "UPDATE");
  CHECK(r.name == "app");
  CHECK(r.namespace_ == "ns");
  CHECK(r.dry_run);
  // Component properties, dependsOn, workflow, status, labels: parsed, not built.
  CHECK(r.object == kAppAsAdmissionReadsIt);
  CHECK(r.old_object == kAppAsAdmissionReadsIt);
}

TEST_CASE("decode_review() builds the whole document, as json::parse() does") {
  const std::string body = review_text(kApp, R"({"metadata":{"name":"old"},"spec":{}})");
  Request r = decode_whole(body);
  const json doc = json::parse(body);
  CHECK(r.object == doc["request"]["object"]);
  CHECK(r.old_object == doc["request"]["oldObject"]);
  CHECK(r.uid == "u-1");

  SUBCASE("values of every type, stored as nlohmann stores them") {
    const std::string values =
        R"({"i":-9223372036854775808,"u":18446744073709551615,"big":18446744073709551616,)"
        R"("f":1.5,"negzero":-0.0,"exp":1E-2,"tiny":1e-400,"t":true,"n":null,"s":"\u00e9\ud83d\ude00\"\\\/",)"
        R"("empty":{},"list":[],"nested":[[[]],[{}]],"utf8":"h\u00e9llo \u20ac"})";
    Request v = decode_whole(review_text(values));
    const json want = json::parse(values);
    CHECK(v.object == want);
    CHECK(v.object.dump() == want.dump());  // the same types too: 1.5 stays a float, -0.0 keeps its sign
    CHECK(v.object["u"].is_number_unsigned());
    CHECK(v.object["i"].is_number_integer());
    CHECK(v.object["big"].is_number_float());
    CHECK(v.object["s"].get<std::string>() == "\xc3\xa9\xf0\x9f\x98\x80\"\\/");
  }
}

TEST_CASE("a duplicate key keeps its last value, as json::parse() does") {
  const std::string app = R"({"metadata":{"name":"first","name":"last"},"spec":{"components":[)"
                          R"({"name":"t","type":"x","traits":[{"type":"a"}],"traits":null,"type":"y"}]}})";
  SUBCASE("in kept members, whatever the types of the two values") {
    for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
             {app, R"({"metadata":{"name":"last"},"spec":{"components":[{"name":"t","type":"y","traits":null}]}})"},
             {R"({"spec":{"components":[{"name":"a"}]},"spec":{"policies":[]}})", R"({"spec":{"policies":[]}})"},
             {R"({"spec":1,"spec":{"components":[]}})", R"({"spec":{"components":[]}})"},
             {R"({"spec":{"components":[]},"spec":"text"})", R"({"spec":"text"})"}}) {
      CAPTURE(text);
      CHECK(read_for_admission(review_text(text)).object == json::parse(want));
      CHECK(decode_whole(review_text(text)).object == json::parse(text));
    }
  }
  SUBCASE("the review's own members") {
    const std::string body = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",)"
                             R"("request":{"uid":"first","object":{"metadata":{"name":"a"}}},)"
                             R"("request":{"uid":"a","uid":"b","operation":"DELETE"}})";
    for (const Request& r : {read_for_admission(body), decode_whole(body)}) {
      CHECK(r.uid == "b");
      CHECK(r.operation == "DELETE");
      CHECK(r.object.is_null());  // the whole first request is replaced, object and all
    }
  }
}

TEST_CASE("values in shapes the admission logic does not expect are built whole") {
  // An array where members are expected, an object where elements are: the logic then sees
  // exactly what the text holds, and answers as with the whole document.
  for (const std::string& object : std::vector<std::string>{
           R"([{"metadata":{"name":"a","x":1},"spec":{"y":2}}])",
           R"({"metadata":[{"name":"a","x":1}],"spec":{"components":{"a":{"properties":{}}}}})",
           R"({"spec":{"components":[1,"x",null,[{"properties":{}}],{"name":"c","properties":2}]}})",
           R"("text")", "null", "17"}) {
    CAPTURE(object);
    json want = json::parse(object);
    if (want.is_object() && want["spec"]["components"].is_array())
      want["spec"]["components"][4].erase("properties");  // a component object: pruned as usual
    CHECK(read_for_admission(review_text(object)).object == want);
  }
  SUBCASE("the review itself") {
    CHECK(std::get<DecodeError>(detail::read_review(R"([{"request":{}}])", Options{},
                                                     detail::admission_reads()))
              .message == "request body is not a JSON object");
    CHECK(std::get<DecodeError>(detail::read_review(
                                    R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":[1]})",
                                    Options{}, detail::admission_reads()))
              .message == "AdmissionReview has no request");
  }
}

TEST_CASE("answer_review() answers as handle(decode_review()) on every fixture and corpus file") {
  // The contract of building less: the answer is the one the whole document gives. A rule
  // reading a field that admission_reads.cpp does not list fails here (and in the fuzzer).
  namespace fs = std::filesystem;
  const fs::path root(DSW_SOURCE_DIR);
  std::size_t files = 0;
  for (const fs::path& dir : {root / "fuzz" / "corpus" / "serve", root / "fuzz" / "corpus" / "decode_review",
                             root / "fuzz" / "regressions" / "serve", root / "test" / "fixtures" / "reviews"}) {
    REQUIRE(fs::is_directory(dir));
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::ifstream in(entry.path(), std::ios::binary);
      const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      CAPTURE(entry.path().string());
      const DecodeResult whole = decode_review(body, Options{});
      for (Endpoint e : {Endpoint::Mutate, Endpoint::Validate}) {
        const Outcome got = answer_review(e, body, Options{});
        if (const auto* err = std::get_if<DecodeError>(&whole)) {
          CHECK(got.http_status == 400);
          CHECK(got.body == err->message);
        } else {
          const Request& req = std::get<Request>(whole);
          CHECK(got.http_status == 200);
          CHECK(got.body == handle(e, req, Options{}).encode(req.api_version, req.uid));
        }
      }
      ++files;
    }
  }
  CHECK(files > 50);
}
