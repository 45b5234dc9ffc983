// The dynamodb-streams-kro trait: its parameters, their defaults and its property rules. The
// rules about the stream itself (view types, suggestions, the UPDATE rule, the disabled-stream
// warning) are those of every place a stream is configured: stream_rules.h.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsw/field.h"
#include "dsw/options.h"
#include "dsw/patch.h"
#include "dsw/stream_rules.h"

namespace dsw::streams {

inline constexpr std::string_view kTraitType = "dynamodb-streams-kro";
inline constexpr std::string_view kDefaultViewType = "NEW_AND_OLD_IMAGES";
inline constexpr bool kDefaultEnabled = true;
inline constexpr std::array<std::string_view, 2> kProperties{"enabled", "viewType"};

// "dynamodb-streams-kro" or "dynamodb-streams-kro@<revision>" (KubeVela's versioned
// definitions); nothing else, e.g. not "dynamodb-streams-kro-legacy".
bool is_trait_type(std::string_view type);
// A JSON object whose `type` is this trait.
bool is_trait(const nlohmann::json& trait);

// The shape and values of one trait's properties. `trait_path` names the trait itself.
void validate_properties(const nlohmann::json& trait, const field::Path& trait_path,
                         const Options& options, Findings& out);

// The UPDATE rule: DynamoDB cannot change the view type of an enabled stream.
void validate_view_type_change(const nlohmann::json& old_trait, const nlohmann::json& new_trait,
                               const field::Path& trait_path, const Options& options,
                               Findings& out);

// Appends to `patch` the operations that write the documented defaults into the trait at
// `trait_at`. Never changes a value that is present; leaves invalid shapes to validation.
void add_defaults(const nlohmann::json& trait, const Pointer& trait_at, Patch& patch);

// The known property closest to an unknown key, when it is close enough to be a typo.
std::optional<std::string_view> suggest_property(std::string_view key);

}  // namespace dsw::streams
