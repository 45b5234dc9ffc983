// Unit tests of audit/report: the documents (Report and PolicyReport), their parts when the
// results do not fit, part names and which names are the audit's own.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/report.h"

using namespace dsw::audit;
using dsw::ObjectKind;
using ojson = nlohmann::ordered_json;

namespace {

Judged object(const std::string& name, std::vector<Finding> findings,
              ObjectKind kind = ObjectKind::Application) {
  Judged j;
  j.kind = kind;
  j.api_version = kind == ObjectKind::Application ? "core.oam.dev/v1beta1" : "kro.run/v1alpha1";
  j.namespace_ = "team-a";
  j.name = name;
  j.uid = "uid-" + name;
  j.findings = std::move(findings);
  return j;
}

Finding fail(std::string message) {
  return {Result::Fail, std::move(message), "spec.x", "FieldValueInvalid"};
}

std::size_t compact(const ojson& j) { return j.dump().size(); }

}  // namespace

TEST_CASE("a Report: labelled, with source, a summary of its results and one result per finding") {
  ReportSettings s;
  s.timestamp = {1700000000, 5};
  std::vector<Judged> objs = {
      object("a", {{Result::Pass, "", "", ""}}),
      object("b", {fail("spec.x: Invalid value: 1: no"), {Result::Warn, "careful", "", ""}}),
      object("t", {{Result::Error, "too deep", "", ""}}, ObjectKind::KroTable)};
  objs[0].defaults = R"([{"op":"add","path":"/spec/x","value":1}])";
  auto docs = build_reports("team-a", objs, s);
  REQUIRE(docs.size() == 1);
  const ojson& d = docs[0];
  CHECK(d["apiVersion"] == "openreports.io/v1alpha1");
  CHECK(d["kind"] == "Report");
  CHECK(d["metadata"]["name"] == "dynamodb-streams-webhook");
  CHECK(d["metadata"]["namespace"] == "team-a");
  CHECK(d["metadata"]["labels"] == ojson{{"app.kubernetes.io/managed-by", "dynamodb-streams-webhook"}});
  CHECK(d["source"] == "dynamodb-streams-webhook");
  CHECK(d["summary"] == ojson{{"pass", 1}, {"fail", 1}, {"warn", 1}, {"error", 1}, {"skip", 0}});
  REQUIRE(d["results"].size() == 4);
  const ojson& pass = d["results"][0];
  CHECK(pass["result"] == "pass");
  CHECK_FALSE(pass.contains("message"));
  CHECK_FALSE(pass.contains("severity"));
  CHECK(pass["policy"] == "dynamodb-streams-kro");
  CHECK(pass["rule"] == "streams-trait");
  CHECK(pass["category"] == "DynamoDB Streams");
  CHECK(pass["source"] == "dynamodb-streams-webhook");
  CHECK(pass["timestamp"] == ojson{{"seconds", 1700000000}, {"nanos", 5}});
  CHECK(pass["resources"] == ojson::parse(R"([{"apiVersion":"core.oam.dev/v1beta1","kind":"Application","namespace":"team-a","name":"a","uid":"uid-a"}])"));
  CHECK(pass["properties"]["defaults"] == objs[0].defaults);
  const ojson& f = d["results"][1];
  CHECK(f["result"] == "fail");
  CHECK(f["severity"] == "high");
  CHECK(f["message"] == "spec.x: Invalid value: 1: no");
  CHECK(f["properties"] == ojson{{"field", "spec.x"}, {"reason", "FieldValueInvalid"}});
  CHECK(d["results"][2]["severity"] == "low");
  const ojson& e = d["results"][3];
  CHECK(e["severity"] == "medium");
  CHECK(e["policy"] == "kro-dynamodbtable-stream");
  CHECK(e["rule"] == "stream-fields");
  CHECK(e["resources"][0]["kind"] == "DynamoDBTable");
}

TEST_CASE("a PolicyReport has the same content but no top-level source") {
  ReportSettings s;
  s.kind = ReportKind::PolicyReport;
  s.name = "audit";
  auto docs = build_reports("ns", {object("a", {fail("x: y")})}, s);
  REQUIRE(docs.size() == 1);
  CHECK(docs[0]["apiVersion"] == "wgpolicyk8s.io/v1alpha2");
  CHECK(docs[0]["kind"] == "PolicyReport");
  CHECK(docs[0]["metadata"]["name"] == "audit");
  CHECK_FALSE(docs[0].contains("source"));
  CHECK(docs[0]["results"][0]["source"] == "dynamodb-streams-webhook");
}

TEST_CASE("without a namespace (check on manifests) there is no metadata.namespace nor one in resources") {
  Judged j = object("a", {{Result::Pass, "", "", ""}});
  j.namespace_.clear();
  j.uid.clear();
  auto docs = build_reports("", {j}, ReportSettings{});
  CHECK_FALSE(docs[0]["metadata"].contains("namespace"));
  CHECK_FALSE(docs[0]["results"][0]["resources"][0].contains("namespace"));
  CHECK_FALSE(docs[0]["results"][0]["resources"][0].contains("uid"));
}

TEST_CASE("results that do not fit make numbered parts, each within the budget, objects kept together") {
  ReportSettings s;
  s.max_bytes = kMinReportBytes;
  std::vector<Judged> objs;
  for (int i = 0; i < 300; ++i) {
    objs.push_back(object("app-" + std::to_string(i),
                          {fail("spec.components[0].traits[0].properties.viewType: Unsupported value: \"NEW\""),
                           {Result::Warn, std::string(100, 'w'), "", ""}}));
  }
  auto docs = build_reports("team-a", objs, s);
  REQUIRE(docs.size() > 3);
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    CHECK(docs[i]["metadata"]["name"] == part_name("dynamodb-streams-webhook", i));
    CHECK(compact(docs[i]) <= s.max_bytes);
    std::size_t fails = 0, warns = 0;
    for (const auto& r : docs[i]["results"]) {
      (r["result"] == "fail" ? fails : warns)++;
      seen.push_back(r["resources"][0]["name"].get<std::string>());
    }
    CHECK(docs[i]["summary"]["fail"] == fails);
    CHECK(docs[i]["summary"]["warn"] == warns);
    CHECK(fails == warns);  // an object's two results are never split
  }
  REQUIRE(seen.size() == 600);
  for (int i = 0; i < 300; ++i) {
    CHECK(seen[2 * i] == "app-" + std::to_string(i));
    CHECK(seen[2 * i + 1] == "app-" + std::to_string(i));
  }
}

TEST_CASE("an object whose results alone exceed the budget is split across parts") {
  ReportSettings s;
  s.max_bytes = kMinReportBytes;
  std::vector<Finding> many;
  for (int i = 0; i < 200; ++i) many.push_back(fail("spec.x[" + std::to_string(i) + "]: " + std::string(200, 'e')));
  auto docs = build_reports("ns", {object("huge", many)}, s);
  REQUIRE(docs.size() > 1);
  std::size_t total = 0;
  for (const auto& d : docs) {
    CHECK(compact(d) <= s.max_bytes);
    total += d["results"].size();
  }
  CHECK(total == 200);
}

TEST_CASE("part names and which names are the audit's own") {
  CHECK(part_name("r", 0) == "r");
  CHECK(part_name("r", 1) == "r-2");
  CHECK(part_name("r", 9) == "r-10");
  CHECK(is_part_name("r", "r"));
  CHECK(is_part_name("r", "r-2"));
  CHECK(is_part_name("r", "r-10"));
  CHECK(is_part_name("r", "r-999999"));
  CHECK_FALSE(is_part_name("r", "r-1"));
  CHECK_FALSE(is_part_name("r", "r-02"));
  CHECK_FALSE(is_part_name("r", "r-0"));
  CHECK_FALSE(is_part_name("r", "r-"));
  CHECK_FALSE(is_part_name("r", "r-2a"));
  CHECK_FALSE(is_part_name("r", "r-1000000"));
  CHECK_FALSE(is_part_name("r", "rr"));
  CHECK_FALSE(is_part_name("r", "other"));
  CHECK_FALSE(is_part_name("r-2", "r"));
}

TEST_CASE("report names are RFC 1123 subdomains with room for part numbers") {
  std::string why;
  CHECK(valid_report_name("dynamodb-streams-webhook", why));
  CHECK(valid_report_name("a.b-c", why));
  CHECK(valid_report_name(std::string(246, 'a'), why));
  CHECK_FALSE(valid_report_name(std::string(247, 'a'), why));
  CHECK_FALSE(valid_report_name("", why));
  CHECK_FALSE(valid_report_name("Upper", why));
  CHECK_FALSE(valid_report_name("-a", why));
  CHECK_FALSE(valid_report_name("a-", why));
  CHECK_FALSE(valid_report_name("a..b", why));
  CHECK_FALSE(valid_report_name("a_b", why));
  CHECK_FALSE(valid_report_name("a.-b", why));
}

TEST_CASE("report kinds") {
  ReportKind k;
  CHECK(parse_report_kind("report", k));
  CHECK(k == ReportKind::Report);
  CHECK(parse_report_kind("policyreport", k));
  CHECK(k == ReportKind::PolicyReport);
  CHECK_FALSE(parse_report_kind("Report", k));
  CHECK(resource_of(ReportKind::Report).qualified() == "reports.openreports.io");
  CHECK(resource_of(ReportKind::PolicyReport).qualified() == "policyreports.wgpolicyk8s.io");
  CHECK(crd_of(ReportKind::Report).find("reports.openreports.io") == 0);
}
