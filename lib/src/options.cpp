#include "dsw/options.h"

namespace dsw {

std::string_view to_string(Enforcement e) { return e == Enforcement::Deny ? "deny" : "warn"; }

bool parse_enforcement(std::string_view s, Enforcement& out) {
  if (s == "deny") {
    out = Enforcement::Deny;
    return true;
  }
  if (s == "warn") {
    out = Enforcement::Warn;
    return true;
  }
  return false;
}

}  // namespace dsw
