#include "audit/kube_config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dsw::audit {

namespace {

namespace fs = std::filesystem;

constexpr const char* kSupported =
    "supported: a token, a tokenFile, or client-certificate(-data) with client-key(-data); or "
    "run `kubectl proxy` and pass --server http://127.0.0.1:8001";

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) {
    error = "cannot read " + path + ": read error";
    return false;
  }
  out = ss.str();
  return true;
}

std::string trim_right(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// A scalar member of a map node as a string ("" when absent); an error for a non-scalar.
bool scalar(const YAML::Node& map, const char* key, std::string& out, const std::string& where,
            std::string& error) {
  out.clear();
  if (!map || !map.IsMap()) return true;
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return true;
  if (!v.IsScalar()) {
    error = where + ": " + key + " must be a string";
    return false;
  }
  out = v.Scalar();
  return true;
}

// The entry of a named list (clusters, users, contexts) called `name`: its `field` map (an empty
// map when the entry has none); nothing when there is no such entry.
std::optional<YAML::Node> named(const YAML::Node& root, const char* list, const char* field,
                                const std::string& name) {
  YAML::Node l = root[list];
  if (!l || !l.IsSequence()) return std::nullopt;
  for (const auto& entry : l) {
    if (!entry.IsMap()) continue;
    YAML::Node n = entry["name"];
    if (n && n.IsScalar() && n.Scalar() == name) {
      YAML::Node f = entry[field];
      if (f && f.IsMap()) return f;
      return YAML::Node(YAML::NodeType::Map);
    }
  }
  return std::nullopt;
}

std::string resolve(const std::string& path, const fs::path& base) {
  if (path.empty()) return path;
  fs::path p(path);
  if (p.is_absolute()) return path;
  return (base / p).lexically_normal().string();
}

// PEM data from `<key>-data` (base64) or from the file `<key>` (relative to base); "" for
// neither. Both given is an error, as in client-go.
bool pem_field(const YAML::Node& map, const std::string& key, const fs::path& base,
               const std::string& where, std::string& pem, std::string& origin,
               std::string& error) {
  std::string file, data;
  if (!scalar(map, key.c_str(), file, where, error)) return false;
  if (!scalar(map, (key + "-data").c_str(), data, where, error)) return false;
  if (!file.empty() && !data.empty()) {
    error = where + ": both " + key + " and " + key + "-data are set; set one";
    return false;
  }
  if (!data.empty()) {
    auto decoded = base64_decode(data);
    if (!decoded) {
      error = where + ": " + key + "-data is not base64";
      return false;
    }
    pem = std::move(*decoded);
    origin = key + "-data of " + where;
    return true;
  }
  if (!file.empty()) {
    std::string path = resolve(file, base);
    std::string why;
    if (!read_file(path, pem, why)) {
      error = where + ": " + key + ": " + why;
      return false;
    }
    origin = key + " " + path;
  }
  return true;
}

std::optional<Connection> from_kubeconfig(const std::string& path, const ConnectionFlags& flags,
                                          std::string& error) {
  std::string text;
  if (!read_file(path, text, error)) return std::nullopt;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    error = "kubeconfig " + path + " is not valid YAML: " + e.what();
    return std::nullopt;
  }
  if (!root.IsMap()) {
    error = "kubeconfig " + path + " is not a kubeconfig (not a YAML map)";
    return std::nullopt;
  }
  const fs::path base = fs::path(path).parent_path();
  const std::string file = "kubeconfig " + path;
  std::string context_name = flags.context;
  if (context_name.empty() && !scalar(root, "current-context", context_name, file, error))
    return std::nullopt;
  if (context_name.empty()) {
    error = file + " has no current-context; pass --context";
    return std::nullopt;
  }
  auto found_context = named(root, "contexts", "context", context_name);
  if (!found_context) {
    error = file + " has no context \"" + context_name + "\"";
    return std::nullopt;
  }
  const YAML::Node context = *found_context;
  const std::string ctx_where = file + ", context \"" + context_name + "\"";
  std::string cluster_name, user_name;
  if (!scalar(context, "cluster", cluster_name, ctx_where, error) ||
      !scalar(context, "user", user_name, ctx_where, error))
    return std::nullopt;
  auto found_cluster = named(root, "clusters", "cluster", cluster_name);
  if (!found_cluster) {
    error = ctx_where + " names cluster \"" + cluster_name + "\", which " + file +
            " does not define";
    return std::nullopt;
  }
  const YAML::Node cluster = *found_cluster;
  const std::string cl_where = "cluster \"" + cluster_name + "\" of " + file;

  Connection c;
  c.source = file + ", context " + context_name;
  std::string server = flags.server;
  if (server.empty() && !scalar(cluster, "server", server, cl_where, error)) return std::nullopt;
  if (server.empty()) {
    error = cl_where + " has no server";
    return std::nullopt;
  }
  auto url = net::parse_url(server, error);
  if (!url) return std::nullopt;
  c.url = *url;
  std::string insecure, proxy;
  if (!scalar(cluster, "insecure-skip-tls-verify", insecure, cl_where, error) ||
      !scalar(cluster, "proxy-url", proxy, cl_where, error) ||
      !scalar(cluster, "tls-server-name", c.tls.server_name, cl_where, error))
    return std::nullopt;
  if (insecure == "true") {
    error = cl_where + " sets insecure-skip-tls-verify: the audit always verifies the server's "
            "certificate; give the cluster's certificate-authority(-data)";
    return std::nullopt;
  }
  if (!proxy.empty()) {
    error = cl_where + " sets proxy-url, which the audit does not support";
    return std::nullopt;
  }
  if (!pem_field(cluster, "certificate-authority", base, cl_where, c.tls.ca_pem,
                 c.tls.ca_origin, error))
    return std::nullopt;
  if (c.url.scheme == "https" && c.tls.ca_pem.empty()) {
    error = cl_where + " has neither certificate-authority nor certificate-authority-data: the "
            "audit verifies the server's certificate against the cluster's CA only";
    return std::nullopt;
  }

  if (user_name.empty()) return c;  // a context without a user: no credentials
  auto found_user = named(root, "users", "user", user_name);
  if (!found_user) {
    error = ctx_where + " names user \"" + user_name + "\", which " + file + " does not define";
    return std::nullopt;
  }
  const YAML::Node user = *found_user;
  const std::string us_where = "user \"" + user_name + "\" of " + file;
  if (user.IsMap()) {
    if (user["exec"]) {
      error = us_where + " authenticates with an exec plugin, which the audit does not run (" +
              kSupported + ")";
      return std::nullopt;
    }
    if (user["auth-provider"]) {
      error = us_where + " authenticates with an auth-provider, which the audit does not "
              "support (" + kSupported + ")";
      return std::nullopt;
    }
    if (user["username"] || user["password"]) {
      error = us_where + " authenticates with a username and password, which the audit does "
              "not support (" + kSupported + ")";
      return std::nullopt;
    }
    if (user["as"] || user["as-groups"] || user["as-uid"] || user["as-user-extra"]) {
      error = us_where + " impersonates another user, which the audit does not support";
      return std::nullopt;
    }
  }
  std::string token_file;
  if (!scalar(user, "token", c.token, us_where, error) ||
      !scalar(user, "tokenFile", token_file, us_where, error))
    return std::nullopt;
  if (!c.token.empty() && !token_file.empty()) {
    error = us_where + ": both token and tokenFile are set; set one";
    return std::nullopt;
  }
  c.token_file = resolve(token_file, base);
  if (!pem_field(user, "client-certificate", base, us_where, c.tls.client_cert_pem,
                 c.tls.client_cert_origin, error) ||
      !pem_field(user, "client-key", base, us_where, c.tls.client_key_pem,
                 c.tls.client_key_origin, error))
    return std::nullopt;
  if (c.tls.client_cert_pem.empty() != c.tls.client_key_pem.empty()) {
    error = us_where + (c.tls.client_cert_pem.empty()
                            ? " has a client key but no client-certificate(-data)"
                            : " has a client certificate but no client-key(-data)");
    return std::nullopt;
  }
  if (c.url.scheme == "http" && !c.tls.client_cert_pem.empty()) {
    error = us_where + " has a client certificate, which plain http:// cannot send";
    return std::nullopt;
  }
  if (!c.token_file.empty()) {
    std::string t;
    if (!current_token(c, t, error)) return std::nullopt;
  }
  return c;
}

std::optional<Connection> in_cluster(const ConnectionFlags& flags, const std::string& host,
                                     const std::string& port, std::string& error) {
  Connection c;
  c.source = "in-cluster service account (" + flags.service_account_dir + ")";
  std::string server = flags.server;
  if (server.empty()) {
    server = "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
             port;
  }
  auto url = net::parse_url(server, error);
  if (!url) {
    if (flags.server.empty())
      error = "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT do not make a URL: " + error;
    return std::nullopt;
  }
  c.url = *url;
  const std::string ca = flags.service_account_dir + "/ca.crt";
  std::string why;
  if (!read_file(ca, c.tls.ca_pem, why)) {
    error = "in the cluster, but the service account's CA cannot be read: " + why +
            " (is automountServiceAccountToken off?)";
    return std::nullopt;
  }
  c.tls.ca_origin = "the service account's CA " + ca;
  c.token_file = flags.service_account_dir + "/token";
  std::string t;
  if (!current_token(c, t, error)) {
    error += " (is automountServiceAccountToken off?)";
    return std::nullopt;
  }
  return c;
}

}  // namespace

Getenv process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::optional<Connection> load_connection(const ConnectionFlags& flags, const Getenv& env,
                                          std::string& error) {
  // --server http://...: kubectl proxy, which authenticates for us. Nothing else is read, so
  // that a kubeconfig whose user the audit cannot use (exec, auth-provider) is not in the way.
  if (flags.server.rfind("http://", 0) == 0) {
    if (!flags.kubeconfig.empty() || !flags.context.empty()) {
      error = "--server " + flags.server + " (plain http: kubectl proxy) takes no --kubeconfig "
              "or --context: the proxy authenticates";
      return std::nullopt;
    }
    auto url = net::parse_url(flags.server, error);
    if (!url) return std::nullopt;
    Connection c;
    c.url = *url;
    c.source = "--server " + flags.server + " without credentials (kubectl proxy)";
    return c;
  }
  if (!flags.kubeconfig.empty()) return from_kubeconfig(flags.kubeconfig, flags, error);
  if (auto k = env("KUBECONFIG"); k && !k->empty()) {
    std::string first = k->substr(0, k->find(':'));
    if (!first.empty()) return from_kubeconfig(first, flags, error);
  }
  auto host = env("KUBERNETES_SERVICE_HOST");
  auto port = env("KUBERNETES_SERVICE_PORT");
  if (host && port && !host->empty() && !port->empty()) {
    if (!flags.context.empty()) {
      error = "--context needs a kubeconfig (--kubeconfig or KUBECONFIG)";
      return std::nullopt;
    }
    return in_cluster(flags, *host, *port, error);
  }
  if (auto home = env("HOME"); home && !home->empty()) {
    std::string path = *home + "/.kube/config";
    std::error_code ec;
    if (fs::exists(path, ec)) return from_kubeconfig(path, flags, error);
  }
  if (!flags.server.empty()) {
    std::string why;
    if (!net::parse_url(flags.server, why)) {
      error = why;
      return std::nullopt;
    }
    error = "--server " + flags.server + " without a kubeconfig has no CA to verify it "
            "against: use --kubeconfig, or kubectl proxy's http://127.0.0.1:8001";
    return std::nullopt;
  }
  error = "no way to reach the apiserver: not in a cluster (KUBERNETES_SERVICE_HOST is not "
          "set), no --kubeconfig, no KUBECONFIG, no ~/.kube/config, no --server";
  return std::nullopt;
}

bool current_token(const Connection& c, std::string& token, std::string& error) {
  if (c.token_file.empty()) {
    token = c.token;
    return true;
  }
  std::string t;
  if (!read_file(c.token_file, t, error)) {
    error = "token file: " + error;
    return false;
  }
  t = trim_right(std::move(t));
  if (t.empty()) {
    error = "token file " + c.token_file + " is empty";
    return false;
  }
  token = std::move(t);
  return true;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buf = 0;
  int bits = 0;
  std::size_t pad = 0, symbols = 0;
  for (char ch : text) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    if (ch == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return std::nullopt;  // data after padding
    int v;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    else if (ch == '+') v = 62;
    else if (ch == '/') v = 63;
    else return std::nullopt;
    ++symbols;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  if (pad > 2 || symbols % 4 == 1) return std::nullopt;
  if (pad > 0 && (symbols + pad) % 4 != 0) return std::nullopt;
  return out;
}

}  // namespace dsw::audit
