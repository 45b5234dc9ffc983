// Response invariants and encoding.
#include "test_support.h"

using namespace dsw;
using namespace dsw::testing;

TEST_CASE("base64 is standard, padded") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("a patch and its patchType go together; an empty patch is a plain allow") {
  Patch p;
  json a = json::parse(Response::Patched(p).encode("admission.k8s.io/v1", "u"));
  CHECK(a["response"] == json{{"uid", "u"}, {"allowed", true}});
  p.add(Pointer().child("a"), 1);
  json b = json::parse(Response::Patched(p).encode("admission.k8s.io/v1", "u"));
  CHECK(b["response"]["patchType"] == "JSONPatch");
  CHECK(base64_decode(b["response"]["patch"]) == R"([{"op":"add","path":"/a","value":1}])");
}

TEST_CASE("a denial always carries a message") {
  json d = json::parse(Response::Denied("").encode("admission.k8s.io/v1", "u"));
  CHECK(d["response"]["allowed"] == false);
  CHECK_FALSE(d["response"]["status"]["message"].get<std::string>().empty());
  json e = json::parse(Response::Errored(500, "").encode("admission.k8s.io/v1", "u"));
  CHECK_FALSE(e["response"]["status"]["message"].get<std::string>().empty());
  CHECK(e["response"]["status"]["code"] == 500);
}

TEST_CASE("Invalid with repeated errors lists each message once") {
  field::Path p = field::Path::root("spec");
  field::ErrorList errs{field::forbidden(p, "x"), field::forbidden(p, "x")};
  json s = json::parse(Response::Invalid("core.oam.dev", "Application", "n", errs)
                           .encode("admission.k8s.io/v1", "u"))["response"]["status"];
  CHECK(s["message"] == "Application.core.oam.dev \"n\" is invalid: spec: Forbidden: x");
  CHECK(s["details"]["causes"].size() == 2);
}

TEST_CASE("uids and messages are JSON-escaped") {
  std::string uid = "a\"b\\c\n\x01";
  json a = json::parse(Response::Allowed().encode("admission.k8s.io/v1", uid));
  CHECK(a["response"]["uid"] == uid);
  std::string out;
  append_json_string(out, "\xff");
  CHECK(out == "\"\\ufffd\"");
}

TEST_CASE("warnings: one line, no control characters, at most 256 bytes") {
  CHECK(sanitize_warning("a\nb\tc\x7f") == "a b c ");
  CHECK(sanitize_warning("x\xc2\x85y") == "x y");
  CHECK(sanitize_warning("bad\xffutf8") == "bad\xef\xbf\xbdutf8");
  std::string longw(300, 'w');
  std::string s = sanitize_warning(longw);
  CHECK(s.size() == 256);
  CHECK(s.substr(253) == "...");
  std::string uni;
  for (int i = 0; i < 200; ++i) uni += "\xc3\xa9";  // 400 bytes of 2-byte characters
  std::string u = sanitize_warning(uni);
  CHECK(u.size() <= 256);
  CHECK(u.substr(u.size() - 3) == "...");
  CHECK(json::parse(json(u).dump()) == u);  // still valid UTF-8
}

TEST_CASE("JSON pointers escape ~ and /") {
  CHECK(Pointer().child("a/b").child("c~d").index(3).str() == "/a~1b/c~0d/3");
}
