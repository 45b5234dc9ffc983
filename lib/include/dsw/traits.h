// Finds the dynamodb-streams-kro traits of an Application, in one pass over its spec:
// in spec.components[i].traits[j], and in the override policies'
// spec.policies[k].properties.components[m].traits[n].
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsw/field.h"
#include "dsw/patch.h"

namespace dsw {

struct TraitSite {
  std::size_t index;  // j in traits[j]
  field::Path path;   // ...traits[j]
  Pointer pointer;    // .../traits/j
  const nlohmann::json* trait;
};

struct ComponentSite {
  enum class Source { Component, Override } source;
  field::Path path;  // spec.components[i] or spec.policies[k].properties.components[m]
  Pointer pointer;
  const nlohmann::json* component;
  // The streams traits of this entry, in order. Override traits with `disable: true` are left
  // out: they remove a trait and carry nothing to check.
  std::vector<TraitSite> traits;
  // Override entries only: the base components the entry selects (by name glob and type).
  std::vector<const nlohmann::json*> selected;
  // Override entries only: false when the selection was not evaluated because the Application
  // has more (override entry, component) pairs than kMaxSelectionPairs; such an entry is never
  // defaulted, and validation rejects the Application.
  bool selection_evaluated = true;

  // Override entries only: true when KubeVela appends (rather than merges) the trait, that is
  // when the entry selects at least one component and none of them has a streams trait.
  bool adds_trait() const;
};

// At most this many (override entry, base component) pairs are matched per Application: a 3 MiB
// body could otherwise hold tens of thousands of override entries and hundreds of thousands of
// components, billions of glob matches. Real Applications stay many orders of magnitude below.
inline constexpr std::size_t kMaxSelectionPairs = 10'000'000;

// Every component entry (base or override) that holds at least one streams trait. Entries
// and traits that are not of the expected shape are skipped: the CRD's schema owns shapes.
std::vector<ComponentSite> find_streams_traits(const nlohmann::json& application);

// A component's `type` with any "@revision" cut off; "" when absent.
std::string_view component_type(const nlohmann::json& component);
// A component's `name`; "" when absent.
std::string_view component_name(const nlohmann::json& component);
// Whether the component has a streams trait in its traits list.
bool has_streams_trait(const nlohmann::json& component);
// KubeVela's override selector: `*` matches any run of characters; an empty pattern matches all.
bool glob_match(std::string_view pattern, std::string_view name);

}  // namespace dsw
