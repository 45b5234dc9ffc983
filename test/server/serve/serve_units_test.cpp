// Unit tests of the server's pure pieces: log line rendering (escaping) and metrics exposition.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "serve/logging.h"
#include "serve/metrics.h"

using dsw::logging::Format;
using dsw::logging::render;

TEST_CASE("json log lines are valid JSON with every value escaped") {
  std::string uid = "a\"b\\c\nd\x01\x7f" "\xc3\xa9";
  std::string bad_utf8 = "x\xff\xfey";
  std::string line = "{" + render(Format::Json, "review", {{"uid", uid}, {"name", bad_utf8},
                                                           {"ops", 3}, {"ms", 0.25}, {"dry", false}}) + "}";
  auto j = nlohmann::json::parse(line);
  CHECK(j["msg"] == "review");
  CHECK(j["uid"] == uid);
  CHECK(j["name"] == "x\xef\xbf\xbd\xef\xbf\xbdy");  // U+FFFD twice
  CHECK(j["ops"] == 3);
  CHECK(j["ms"] == 0.25);
  CHECK(j["dry"] == false);
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("long values are cut") {
  std::string big(5000, 'a');
  auto j = nlohmann::json::parse("{" + render(Format::Json, "m", {{"v", big}}) + "}");
  CHECK(j["v"].get<std::string>().size() < 600);
}

TEST_CASE("text log lines quote values that need it") {
  CHECK(render(Format::Text, "review", {{"uid", "abc"}, {"n", 2}}) == "review uid=abc n=2");
  CHECK(render(Format::Text, "m", {{"name", "a b"}}) == "m name=\"a b\"");
  CHECK(render(Format::Text, "m", {{"name", "x=1\n"}}) == "m name=\"x=1\\u000a\"");
  CHECK(render(Format::Text, "m", {{"name", ""}}) == "m name=\"\"");
}

TEST_CASE("metrics: histogram buckets are cumulative and counters labelled") {
  dsw::server::Metrics m;
  m.observe_review(dsw::Endpoint::Mutate, dsw::Verdict::Patched, 0.0003);
  m.observe_review(dsw::Endpoint::Mutate, dsw::Verdict::Denied, 3.0);
  m.observe_review(dsw::Endpoint::Validate, dsw::Verdict::Allowed, 0.0001);
  m.certificate_reload(false);
  m.observe_status(413);
  std::string t = m.render();
  auto has = [&](const std::string& s) { return t.find(s + "\n") != std::string::npos; };
  const std::string h = "dynamodb_streams_webhook_admission_request_duration_seconds";
  CHECK(has(h + "_bucket{endpoint=\"mutate\",le=\"0.00025\"} 0"));
  CHECK(has(h + "_bucket{endpoint=\"mutate\",le=\"0.0005\"} 1"));
  CHECK(has(h + "_bucket{endpoint=\"mutate\",le=\"2.5\"} 1"));
  CHECK(has(h + "_bucket{endpoint=\"mutate\",le=\"+Inf\"} 2"));
  CHECK(has(h + "_count{endpoint=\"mutate\"} 2"));
  CHECK(has(h + "_bucket{endpoint=\"validate\",le=\"0.00025\"} 1"));
  CHECK(has("dynamodb_streams_webhook_admission_requests_total{endpoint=\"mutate\",outcome=\"denied\"} 1"));
  CHECK(has("dynamodb_streams_webhook_admission_requests_total{endpoint=\"validate\",outcome=\"allowed\"} 1"));
  CHECK(has("dynamodb_streams_webhook_certificate_reloads_total{result=\"failure\"} 1"));
  CHECK(has("dynamodb_streams_webhook_http_responses_total{code=\"413\"} 1"));
  CHECK(t.find("# TYPE " + h + " histogram\n") != std::string::npos);
  CHECK(t.find("process_resident_memory_bytes ") != std::string::npos);
}
