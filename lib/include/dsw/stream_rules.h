// The rules about a DynamoDB stream, wherever it is configured: the dynamodb-streams-kro trait
// (properties.enabled, properties.viewType), the kro DynamoDBTable it renders (spec.streamEnabled,
// spec.streamViewType) and the ACK Table kro renders from that
// (spec.streamSpecification.streamEnabled, .streamViewType). Each rule is written once, here;
// its callers (streams_trait.cpp, tables.cpp) give the field paths and the values they found,
// and decide what "enabled" means where they are (the trait's `enabled` defaults to true, a
// table's stream is on only when its field is true).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsw/field.h"
#include "dsw/options.h"

namespace dsw::streams {

inline constexpr std::array<std::string_view, 4> kViewTypes{"KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE",
                                                            "NEW_AND_OLD_IMAGES"};
// The view type DynamoDB global tables (replicas) require.
inline constexpr std::string_view kReplicaViewType = "NEW_AND_OLD_IMAGES";

// What validation found: errors deny, warnings are returned to the client.
struct Findings {
  field::ErrorList errors;
  std::vector<std::string> warnings;

  // Adds `e` as an error, or as a warning when `how` is Warn.
  void report(field::FieldError e, Enforcement how);
};

// Where one stream's two settings are: two members of the object at `parent`, e.g.
// {spec.streamSpecification, "streamEnabled", "streamViewType"}. Advice names the enabling
// member by its key. The paths are built only for a finding.
struct StreamFields {
  field::Path parent;
  std::string_view enabled_key;
  std::string_view view_type_key;

  field::Path enabled() const { return parent.child(std::string(enabled_key)); }
  field::Path view_type() const { return parent.child(std::string(view_type_key)); }
};

// Whether `value` is one of kViewTypes.
bool is_view_type(const nlohmann::json& value);

// The view type `value` probably meant: equal ignoring case, '-', '_' and spaces.
std::optional<std::string_view> suggest_view_type(std::string_view value);

// The rule for the enabling field's value (not null): it must be a boolean.
// Returns false when it reported an error.
bool check_enabled(const nlohmann::json& value, const StreamFields& fields, Findings& out);

// The rule for a view type's value (not null): a string, one of kViewTypes, with a
// "(did you mean ...?)" hint for a near miss. Returns false when it reported an error.
bool check_view_type(const nlohmann::json& value, const StreamFields& fields, Findings& out);

// An enabled stream without a view type: DynamoDB refuses to enable it (Required value).
void require_view_type(const StreamFields& fields, Findings& out);

// A view type set on a disabled stream is ignored (a warning). `view_type` is in kViewTypes.
void warn_view_type_ignored(const StreamFields& fields, std::string_view view_type,
                            Findings& out);

// The UPDATE rule, for a stream its caller found enabled before and after: DynamoDB cannot
// change the view type of an enabled stream. Reported when both view types are strings and
// differ, as an error or (with `how` Warn) a warning.
void check_view_type_change(const nlohmann::json* old_view, const nlohmann::json* new_view,
                            const StreamFields& fields, Enforcement how, Findings& out);

}  // namespace dsw::streams
