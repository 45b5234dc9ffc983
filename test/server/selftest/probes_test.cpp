// Unit tests of selftest/probes: the requests selftest sends and how each answer is judged: the
// answer this binary gives passes every check, and each way a server can answer wrongly (another
// enforcement, a wrong uid, patch, status or warnings, no AdmissionReview, no answer) fails the
// check that names it, saying what came back.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "dsw/response.h"
#include "selftest/probes.h"

using namespace dsw;
using namespace dsw::selftest;
using nlohmann::json;

namespace {

std::vector<Probe> probes(const Options& o) {
  int n = 0;
  return admission_probes(o, [&n] { return "uid-" + std::to_string(++n); });
}

const Probe& find(const std::vector<Probe>& ps, const std::string& name) {
  for (const auto& p : ps)
    if (p.name == name) return p;
  FAIL("no probe " << name);
  return ps.front();
}

net::Response ok(std::string body) {
  net::Response r;
  r.status = 200;
  r.body = std::move(body);
  return r;
}

// The answer with its response edited by `edit`.
net::Response edited(const Probe& p, const std::function<void(json&)>& edit) {
  json a = json::parse(p.expected);
  edit(a["response"]);
  return ok(a.dump());
}

std::vector<std::string> failed(const std::vector<Check>& checks) {
  std::vector<std::string> out;
  for (const auto& c : checks)
    if (!c.ok) out.push_back(c.what + ": " + c.detail);
  return out;
}

bool all_ok(const std::vector<Check>& checks) { return failed(checks).empty(); }

const char* const kValidMutate = "POST /mutate (valid Application)";
const char* const kValidValidate = "POST /validate (valid Application)";
const char* const kInvalidMutate = "POST /mutate (invalid Application)";
const char* const kInvalidValidate = "POST /validate (invalid Application)";

}  // namespace

TEST_CASE("four reviews: the valid and the invalid Application, each to /mutate and /validate, each its own uid") {
  auto ps = probes(Options{});
  REQUIRE(ps.size() == 4);
  std::set<std::string> uids, names;
  for (const auto& p : ps) {
    uids.insert(p.uid);
    names.insert(p.name);
    json r = json::parse(p.body);
    CHECK(r["apiVersion"] == "admission.k8s.io/v1");
    CHECK(r["request"]["uid"] == p.uid);
    CHECK(r["request"]["operation"] == "CREATE");
    CHECK(r["request"]["dryRun"] == true);
    CHECK(r["request"]["object"]["spec"]["components"][0]["type"] == "aws-dynamodb-kro");
    CHECK(p.path == (p.endpoint == Endpoint::Mutate ? "/mutate" : "/validate"));
  }
  CHECK(uids.size() == 4);
  CHECK(names == std::set<std::string>{kValidMutate, kValidValidate, kInvalidMutate, kInvalidValidate});
}

TEST_CASE("the expected answers: the valid Application gets exactly the documented defaults, the invalid one its field error") {
  auto ps = probes(Options{});
  // the patch, decoded by the check itself (an answer equal to the expected one passes)
  CHECK(all_ok(judge(find(ps, kValidMutate), ok(find(ps, kValidMutate).expected))));
  auto checks = judge(find(ps, kValidMutate), ok(find(ps, kValidMutate).expected));
  bool saw = false;
  for (const auto& c : checks) {
    if (c.what == std::string(kValidMutate) + ": patch") {
      saw = true;
      // docs/rules.md "Defaults (mutating endpoint)": enabled true, viewType NEW_AND_OLD_IMAGES
      CHECK(c.detail ==
            R"(JSONPatch [{"op":"add","path":"/spec/components/0/traits/0/properties","value":{"enabled":true,"viewType":"NEW_AND_OLD_IMAGES"}}])");
    }
  }
  CHECK(saw);
  json denial = json::parse(find(ps, kInvalidValidate).expected)["response"];
  CHECK(denial["allowed"] == false);
  CHECK(denial["status"]["code"] == 422);
  CHECK(denial["status"]["details"]["causes"][0]["field"] == "spec.components[0].traits[0].properties.viewType");
  CHECK(json::parse(find(ps, kValidValidate).expected)["response"] == json{{"uid", "uid-2"}, {"allowed", true}});
}

TEST_CASE("the answers this binary gives pass every check, in both enforcements") {
  for (Enforcement e : {Enforcement::Deny, Enforcement::Warn}) {
    Options o;
    o.enforcement = e;
    for (const auto& p : probes(o)) {
      auto checks = judge(p, ok(p.expected));
      INFO(p.name);
      CHECK(failed(checks).empty());
      CHECK(checks.size() >= 3);
    }
  }
}

TEST_CASE("--applies-to: the Applications use its first component type, as the server must allow") {
  Options o;
  o.applies_to = {"my-table", "aws-dynamodb-kro"};
  for (const auto& p : probes(o))
    CHECK(json::parse(p.body)["request"]["object"]["spec"]["components"][0]["type"] == "my-table");
  // A server that does not allow the trait on that type answers otherwise: a check fails.
  Options server;
  server.applies_to = {"aws-dynamodb-kro"};
  auto ps = probes(o);
  const Probe& p = find(ps, kValidValidate);
  auto answer = answer_review(Endpoint::Validate, p.body, server);
  CHECK_FALSE(all_ok(judge(p, ok(answer.body))));
}

TEST_CASE("a server in the other enforcement fails the invalid /validate's verdict, saying which enforcement it seems to have") {
  Options deny, warn;
  warn.enforcement = Enforcement::Warn;
  auto denying = probes(deny), warning = probes(warn);
  const Probe& want_deny = find(denying, kInvalidValidate);
  const Probe& want_warn = find(warning, kInvalidValidate);
  // told deny, the server warns
  auto f = failed(judge(want_deny, ok(want_warn.expected)));
  REQUIRE(!f.empty());
  CHECK(f.front().find(std::string(kInvalidValidate) + ": verdict: expected denied, got allowed with the warning") == 0);
  CHECK(f.front().find("is the server's enforcement warn?") != std::string::npos);
  // told warn, the server denies
  f = failed(judge(want_warn, ok(want_deny.expected)));
  REQUIRE(!f.empty());
  CHECK(f.front().find(std::string(kInvalidValidate) + ": verdict: expected allowed, got denied: Application.core.oam.dev") == 0);
  CHECK(f.front().find("is the server's enforcement deny?") != std::string::npos);
  // the valid Application's answers are the same in both
  for (const char* name : {kValidMutate, kValidValidate, kInvalidMutate})
    CHECK(all_ok(judge(find(denying, name), ok(find(warning, name).expected))));
}

TEST_CASE("each wrong part of an answer fails its own check, with what came back") {
  auto ps = probes(Options{});
  const Probe& mutate = find(ps, kValidMutate);
  const Probe& validate = find(ps, kInvalidValidate);

  auto f = failed(judge(mutate, edited(mutate, [](json& r) { r["uid"] = "other"; })));
  CHECK(f == std::vector<std::string>{std::string(kValidMutate) + ": uid: expected \"uid-1\", got \"other\""});
  f = failed(judge(mutate, edited(mutate, [](json& r) { r.erase("uid"); })));
  CHECK(f == std::vector<std::string>{std::string(kValidMutate) + ": uid: expected \"uid-1\", got none"});

  const std::string other_patch = base64_encode(R"([{"op":"add","path":"/spec/x","value":1}])");
  f = failed(judge(mutate, edited(mutate, [&](json& r) { r["patch"] = other_patch; })));
  CHECK(f == std::vector<std::string>{std::string(kValidMutate) +
                                      R"(: patch: expected JSONPatch [{"op":"add","path":"/spec/components/0/traits/0/properties","value":{"enabled":true,"viewType":"NEW_AND_OLD_IMAGES"}}], got [{"op":"add","path":"/spec/x","value":1}])"});
  f = failed(judge(mutate, edited(mutate, [](json& r) { r.erase("patch"); r.erase("patchType"); })));
  REQUIRE(f.size() == 1);
  CHECK(f[0].find(": patch: expected JSONPatch [") != std::string::npos);
  CHECK(f[0].find("got no patch") != std::string::npos);
  f = failed(judge(mutate, edited(mutate, [](json& r) { r["patch"] = "not base64!"; })));
  CHECK(f == std::vector<std::string>{std::string(kValidMutate) + ": patch: patch is not base64: \"not base64!\""});
  f = failed(judge(mutate, edited(mutate, [](json& r) { r["patch"] = base64_encode("{nope"); })));
  CHECK(f == std::vector<std::string>{std::string(kValidMutate) + ": patch: patch is not JSON once decoded: {nope"});
  f = failed(judge(mutate, edited(mutate, [](json& r) { r["patchType"] = "JSONMergePatch"; })));
  CHECK(f == std::vector<std::string>{std::string(kValidMutate) + ": patch: patchType is \"JSONMergePatch\", not \"JSONPatch\""});
  // a patch where none is expected
  const Probe& vv = find(ps, kValidValidate);
  f = failed(judge(vv, edited(vv, [&](json& r) { r["patch"] = other_patch; r["patchType"] = "JSONPatch"; })));
  CHECK(f == std::vector<std::string>{std::string(kValidValidate) + R"(: patch: expected no patch, got [{"op":"add","path":"/spec/x","value":1}])"});

  // the denial's text, one character off
  f = failed(judge(validate, edited(validate, [](json& r) {
    std::string m = r["status"]["message"];
    r["status"]["message"] = m.substr(0, m.size() - 1);
  })));
  REQUIRE(f.size() == 1);
  CHECK(f[0].find(std::string(kInvalidValidate) + ": status: expected {\"code\":422") == 0);
  // a denial without causes
  f = failed(judge(validate, edited(validate, [](json& r) { r["status"].erase("details"); })));
  REQUIRE(f.size() == 1);
  CHECK(f[0].find(": status: expected ") != std::string::npos);
  // an extra warning
  f = failed(judge(vv, edited(vv, [](json& r) { r["warnings"] = json::array({"w"}); })));
  CHECK(f == std::vector<std::string>{std::string(kValidValidate) + R"(: warnings: expected no warnings, got the warning ["w"])"});
  // another review type
  f = failed(judge(vv, edited(vv, [](json&) {})));
  CHECK(f.empty());
  json v1beta1 = json::parse(vv.expected);
  v1beta1["apiVersion"] = "admission.k8s.io/v1beta1";
  f = failed(judge(vv, ok(v1beta1.dump())));
  CHECK(f == std::vector<std::string>{std::string(kValidValidate) +
                                      ": answer: HTTP 200 but apiVersion \"admission.k8s.io/v1beta1\", kind \"AdmissionReview\" (expected an admission.k8s.io/v1 AdmissionReview)"});
}

TEST_CASE("no AdmissionReview, or no answer at all: one failed check saying what came back") {
  auto ps = probes(Options{});
  const Probe& p = find(ps, kValidMutate);
  net::Response r;
  r.error = "cannot connect (127.0.0.1:1)";
  auto c = judge(p, r);
  REQUIRE(c.size() == 1);
  CHECK_FALSE(c[0].ok);
  CHECK(c[0].what == std::string(kValidMutate) + ": answer");
  CHECK(c[0].detail == "no answer: cannot connect (127.0.0.1:1)");

  r = net::Response{};
  r.status = 404;
  r.body = "404 page not found\n";
  c = judge(p, r);
  REQUIRE(c.size() == 1);
  CHECK(c[0].detail == "HTTP 404 instead of 200 with an AdmissionReview: 404 page not found ");

  c = judge(p, ok("<html>hello</html>"));
  REQUIRE(c.size() == 1);
  CHECK(c[0].detail == "HTTP 200 but not an AdmissionReview answer: <html>hello</html>");
  c = judge(p, ok("{\"kind\":\"AdmissionReview\"}"));
  REQUIRE(c.size() == 1);
  CHECK_FALSE(c[0].ok);
  c = judge(p, ok(""));
  REQUIRE(c.size() == 1);
  CHECK(c[0].detail == "HTTP 200 but not an AdmissionReview answer: (empty body)");
  // a long body is cut, on one line
  c = judge(p, ok(std::string(5000, 'x') + "\n"));
  REQUIRE(c.size() == 1);
  CHECK(c[0].detail.size() < 1100);
  CHECK(c[0].detail.find('\n') == std::string::npos);
}

TEST_CASE("GET /readyz: 200 passes; anything else fails saying what came back") {
  net::Response r;
  r.status = 200;
  CHECK(judge_readyz(r).ok);
  CHECK(judge_readyz(r).what == "GET /readyz");
  r.status = 503;
  r.body = "shutting down";
  CHECK_FALSE(judge_readyz(r).ok);
  CHECK(judge_readyz(r).detail == "HTTP 503 instead of 200: shutting down");
  r = net::Response{};
  r.error = "the server's certificate was refused: unable to get local issuer certificate";
  CHECK(judge_readyz(r).detail == "no answer: the server's certificate was refused: unable to get local issuer certificate");
}

TEST_CASE("uids are random version 4 UUIDs") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string u = random_uid();
    REQUIRE(u.size() == 36);
    CHECK(u[8] == '-');
    CHECK(u[14] == '4');
    CHECK(std::string("89ab").find(u[19]) != std::string::npos);
    seen.insert(u);
  }
  CHECK(seen.size() == 100);
}
