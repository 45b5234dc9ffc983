// dsw::serve() reads reviews with RapidJSON and builds only what the admission logic reads
// (lib/src/review_fast.cpp). Its answers must be byte for byte those of the plain path:
// decode_review() (nlohmann, whole document) + handle() + encode(). Checked here on the
// inputs where the two parsers differ or where pruning could change something, and on every
// file of the fuzzing corpora when they are present.
#include <filesystem>

#include "test_support.h"

using namespace dsw;
using namespace dsw::testing;

namespace {

struct Answer {
  int status;
  std::string body;
};

Answer reference(Endpoint endpoint, std::string_view body, const Options& options) {
  auto decoded = decode_review(body, options);
  if (auto* err = std::get_if<DecodeError>(&decoded)) return {400, err->message};
  const Request& req = std::get<Request>(decoded);
  return {200, handle(endpoint, req, options).encode(req.api_version, req.uid)};
}

void check_same(std::string_view body, const Options& options = {}) {
  for (Endpoint e : {Endpoint::Mutate, Endpoint::Validate}) {
    CAPTURE(to_string(e));
    Outcome got = serve(e, body, options);
    Answer want = reference(e, body, options);
    CHECK(got.http_status == want.status);
    CHECK(got.body == want.body);
  }
}

// A review with `app_text` spliced in as request.object, and `extra` as more request members.
std::string review_text(const std::string& app_text, const std::string& extra = "") {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{)"
         R"("uid":"u-1","kind":{"group":"core.oam.dev","version":"v1beta1","kind":"Application"},)"
         R"("operation":"CREATE","name":"app","namespace":"ns",)" +
         extra + R"("object":)" + app_text + "}}";
}

std::string app_with_trait(const std::string& props, const std::string& component_extra = "") {
  return R"({"metadata":{"name":"app"},"spec":{"components":[{"name":"t","type":"aws-dynamodb-kro",)" +
         component_extra + R"("traits":[{"type":"dynamodb-streams-kro","properties":)" + props +
         "}]}]}}";
}

}  // namespace

TEST_CASE("fast reader: ordinary reviews answer as the plain path") {
  check_same(review("CREATE", application({table("user-table", {streams_trait()})})).dump());
  check_same(review("CREATE", application({table("t", {streams_trait({{"viewType", "NEW"}, {"x", 1}})})})).dump());
  check_same(review("CREATE", application({table("t", {streams_trait()}, "webservice")})).dump(2));
}

TEST_CASE("fast reader: strings RapidJSON takes and nlohmann refuses go to the plain path") {
  for (const std::string& bad : std::vector<std::string>{"\\udc00", "\\udfff", "\xed\xa0\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80",
                          "\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\x80",
                          "\xc3", "\xe2\x82", "\\ud800", "\\ud800\\u0041"}) {
    CAPTURE(bad);
    check_same(review_text(app_with_trait("{}"), R"("userInfo":{"username":")" + bad + R"("},)"));
    check_same(review_text(app_with_trait(R"({"viewType":")" + bad + R"("})")));
    check_same(review_text(app_with_trait("{}", R"("properties":{")" + bad + R"(":1},)")));
  }
}

TEST_CASE("fast reader: valid unicode and escapes are kept as they are") {
  for (const std::string& ok : std::vector<std::string>{"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
                         "\\u00e9", "\\ud83d\\ude00", "\\u0000", "\\\"\\\\\\/\\b\\f\\n\\r\\t"}) {
    CAPTURE(ok);
    check_same(review_text(app_with_trait(R"({"viewType":")" + ok + R"("})")));
    check_same(review_text(app_with_trait(R"({")" + ok + R"(":true})")));
  }
}

TEST_CASE("fast reader: numbers convert exactly as nlohmann's, and out of range is refused alike") {
  for (const std::string& n : std::vector<std::string>{"0", "-0", "1", "-1", "1.5", "-0.0", "1e2", "1E-2", "9223372036854775807",
                        "9223372036854775808", "18446744073709551615", "18446744073709551616",
                        "-9223372036854775809", "1e308", "1e309", "-1e400", "1e-400",
                        "123456789012345678901234567890", std::string(400, '9')}) {
    CAPTURE(n);
    check_same(review_text(app_with_trait(R"({"enabled":)" + n + "}")));
    check_same(review_text(app_with_trait(R"({"viewType":)" + n + "}")));
    check_same(review_text(app_with_trait("{}", R"("properties":{"size":)" + n + "},")));
    check_same(review_text(app_with_trait("{}"), R"("options":{"n":)" + n + "},"));
  }
}

TEST_CASE("fast reader: duplicate keys keep the last value, as nlohmann does") {
  std::string app = app_with_trait("{}");
  check_same(review_text(app, R"("uid":"first",)"));
  check_same(review_text(app, R"("object":{"spec":{}},)"));
  check_same(review_text(app_with_trait(R"({"viewType":"KEYS_ONLY","viewType":"NEW"})")));
  check_same(review_text(app_with_trait(R"({"enabled":false,"enabled":null})")));
  check_same(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"a"},)"
             R"("request":)" + review_text(app).substr(review_text(app).find("{\"uid\"")));
}

TEST_CASE("fast reader: shapes the logic does not expect") {
  check_same(review_text(R"({"metadata":[],"spec":{"components":{"a":{"traits":[]}}}})"));
  check_same(review_text(R"({"spec":{"components":[1,"x",null,[],{"traits":{"type":"dynamodb-streams-kro"}}]}})"));
  check_same(review_text(R"([{"spec":1}])"));
  check_same(review_text(R"("text")"));
  check_same(review_text(app_with_trait("{}"), R"("object":null,)"));
  check_same(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":[]})");
  check_same(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})");
  check_same(R"([1,2])");
  check_same("null");
}

TEST_CASE("fast reader: text that is not JSON gets the plain path's message") {
  std::string good = review_text(app_with_trait("{}"));
  for (const std::string& bad : std::vector<std::string>{std::string(), std::string(" "), good + "x", good + "}", good.substr(0, 50),
                          std::string("{\"a\":1,}"), std::string("[1,]"), std::string("{'a':1}"),
                          std::string("01"), std::string("1."), std::string(".5"), std::string("-"),
                          std::string("NaN"), std::string("{\"a\":\"\t\"}"), std::string("/*c*/{}"),
                          good + std::string(1, '\0') + "x", std::string("\xef\xbb\xbf") + good}) {
    CAPTURE(bad);
    check_same(bad);
  }
  Options shallow;
  shallow.max_depth = 4;
  check_same(good, shallow);
}

TEST_CASE("fast reader: every fuzzing corpus file answers as the plain path") {
  namespace fs = std::filesystem;
  fs::path root = fs::path(DSW_SOURCE_DIR) / "fuzz" / "corpus";
  std::size_t files = 0;
  for (const char* dir : {"decode_review", "serve", "application"}) {
    if (!fs::is_directory(root / dir)) continue;
    for (const auto& entry : fs::directory_iterator(root / dir)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      CAPTURE(entry.path().string());
      check_same(body);
      ++files;
    }
  }
  MESSAGE("corpus files compared: " << files);
}
