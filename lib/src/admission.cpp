#include "dsw/admission.h"

#include <algorithm>
#include <unordered_map>

#include "dsw/traits.h"

namespace dsw {

using nlohmann::json;

namespace {

std::string allowed_types(const Options& options) {
  std::string s;
  for (std::size_t i = 0; i < options.applies_to.size(); ++i) {
    if (i) s += ", ";
    s += field::go_quote(options.applies_to[i]);
  }
  return s;
}

bool applies_to(const Options& options, std::string_view type) {
  return std::find(options.applies_to.begin(), options.applies_to.end(), type) !=
         options.applies_to.end();
}

const json& trait_type(const TraitSite& t) { return t.trait->at("type"); }

// Where the n-th streams trait of a component entry sits: a second one on the same entry, or
// one on a component type it does not apply to.
void check_placement(const ComponentSite& site, std::size_t n, const Options& options,
                     streams::Findings& out) {
  const TraitSite& t = site.traits[n];
  field::Path tpath = t.path.child("type");
  if (n > 0) out.errors.push_back(field::duplicate(tpath, trait_type(t)));
  if (site.source == ComponentSite::Source::Component) {
    std::string_view ctype = component_type(*site.component);
    if (!applies_to(options, ctype)) {
      out.errors.push_back(field::invalid(
          tpath, trait_type(t),
          "component " + field::go_quote(component_name(*site.component)) + " has type " +
              field::go_quote(ctype) + "; the trait applies only to component types " +
              allowed_types(options)));
    }
  } else if (n == 0 && site.adds_trait()) {
    // The override appends the trait to every component it selects: each must accept it.
    for (const json* base : site.selected) {
      std::string_view ctype = component_type(*base);
      if (applies_to(options, ctype)) continue;
      out.errors.push_back(field::invalid(
          tpath, trait_type(t),
          "the override adds the trait to component " + field::go_quote(component_name(*base)) +
              " of type " + field::go_quote(ctype) +
              "; the trait applies only to component types " + allowed_types(options)));
    }
  }
}

}  // namespace

streams::Findings validate_application(const json& app, const json* old_app,
                                       const Options& options) {
  streams::Findings out;
  auto sites = find_streams_traits(app);

  // The first streams trait of each old base component, by component name.
  std::unordered_map<std::string_view, const json*> old_traits;
  if (old_app != nullptr && old_app->is_object()) {
    for (const auto& site : find_streams_traits(*old_app)) {
      if (site.source != ComponentSite::Source::Component) continue;
      old_traits.emplace(component_name(*site.component), site.traits.front().trait);
    }
  }

  // An Application too large to evaluate every override selection is refused once, at the first
  // override entry that was not evaluated.
  for (const auto& site : sites) {
    if (site.selection_evaluated) continue;
    out.errors.push_back(field::forbidden(
        site.path, "too many override entries and components to evaluate which components "
                   "this entry selects (more than " +
                       std::to_string(kMaxSelectionPairs) + " pairs)"));
    break;
  }

  for (const auto& site : sites) {
    for (std::size_t n = 0; n < site.traits.size(); ++n) {
      check_placement(site, n, options, out);
      streams::validate_properties(*site.traits[n].trait, site.traits[n].path, options, out);
    }
    if (site.source == ComponentSite::Source::Component && !old_traits.empty()) {
      auto it = old_traits.find(component_name(*site.component));
      if (it != old_traits.end())
        streams::validate_view_type_change(*it->second, *site.traits.front().trait,
                                           site.traits.front().path, options, out);
    }
  }
  return out;
}

Patch default_application(const json& app) {
  Patch patch;
  for (const auto& site : find_streams_traits(app)) {
    if (site.source == ComponentSite::Source::Override && !site.adds_trait()) continue;
    for (const auto& t : site.traits) streams::add_defaults(*t.trait, t.pointer, patch);
  }
  return patch;
}

}  // namespace dsw
