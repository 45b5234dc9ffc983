#include "dsw/stream_rules.h"

#include <algorithm>
#include <cctype>

namespace dsw::streams {

using nlohmann::json;

void Findings::report(field::FieldError e, Enforcement how) {
  if (how == Enforcement::Deny)
    errors.push_back(std::move(e));
  else
    warnings.push_back(e.to_string());
}

namespace {

std::string normalize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '-' || c == '_' || c == ' ') continue;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::vector<std::string_view> view_types() {
  return std::vector<std::string_view>(kViewTypes.begin(), kViewTypes.end());
}

}  // namespace

bool is_view_type(const json& value) {
  if (!value.is_string()) return false;
  const auto& s = value.get_ref<const std::string&>();
  return std::find(kViewTypes.begin(), kViewTypes.end(), s) != kViewTypes.end();
}

std::optional<std::string_view> suggest_view_type(std::string_view value) {
  std::string n = normalize(value);
  for (auto v : kViewTypes)
    if (normalize(v) == n) return v;
  return std::nullopt;
}

bool check_enabled(const json& value, const StreamFields& fields, Findings& out) {
  if (value.is_boolean()) return true;
  out.errors.push_back(field::invalid(fields.enabled(), value, "must be a boolean"));
  return false;
}

bool check_view_type(const json& value, const StreamFields& fields, Findings& out) {
  if (!value.is_string()) {
    out.errors.push_back(field::invalid(fields.view_type(), value, "must be a string"));
    return false;
  }
  if (is_view_type(value)) return true;
  std::string hint;
  if (auto m = suggest_view_type(value.get_ref<const std::string&>()))
    hint = "(did you mean " + field::go_quote(*m) + "?)";
  out.errors.push_back(field::not_supported(fields.view_type(), value, view_types(), hint));
  return false;
}

void require_view_type(const StreamFields& fields, Findings& out) {
  std::string detail = "a stream with " + std::string(fields.enabled_key) +
                       ": true needs a view type (DynamoDB refuses to enable one without it); "
                       "supported values: ";
  for (std::size_t i = 0; i < kViewTypes.size(); ++i) {
    if (i) detail += ", ";
    detail += field::go_quote(kViewTypes[i]);
  }
  out.errors.push_back(field::required(fields.view_type(), std::move(detail)));
}

void warn_view_type_ignored(const StreamFields& fields, std::string_view view_type,
                            Findings& out) {
  out.warnings.push_back(fields.view_type().to_string() + ": " + field::go_quote(view_type) +
                         " is ignored while the stream is disabled (" +
                         std::string(fields.enabled_key) + ": false)");
}

void check_view_type_change(const json* old_view, const json* new_view,
                            const StreamFields& fields, Enforcement how, Findings& out) {
  if (old_view == nullptr || new_view == nullptr || !old_view->is_string() ||
      !new_view->is_string() || *old_view == *new_view)
    return;
  std::string detail = "cannot change the view type of an enabled stream from " +
                       field::go_quote(old_view->get_ref<const std::string&>()) +
                       " (DynamoDB rejects it: \"Table already has an enabled stream\"); "
                       "disable the stream first (" +
                       std::string(fields.enabled_key) +
                       ": false), then re-enable it with the new view type";
  out.report(field::invalid(fields.view_type(), *new_view, std::move(detail)), how);
}

}  // namespace dsw::streams
