// Admission options: what the operator can configure about the rules.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dsw {

// Whether a finding denies the request or only warns.
enum class Enforcement { Deny, Warn };

std::string_view to_string(Enforcement e);
// Parses "deny" or "warn"; returns false for anything else.
bool parse_enforcement(std::string_view s, Enforcement& out);

struct Options {
  // Component types (without an @revision suffix) the streams trait may be attached to.
  std::vector<std::string> applies_to{"aws-dynamodb-kro"};
  // An unknown key in the trait's properties.
  Enforcement unknown_properties = Enforcement::Deny;
  // An UPDATE that changes the view type of a stream enabled before and after.
  Enforcement view_type_change = Enforcement::Deny;
  // What the validating endpoint does with an object it finds invalid: deny it, or (warn) allow
  // it and return each error it would have denied with as a warning. Defaulting is the same.
  Enforcement enforcement = Enforcement::Deny;
  // JSON nesting deeper than this is refused before a document is built.
  std::size_t max_depth = 512;
};

}  // namespace dsw
