// Read-only access to members of JSON objects that may have any shape (internal header).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace dsw::detail {

// The member `key` of `obj`, or nullptr when `obj` is not an object or has no such member.
inline const nlohmann::json* member(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// The string member `key`, or "" when absent, null or not a string.
inline std::string_view string_member(const nlohmann::json& obj, const char* key) {
  const nlohmann::json* v = member(obj, key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_ref<const std::string&>())
                                        : std::string_view();
}

}  // namespace dsw::detail
