#include "dsw/traits.h"

#include "dsw/streams_trait.h"
#include "json_access.h"

namespace dsw {

using nlohmann::json;

namespace {

using detail::member;
using detail::string_member;

// The streams traits in `component.traits`; override traits with disable: true are skipped.
std::vector<TraitSite> streams_traits(const json& component, const field::Path& path,
                                      const Pointer& at, bool skip_disabled) {
  std::vector<TraitSite> out;
  const json* traits = member(component, "traits");
  if (traits == nullptr || !traits->is_array()) return out;
  for (std::size_t j = 0; j < traits->size(); ++j) {
    const json& t = (*traits)[j];
    if (!streams::is_trait(t)) continue;
    if (skip_disabled) {
      const json* d = member(t, "disable");
      if (d != nullptr && d->is_boolean() && d->get<bool>()) continue;
    }
    out.push_back({j, path.child("traits").index(j), at.child("traits").index(j), &t});
  }
  return out;
}

}  // namespace

std::string_view component_type(const json& component) {
  std::string_view t = string_member(component, "type");
  return t.substr(0, t.find('@'));
}

std::string_view component_name(const json& component) {
  return string_member(component, "name");
}

bool has_streams_trait(const json& component) {
  const json* traits = member(component, "traits");
  if (traits == nullptr || !traits->is_array()) return false;
  for (const auto& t : *traits)
    if (streams::is_trait(t)) return true;
  return false;
}

bool glob_match(std::string_view pattern, std::string_view name) {
  if (pattern.empty()) return true;
  // Iterative wildcard match with backtracking to the last '*': linear in practice, never
  // exponential.
  std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool ComponentSite::adds_trait() const {
  if (source != Source::Override || !selection_evaluated || selected.empty()) return false;
  for (const json* c : selected)
    if (has_streams_trait(*c)) return false;
  return true;
}

std::vector<ComponentSite> find_streams_traits(const json& app) {
  std::vector<ComponentSite> out;
  const json* spec = member(app, "spec");
  if (spec == nullptr) return out;
  field::Path spec_path = field::Path::root("spec");
  Pointer spec_at = Pointer().child("spec");

  const json* components = member(*spec, "components");
  if (components != nullptr && components->is_array()) {
    field::Path cpath = spec_path.child("components");
    Pointer cat = spec_at.child("components");
    for (std::size_t i = 0; i < components->size(); ++i) {
      const json& c = (*components)[i];
      if (!c.is_object()) continue;
      field::Path p = cpath.index(i);
      Pointer at = cat.index(i);
      auto traits = streams_traits(c, p, at, false);
      if (!traits.empty())
        out.push_back({ComponentSite::Source::Component, p, at, &c, std::move(traits), {}});
    }
  }

  const json* policies = member(*spec, "policies");
  if (policies == nullptr || !policies->is_array()) return out;
  std::size_t pairs_left = kMaxSelectionPairs;
  for (std::size_t k = 0; k < policies->size(); ++k) {
    const json& policy = (*policies)[k];
    if (string_member(policy, "type") != "override") continue;
    const json* props = member(policy, "properties");
    const json* overrides = props != nullptr ? member(*props, "components") : nullptr;
    if (overrides == nullptr || !overrides->is_array()) continue;
    field::Path opath = spec_path.child("policies").index(k).child("properties").child("components");
    Pointer oat = spec_at.child("policies").index(k).child("properties").child("components");
    for (std::size_t m = 0; m < overrides->size(); ++m) {
      const json& oc = (*overrides)[m];
      if (!oc.is_object()) continue;
      field::Path p = opath.index(m);
      Pointer at = oat.index(m);
      auto traits = streams_traits(oc, p, at, true);
      if (traits.empty()) continue;
      ComponentSite site{ComponentSite::Source::Override, p, at, &oc, std::move(traits), {}};
      if (components != nullptr && components->is_array() &&
          components->size() > pairs_left) {
        site.selection_evaluated = false;
        pairs_left = 0;
      } else if (components != nullptr && components->is_array()) {
        pairs_left -= components->size();
        std::string_view name = string_member(oc, "name");
        std::string_view type = string_member(oc, "type");
        for (const auto& base : *components) {
          if (!base.is_object()) continue;
          if (!glob_match(name, component_name(base))) continue;
          if (!type.empty() && type != string_member(base, "type")) continue;
          site.selected.push_back(&base);
        }
      }
      out.push_back(std::move(site));
    }
  }
  return out;
}

}  // namespace dsw
