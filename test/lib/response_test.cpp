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

TEST_CASE("Warned: an Invalid denial becomes an allowed answer warning with each cause") {
  field::Path p = field::Path::root("spec");
  field::ErrorList errs{field::forbidden(p.child("a"), "x"), field::required(p.child("b"), "y"),
                        field::forbidden(p.child("a"), "x")};
  Response denial = Response::Invalid("core.oam.dev", "Application", "n", errs);
  denial.with_warnings({"spec.c: ignored"});
  Response w = Response::Warned(denial);
  CHECK(w.allowed());
  CHECK(w.verdict() == Verdict::Warned);
  CHECK_FALSE(w.status());
  CHECK_FALSE(w.patch());
  // The field error strings in the order of the causes (repeats kept, as the causes keep
  // them), then the warnings the denial carried.
  CHECK(w.warnings() == std::vector<std::string>{"spec.a: Forbidden: x", "spec.b: Required value: y",
                                                 "spec.a: Forbidden: x", "spec.c: ignored"});
  json r = json::parse(w.encode("admission.k8s.io/v1", "u"))["response"];
  CHECK(r == json{{"uid", "u"},
                  {"allowed", true},
                  {"warnings", {"spec.a: Forbidden: x", "spec.b: Required value: y",
                                "spec.a: Forbidden: x", "spec.c: ignored"}}});
}

TEST_CASE("Warned: a plain 403 denial warns with its message; other answers are unchanged") {
  Response w = Response::Warned(Response::Denied("no streams on\nSundays"));
  CHECK(w.allowed());
  CHECK(w.verdict() == Verdict::Warned);
  CHECK(w.warnings() == std::vector<std::string>{"no streams on Sundays"});

  for (const Response& r : {Response::Errored(400, "bad"), Response::Errored(500, "broken")}) {
    Response same = Response::Warned(r);
    CHECK_FALSE(same.allowed());
    CHECK(same.verdict() == Verdict::Error);
    CHECK(same.encode("v1", "u") == r.encode("v1", "u"));
  }
  Response allowed = Response::Allowed();
  allowed.with_warnings({"w"});
  CHECK(Response::Warned(allowed).encode("v1", "u") == allowed.encode("v1", "u"));
  CHECK(Response::Warned(allowed).verdict() == Verdict::Allowed);
  Patch p;
  p.add(Pointer().child("a"), 1);
  Response patched = Response::Warned(Response::Patched(p));
  CHECK(patched.patch());
  CHECK(patched.verdict() == Verdict::Patched);
}

TEST_CASE("Warned: a long field error is cut to one warning of at most 256 bytes") {
  field::ErrorList errs{field::forbidden(field::Path::root("spec"), std::string(400, 'x') + "\nz")};
  Response w = Response::Warned(Response::Invalid("g", "K", "n", errs));
  REQUIRE(w.warnings().size() == 1);
  CHECK(w.warnings()[0].size() == 256);
  CHECK(w.warnings()[0].rfind("spec: Forbidden: xxx", 0) == 0);
  CHECK(w.warnings()[0].substr(253) == "...");
  CHECK(w.warnings()[0] == sanitize_warning(errs[0].to_string()));
}

TEST_CASE("Warned: at most 20 warnings, the 20th counting the ones left out") {
  auto errors = [](std::size_t n) {
    field::ErrorList errs;
    for (std::size_t i = 0; i < n; ++i)
      errs.push_back(field::forbidden(field::Path::root("spec").index(i), "x"));
    return errs;
  };
  Response exactly = Response::Warned(Response::Invalid("g", "K", "n", errors(20)));
  REQUIRE(exactly.warnings().size() == 20);
  CHECK(exactly.warnings()[19] == "spec[19]: Forbidden: x");

  Response over = Response::Warned(Response::Invalid("g", "K", "n", errors(26)));
  REQUIRE(over.warnings().size() == kMaxWarnings);
  CHECK(over.warnings()[18] == "spec[18]: Forbidden: x");
  CHECK(over.warnings()[19] == "... and 7 more warnings");

  // The would-be denials come first; the ordinary warnings are the ones cut.
  Response mixed = Response::Invalid("g", "K", "n", errors(19));
  mixed.with_warnings({"w1", "w2"});
  Response m = Response::Warned(mixed);
  REQUIRE(m.warnings().size() == 20);
  CHECK(m.warnings()[18] == "spec[18]: Forbidden: x");
  CHECK(m.warnings()[19] == "... and 2 more warnings");

  std::vector<std::string> few{"a", "b"};
  cap_warnings(few);
  CHECK(few == std::vector<std::string>{"a", "b"});
  std::vector<std::string> many(21, "w");
  cap_warnings(many);
  CHECK(many.size() == 20);
  CHECK(many.back() == "... and 2 more warnings");
}

TEST_CASE("each named constructor sets the verdict the metrics and logs report") {
  CHECK(Response::Allowed().verdict() == Verdict::Allowed);
  CHECK(Response::Denied("no").verdict() == Verdict::Denied);
  CHECK(Response::Invalid("g", "K", "n", {field::required(field::Path::root("spec"), "")})
            .verdict() == Verdict::Denied);
  CHECK(Response::Errored(400, "bad").verdict() == Verdict::Error);
  CHECK(Response::Errored(500, "broken").verdict() == Verdict::Error);
  CHECK(Response::Patched(Patch()).verdict() == Verdict::Allowed);  // nothing to patch
  Patch p;
  p.add(Pointer().child("a"), 1);
  CHECK(Response::Patched(p).verdict() == Verdict::Patched);
  CHECK(to_string(Verdict::Warned) == "warned");
}
