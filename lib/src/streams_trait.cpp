#include "dsw/streams_trait.h"

#include <algorithm>
#include <cctype>

#include "json_access.h"

namespace dsw::streams {

using nlohmann::json;

bool is_trait_type(std::string_view type) {
  if (type.substr(0, kTraitType.size()) != kTraitType) return false;
  std::string_view rest = type.substr(kTraitType.size());
  return rest.empty() || (rest.size() > 1 && rest[0] == '@');
}

bool is_trait(const json& trait) {
  if (!trait.is_object()) return false;
  auto it = trait.find("type");
  return it != trait.end() && it->is_string() && is_trait_type(it->get_ref<const std::string&>());
}

namespace {

using detail::member;

const json* properties_of(const json& trait) {
  const json* p = member(trait, "properties");
  return p != nullptr && p->is_object() ? p : nullptr;
}

// The trait's stream: properties.enabled and properties.viewType.
StreamFields trait_stream(field::Path properties_path) {
  return {std::move(properties_path), "enabled", "viewType"};
}

// enabled is "off" only when it is exactly false; absent, null (defaulted to true) and invalid
// values count as on.
bool stream_enabled(const json* props) {
  if (props == nullptr) return true;
  const json* e = member(*props, "enabled");
  return !(e != nullptr && e->is_boolean() && !e->get<bool>());
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string quoted_list(const std::array<std::string_view, 2>& items) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) s += ", ";
    s += field::go_quote(items[i]);
  }
  return s;
}

}  // namespace

std::optional<std::string_view> suggest_property(std::string_view key) {
  if (key.size() > 64) return std::nullopt;  // no typo is that long; keeps the cost bounded
  std::string k = lower(key);
  std::optional<std::string_view> best;
  std::size_t best_d = 0;
  for (auto p : kProperties) {
    std::size_t d = edit_distance(k, lower(p));
    if (!best || d < best_d) {
      best = p;
      best_d = d;
    }
  }
  // Close enough to be a typo: at most a third of the name, and at least one edit allowed.
  if (best && best_d <= std::max<std::size_t>(1, best->size() / 3)) return best;
  return std::nullopt;
}

void validate_properties(const json& trait, const field::Path& trait_path, const Options& options,
                         Findings& out) {
  const json* props = member(trait, "properties");
  field::Path ppath = trait_path.child("properties");
  if (props == nullptr || props->is_null()) return;
  if (!props->is_object()) {
    out.errors.push_back(field::invalid(ppath, *props, "must be an object"));
    return;
  }
  const StreamFields fields = trait_stream(ppath);
  for (auto it = props->begin(); it != props->end(); ++it) {
    const std::string& key = it.key();
    const json& value = it.value();
    if (key == "enabled") {
      if (!value.is_null()) check_enabled(value, fields, out);
    } else if (key == "viewType") {
      if (value.is_null()) continue;
      if (check_view_type(value, fields, out) && !stream_enabled(props))
        warn_view_type_ignored(fields, value.get_ref<const std::string&>(), out);
    } else {
      std::string detail = "unknown property; supported properties: " + quoted_list(kProperties);
      if (auto m = suggest_property(key)) detail += " (did you mean " + field::go_quote(*m) + "?)";
      out.report(field::forbidden(ppath.key(key), std::move(detail)), options.unknown_properties);
    }
  }
}

void validate_view_type_change(const json& old_trait, const json& new_trait,
                               const field::Path& trait_path, const Options& options,
                               Findings& out) {
  const json* old_props = properties_of(old_trait);
  const json* new_props = properties_of(new_trait);
  if (old_props == nullptr || new_props == nullptr) return;
  if (!stream_enabled(old_props) || !stream_enabled(new_props)) return;
  check_view_type_change(member(*old_props, "viewType"), member(*new_props, "viewType"),
                         trait_stream(trait_path.child("properties")), options.view_type_change,
                         out);
}

void add_defaults(const json& trait, const Pointer& trait_at, Patch& patch) {
  const json* props = member(trait, "properties");
  Pointer props_at = trait_at.child("properties");
  if (props == nullptr || props->is_null()) {
    json value = json::object();
    value["enabled"] = kDefaultEnabled;
    value["viewType"] = kDefaultViewType;
    if (props == nullptr)
      patch.add(props_at, std::move(value));
    else
      patch.replace(props_at, std::move(value));
    return;
  }
  if (!props->is_object()) return;  // invalid: validation rejects it
  const json* enabled = member(*props, "enabled");
  if (enabled == nullptr)
    patch.add(props_at.child("enabled"), kDefaultEnabled);
  else if (enabled->is_null())
    patch.replace(props_at.child("enabled"), kDefaultEnabled);

  bool disabled = enabled != nullptr && enabled->is_boolean() && !enabled->get<bool>();
  if (disabled) return;
  const json* view = member(*props, "viewType");
  if (view == nullptr)
    patch.add(props_at.child("viewType"), kDefaultViewType);
  else if (view->is_null())
    patch.replace(props_at.child("viewType"), kDefaultViewType);
}

}  // namespace dsw::streams
