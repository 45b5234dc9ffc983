// Unit tests of serve/metrics: the Prometheus text exposition.
#include <doctest/doctest.h>

#include <string>

#include "serve/metrics.h"

TEST_CASE("metrics: histogram buckets are cumulative and counters labelled") {
  using dsw::ObjectKind;
  dsw::server::Metrics m;
  m.observe_review(dsw::Endpoint::Mutate, ObjectKind::Application, dsw::Verdict::Patched, 0.0003);
  m.observe_review(dsw::Endpoint::Mutate, ObjectKind::Application, dsw::Verdict::Denied, 3.0);
  m.observe_review(dsw::Endpoint::Validate, ObjectKind::Application, dsw::Verdict::Allowed, 0.0001);
  m.certificate_reload(false);
  m.observe_status(413);
  std::string t = m.render();
  auto has = [&](const std::string& s) { return t.find(s + "\n") != std::string::npos; };
  const std::string h = "dynamodb_streams_webhook_admission_request_duration_seconds";
  const std::string app = "kind=\"Application\"";
  CHECK(has(h + "_bucket{endpoint=\"mutate\"," + app + ",le=\"0.00025\"} 0"));
  CHECK(has(h + "_bucket{endpoint=\"mutate\"," + app + ",le=\"0.0005\"} 1"));
  CHECK(has(h + "_bucket{endpoint=\"mutate\"," + app + ",le=\"2.5\"} 1"));
  CHECK(has(h + "_bucket{endpoint=\"mutate\"," + app + ",le=\"+Inf\"} 2"));
  CHECK(has(h + "_count{endpoint=\"mutate\"," + app + "} 2"));
  CHECK(has(h + "_bucket{endpoint=\"validate\"," + app + ",le=\"0.00025\"} 1"));
  CHECK(has("dynamodb_streams_webhook_admission_requests_total{endpoint=\"mutate\"," + app +
            ",outcome=\"denied\"} 1"));
  CHECK(has("dynamodb_streams_webhook_admission_requests_total{endpoint=\"validate\"," + app +
            ",outcome=\"allowed\"} 1"));
  CHECK(has("dynamodb_streams_webhook_certificate_reloads_total{result=\"failure\"} 1"));
  CHECK(has("dynamodb_streams_webhook_http_responses_total{code=\"413\"} 1"));
  CHECK(t.find("# TYPE " + h + " histogram\n") != std::string::npos);
  CHECK(t.find("process_resident_memory_bytes ") != std::string::npos);
}

TEST_CASE("metrics: the kind label takes four values, each counted on its own") {
  using dsw::ObjectKind;
  dsw::server::Metrics m;
  m.observe_review(dsw::Endpoint::Validate, ObjectKind::AckTable, dsw::Verdict::Denied, 0.0001);
  m.observe_review(dsw::Endpoint::Validate, ObjectKind::AckTable, dsw::Verdict::Denied, 0.0001);
  m.observe_review(dsw::Endpoint::Validate, ObjectKind::KroTable, dsw::Verdict::Allowed, 0.0001);
  m.observe_review(dsw::Endpoint::Mutate, ObjectKind::Other, dsw::Verdict::Error, 0.0001);
  std::string t = m.render();
  auto has = [&](const std::string& s) { return t.find(s + "\n") != std::string::npos; };
  const std::string c = "dynamodb_streams_webhook_admission_requests_total";
  const std::string h = "dynamodb_streams_webhook_admission_request_duration_seconds";
  CHECK(has(c + "{endpoint=\"validate\",kind=\"Table\",outcome=\"denied\"} 2"));
  CHECK(has(c + "{endpoint=\"validate\",kind=\"DynamoDBTable\",outcome=\"allowed\"} 1"));
  CHECK(has(c + "{endpoint=\"mutate\",kind=\"other\",outcome=\"error\"} 1"));
  CHECK(has(c + "{endpoint=\"validate\",kind=\"Application\",outcome=\"denied\"} 0"));
  CHECK(has(h + "_count{endpoint=\"validate\",kind=\"Table\"} 2"));
  CHECK(has(h + "_count{endpoint=\"validate\",kind=\"DynamoDBTable\"} 1"));
  CHECK(has(h + "_count{endpoint=\"mutate\",kind=\"other\"} 1"));
  CHECK(has(c + "{endpoint=\"validate\",kind=\"Application\",outcome=\"warned\"} 0"));
  // Every series exists from the start (2 endpoints x 4 kinds x 5 outcomes), and no others.
  std::size_t series = 0;
  for (std::size_t at = t.find(c + "{"); at != std::string::npos; at = t.find(c + "{", at + 1))
    ++series;
  CHECK(series == 40);
}

TEST_CASE("metrics: a would-be denial of --enforcement warn is counted as outcome warned") {
  dsw::server::Metrics m;
  m.observe_review(dsw::Endpoint::Validate, dsw::ObjectKind::Application, dsw::Verdict::Warned,
                   0.0001);
  m.observe_review(dsw::Endpoint::Validate, dsw::ObjectKind::KroTable, dsw::Verdict::Warned, 0.0001);
  std::string t = m.render();
  auto has = [&](const std::string& s) { return t.find(s + "\n") != std::string::npos; };
  const std::string c = "dynamodb_streams_webhook_admission_requests_total";
  CHECK(has(c + "{endpoint=\"validate\",kind=\"Application\",outcome=\"warned\"} 1"));
  CHECK(has(c + "{endpoint=\"validate\",kind=\"DynamoDBTable\",outcome=\"warned\"} 1"));
  CHECK(has(c + "{endpoint=\"validate\",kind=\"Application\",outcome=\"denied\"} 0"));
  CHECK(has(c + "{endpoint=\"validate\",kind=\"Application\",outcome=\"allowed\"} 0"));
}
