// The Kubernetes API as the audit uses it, over the program's HTTP client (net/): discovery of a
// group version, paged lists, and get / create / update / delete of one object; every call
// retried with the net/ retry loop when the answer is transient (429 and 503 with their
// Retry-After, 502, 504, a connection lost). What an answer means is spelled out here: a
// Status' message, or the body's first line (the apiserver's plain-text 429 and `404 page not
// found`), 401 and 403 explained, 404 read as "not served".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "audit/resource.h"
#include "net/https_client.h"
#include "net/retry.h"

namespace dsw::audit {

class ApiClient {
 public:
  ApiClient(net::Client& client, net::RetryPolicy policy, const net::Stop* stop)
      : client_(client), policy_(policy), stop_(stop) {}

  // Whether the group version's discovery document lists the resource: true, false (404, or not
  // listed), or nothing with `error` set (the answer could not be had or read).
  std::optional<bool> served(const Resource& r, std::string& error);

  // One page of a list, in all namespaces ("") or one. `metadata_only` asks for
  // PartialObjectMetadataList (objects without their content), which the apiserver may ignore.
  net::Response list(const Resource& r, const std::string& namespace_, std::size_t limit,
                     const std::string& continue_token, const std::string& label_selector,
                     bool metadata_only);
  net::Response get(const Resource& r, const std::string& namespace_, const std::string& name);
  net::Response create(const Resource& r, const std::string& namespace_, std::string body);
  net::Response update(const Resource& r, const std::string& namespace_, const std::string& name,
                       std::string body);
  // DELETE with a uid precondition (the object read, not one recreated since).
  net::Response remove(const Resource& r, const std::string& namespace_, const std::string& name,
                       const std::string& uid);

 private:
  net::Response call(net::Request req);
  std::string path(const Resource& r, const std::string& namespace_, const std::string& name) const;
  net::Client& client_;
  net::RetryPolicy policy_;
  const net::Stop* stop_;
};

// A Status answer's reason ("Conflict", "AlreadyExists", "Expired", ...), "" for anything else.
std::string status_reason(const net::Response& r);

// One line saying what an answer that is not a success means, for `verb` on the resource in a
// namespace ("" = all namespaces / cluster scope): "403 Forbidden: ... (the audit needs list on
// applications.core.oam.dev at the cluster scope)", "401 Unauthorized: ...", "no answer: ...",
// "HTTP 500: etcdserver: request is too large".
std::string explain(const net::Response& r, std::string_view verb, const Resource& res,
                    const std::string& namespace_);

// The Status' message, or the body's first line (cut at 300 bytes), or "".
std::string answer_text(const net::Response& r);

}  // namespace dsw::audit
