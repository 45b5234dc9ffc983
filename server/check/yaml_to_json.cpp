// YAML to JSON: a document's JSON value (to_json) and its JSON text (to_json_text), with
// kubectl's scalar typing (yaml_scalar.cpp) and sigs.k8s.io/yaml's rules for mapping keys.
#include "check/yaml_to_json.h"

#include <cmath>
#include <string_view>

#include "check/yaml_internal.h"
#include "dsw/utf8.h"

namespace dsw::yamldoc {

using nlohmann::json;
using detail::fail;
using detail::Typed;

namespace {

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    std::size_t length = utf8::decode(s, i).length;
    if (length == 0) return false;
    i += length;
  }
  return true;
}

// A scalar or null node as its JSON value.
json scalar_value(const YAML::Node& n) {
  Typed t = detail::type_of(n);
  if (t.kind == ScalarKind::String) {
    if (!valid_utf8(t.value.get_ref<const std::string&>())) fail(n, "invalid UTF-8 in a string");
  } else if (t.kind == ScalarKind::Float && !std::isfinite(t.value.get<double>())) {
    fail(n, json(n.Scalar()).dump() + " (infinity or NaN) cannot be represented in JSON");
  }
  return t.value;
}

// The JSON value of a document, counting the values it expands to and the depth it reaches.
class Converter {
 public:
  explicit Converter(const Limits& limits) : limits_(limits) {}

  json convert(const YAML::Node& n, std::size_t depth) {
    if (++nodes_ > limits_.max_nodes) {
      fail(n, "the document has more than " + std::to_string(limits_.max_nodes) +
                  " values (after expanding aliases)");
    }
    switch (n.Type()) {
      case YAML::NodeType::Map: {
        check_depth(n, depth);
        json obj = json::object();
        for (const auto& kv : n) {
          std::string key = detail::key_string(kv.first);
          if (obj.contains(key)) fail(kv.first, "mapping key " + json(key).dump() + " already defined");
          obj[key] = convert(kv.second, depth + 1);
        }
        return obj;
      }
      case YAML::NodeType::Sequence: {
        check_depth(n, depth);
        json arr = json::array();
        for (const auto& item : n) arr.push_back(convert(item, depth + 1));
        return arr;
      }
      case YAML::NodeType::Scalar:
      case YAML::NodeType::Null:
        return scalar_value(n);
      case YAML::NodeType::Undefined:
        break;
    }
    fail(n, "undefined value");
  }

 private:
  void check_depth(const YAML::Node& collection, std::size_t depth) const {
    if (depth >= limits_.max_depth)
      fail(collection, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
  }

  Limits limits_;
  std::size_t nodes_ = 0;
};

// The JSON text of a node, written by hand rather than by nlohmann::json::dump() so that
// numbers keep their written form (1.10, every digit of a big integer) and mapping keys keep
// the document's order.
void write_json(const YAML::Node& n, int indent, int level, std::string& out) {
  if (!n.IsMap() && !n.IsSequence()) {
    Typed t = detail::type_of(n);
    out += t.kind == ScalarKind::String ? t.value.dump() : t.text;
    return;
  }
  const bool map = n.IsMap();
  if (n.size() == 0) {
    out += map ? "{}" : "[]";
    return;
  }
  auto newline = [&](int lvl) {
    if (indent < 0) return;
    out.push_back('\n');
    out.append(static_cast<std::size_t>(indent * lvl), ' ');
  };
  out.push_back(map ? '{' : '[');
  bool first = true;
  for (const auto& item : n) {  // a key/value pair of a mapping, or an item of a sequence
    if (!first) out.push_back(',');
    first = false;
    newline(level + 1);
    if (map) {
      out += json(detail::key_string(item.first)).dump();
      out += indent < 0 ? ":" : ": ";
    }
    write_json(map ? item.second : item, indent, level + 1, out);
  }
  newline(level);
  out.push_back(map ? '}' : ']');
}

}  // namespace

// sigs.k8s.io/yaml turns non-string keys into strings: true, 5, null.
std::string detail::key_string(const YAML::Node& k) {
  if (!k.IsScalar() && !k.IsNull()) fail(k, "a mapping key must be a string, not a collection");
  if (k.IsScalar() && k.Tag() == detail::kPlainTag && k.Scalar() == "<<")
    fail(k, "merge keys (<<) are not supported; write the keys out");
  Typed t = detail::type_of(k);
  std::string s;
  switch (t.kind) {
    case ScalarKind::String:
      s = t.value.get<std::string>();
      if (!valid_utf8(s)) fail(k, "invalid UTF-8 in a mapping key");
      return s;
    case ScalarKind::Float:
      return k.Scalar();
    default:
      return t.text;
  }
}

json to_json(const YAML::Node& node, const Limits& limits) {
  Converter c(limits);
  return c.convert(node, 0);
}

std::string to_json_text(const YAML::Node& node, int indent) {
  std::string out;
  write_json(node, indent, 0, out);
  return out;
}

}  // namespace dsw::yamldoc
