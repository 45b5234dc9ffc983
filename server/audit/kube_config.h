// How `audit` reaches the apiserver: the pod's service account, or a kubeconfig file (YAML, read
// with yaml-cpp), or a bare --server URL (kubectl proxy).
//
// Which one, first match wins:
//   0. --server http://...: kubectl proxy (loopback only), no credentials, nothing else read
//   1. --kubeconfig FILE
//   2. $KUBECONFIG (its first path; files are not merged)
//   3. in the cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT set, with the service
//      account's token and ca.crt in --service-account-dir
//   4. ~/.kube/config when it exists
// --server https://... replaces the server URL of 1-4 (the credentials stay).
//
// From a kubeconfig, the current context (or --context) gives the cluster's `server`,
// `certificate-authority` or `certificate-authority-data`, `tls-server-name`, and the user's
// `token` or `tokenFile` and/or `client-certificate(-data)` + `client-key(-data)`. Relative paths
// are relative to the kubeconfig's directory. Refused with a message naming what is supported:
// `exec` and `auth-provider` users, `username`/`password`, `insecure-skip-tls-verify: true`,
// `proxy-url`, impersonation (`as`).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "net/https_client.h"

namespace dsw::audit {

struct ConnectionFlags {
  std::string kubeconfig;   // --kubeconfig
  std::string context;      // --context
  std::string server;       // --server
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
};

struct Connection {
  net::Url url;
  net::TlsOptions tls;
  std::string token;       // a fixed bearer token ("" none)
  std::string token_file;  // a token read again before each scan (service account, tokenFile)
  std::string source;      // for the log: "in-cluster service account", "kubeconfig F, context C"
};

// The environment, as a function so that tests can give their own.
using Getenv = std::function<std::optional<std::string>(const std::string&)>;
Getenv process_environment();

// The connection the flags and environment describe; nothing with `error` set (one line,
// naming the file and the field) when it cannot be used.
std::optional<Connection> load_connection(const ConnectionFlags& flags, const Getenv& env,
                                          std::string& error);

// The bearer token to send now: token_file read again (trailing whitespace dropped), else
// token. Returns false with `error` set when the file cannot be read or is empty.
bool current_token(const Connection& c, std::string& token, std::string& error);

// Standard base64 (RFC 4648, padding optional, whitespace ignored); nothing for other input.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace dsw::audit
