#include "audit/api_client.h"

#include "serve/logging.h"

namespace dsw::audit {

namespace {

using nlohmann::json;

constexpr const char* kJson = "application/json";
// What client-go's metadata client asks for: objects without their content when the apiserver
// can (it always can for custom resources), else the full JSON.
constexpr const char* kMetadataOnly =
    "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json";

std::optional<json> status_of(const net::Response& r) {
  if (r.body.empty() || r.body.front() != '{') return std::nullopt;
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto k = j.find("kind");
  if (k == j.end() || !k->is_string() || *k != "Status") return std::nullopt;
  return j;
}

std::string one_line(std::string s, std::size_t max = 300) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (s.size() > max) {
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s = s.substr(0, n) + "...";
  }
  return s;
}

std::string scope(const std::string& namespace_) {
  return namespace_.empty() ? "at the cluster scope (all namespaces)"
                            : "in namespace " + namespace_;
}

}  // namespace

std::string status_reason(const net::Response& r) {
  auto st = status_of(r);
  if (!st) return {};
  auto reason = st->find("reason");
  return reason != st->end() && reason->is_string() ? reason->get<std::string>() : std::string();
}

std::string answer_text(const net::Response& r) {
  if (auto st = status_of(r)) {
    auto m = st->find("message");
    if (m != st->end() && m->is_string()) return one_line(m->get<std::string>());
  }
  std::string first = r.body.substr(0, r.body.find('\n'));
  return one_line(first);
}

std::string explain(const net::Response& r, std::string_view verb, const Resource& res,
                    const std::string& namespace_) {
  if (!r.answered()) return "no answer: " + r.error;
  const std::string text = answer_text(r);
  const std::string what = std::string(verb) + " on " + res.qualified() + " " + scope(namespace_);
  switch (r.status) {
    case 401:
      return "401 Unauthorized" + (text.empty() ? "" : ": " + text) +
             " (the apiserver did not accept the audit's credentials: an expired or unknown "
             "token, or a client certificate it does not trust)";
    case 403:
      return "403 Forbidden" + (text.empty() ? "" : ": " + text) + " (the audit needs " + what +
             "; see the ClusterRole in docs/audit.md)";
    case 404:
      return "404 Not Found" + (text.empty() ? "" : ": " + text) + " (" + res.qualified() +
             " is not served, or the namespace does not exist)";
    default:
      break;
  }
  std::string out = "HTTP " + std::to_string(r.status);
  if (r.too_large) out += ": the answer is larger than the audit reads";
  else if (!text.empty()) out += ": " + text;
  return out;
}

std::string ApiClient::path(const Resource& r, const std::string& namespace_,
                            const std::string& name) const {
  std::string p = "/apis/" + std::string(r.group) + "/" + std::string(r.version);
  if (!namespace_.empty()) p += "/namespaces/" + net::url_encode(namespace_);
  p += "/" + std::string(r.resource);
  if (!name.empty()) p += "/" + net::url_encode(name);
  return p;
}

net::Response ApiClient::call(net::Request req) {
  const std::string method = req.method;
  const std::string p = req.path.substr(0, req.path.find('?'));
  return net::send_with_retry(
      client_, req, policy_, stop_,
      [&](const net::Response& r, int retry, std::chrono::milliseconds wait) {
        logging::warn("apiserver answer is transient; retrying",
                      {{"method", method},
                       {"path", p},
                       {"status", r.status},
                       {"error", r.answered() ? std::string_view(answer_text(r)) : std::string_view(r.error)},
                       {"retry", retry},
                       {"wait_ms", static_cast<long long>(wait.count())}});
      });
}

std::optional<bool> ApiClient::served(const Resource& r, std::string& error) {
  net::Request req;
  req.path = "/apis/" + std::string(r.group) + "/" + std::string(r.version);
  req.headers.emplace_back("Accept", kJson);
  net::Response resp = call(std::move(req));
  if (resp.status == 404) return false;
  if (resp.status != 200) {
    error = "discovery of " + std::string(r.group) + "/" + std::string(r.version) + ": " +
            (resp.answered() ? "HTTP " + std::to_string(resp.status) +
                                   (answer_text(resp).empty() ? "" : ": " + answer_text(resp))
                             : "no answer: " + resp.error);
    if (resp.status == 401) error = "discovery: " + explain(resp, "get", r, "");
    return std::nullopt;
  }
  json doc = json::parse(resp.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    error = "discovery of " + std::string(r.group) + "/" + std::string(r.version) +
            ": the answer is not JSON";
    return std::nullopt;
  }
  auto resources = doc.find("resources");
  if (resources == doc.end() || !resources->is_array()) return false;
  for (const auto& res : *resources) {
    if (res.is_object() && res.value("name", "") == r.resource) return true;
  }
  return false;
}

net::Response ApiClient::list(const Resource& r, const std::string& namespace_, std::size_t limit,
                              const std::string& continue_token, const std::string& label_selector,
                              bool metadata_only) {
  net::Request req;
  req.path = path(r, namespace_, "") + "?limit=" + std::to_string(limit);
  if (!continue_token.empty()) req.path += "&continue=" + net::url_encode(continue_token);
  if (!label_selector.empty()) req.path += "&labelSelector=" + net::url_encode(label_selector);
  req.headers.emplace_back("Accept", metadata_only ? kMetadataOnly : kJson);
  return call(std::move(req));
}

net::Response ApiClient::get(const Resource& r, const std::string& namespace_,
                             const std::string& name) {
  net::Request req;
  req.path = path(r, namespace_, name);
  req.headers.emplace_back("Accept", kJson);
  return call(std::move(req));
}

net::Response ApiClient::create(const Resource& r, const std::string& namespace_,
                                std::string body) {
  net::Request req;
  req.method = "POST";
  req.path = path(r, namespace_, "");
  req.headers.emplace_back("Accept", kJson);
  req.body = std::move(body);
  req.content_type = kJson;
  return call(std::move(req));
}

net::Response ApiClient::update(const Resource& r, const std::string& namespace_,
                                const std::string& name, std::string body) {
  net::Request req;
  req.method = "PUT";
  req.path = path(r, namespace_, name);
  req.headers.emplace_back("Accept", kJson);
  req.body = std::move(body);
  req.content_type = kJson;
  return call(std::move(req));
}

net::Response ApiClient::remove(const Resource& r, const std::string& namespace_,
                                const std::string& name, const std::string& uid) {
  net::Request req;
  req.method = "DELETE";
  req.path = path(r, namespace_, name);
  req.headers.emplace_back("Accept", kJson);
  json opts = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!uid.empty()) opts["preconditions"] = {{"uid", uid}};
  req.body = opts.dump();
  req.content_type = kJson;
  return call(std::move(req));
}

}  // namespace dsw::audit
