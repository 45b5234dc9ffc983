// A namespaced resource of a Kubernetes group version, as the audit reads and writes it.
#pragma once

#include <string>
#include <string_view>

namespace dsw::audit {

struct Resource {
  std::string_view group, version, resource, kind;
  // "applications.core.oam.dev"
  std::string qualified() const { return std::string(resource) + "." + std::string(group); }
  // "core.oam.dev/v1beta1"
  std::string api_version() const { return std::string(group) + "/" + std::string(version); }
};

}  // namespace dsw::audit
