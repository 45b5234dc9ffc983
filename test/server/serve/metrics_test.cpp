// Unit tests of serve/metrics: the Prometheus text exposition.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <string>

#include "serve/metrics.h"

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
