// Patching: RFC 6902 add/replace operations applied to the yaml-cpp tree itself, rather than
// to the document's JSON, so that what `check` writes back keeps the user's key order and the
// text of every scalar it does not change (new keys go last).
#include "check/yaml_patch.h"

#include <cstddef>
#include <optional>
#include <string>

#include "check/yaml_internal.h"

namespace dsw::yamldoc {

using nlohmann::json;
using detail::is_digit;
using detail::kNonPlainTag;
using detail::kPlainTag;

namespace {

// The unescaped segments of a JSON pointer (RFC 6901).
std::vector<std::string> split_pointer(std::string_view ptr) {
  std::vector<std::string> tokens;
  if (ptr.empty()) return tokens;
  if (ptr.front() != '/') throw Error("invalid JSON pointer " + json(std::string(ptr)).dump());
  std::size_t pos = 1;
  while (true) {
    std::size_t slash = ptr.find('/', pos);
    std::string_view raw = ptr.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
    std::string tok;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        tok.push_back(raw[i + 1] == '0' ? '~' : '/');
        ++i;
      } else if (raw[i] == '~') {
        throw Error("invalid JSON pointer " + json(std::string(ptr)).dump());
      } else {
        tok.push_back(raw[i]);
      }
    }
    tokens.push_back(std::move(tok));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return tokens;
}

// An array index as RFC 6901 writes it (decimal, no leading zero); nothing for anything else.
std::optional<std::size_t> parse_index(const std::string& tok) {
  if (tok.empty() || tok.size() > 18 || (tok.size() > 1 && tok[0] == '0')) return std::nullopt;
  std::size_t v = 0;
  for (char c : tok) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  return v;
}

// The member of a mapping whose key reads as `key`; an invalid node when absent.
YAML::Node find_member(const YAML::Node& map, const std::string& key) {
  for (auto it = map.begin(); it != map.end(); ++it)
    if (detail::key_string(it->first) == key) return it->second;
  return YAML::Node(YAML::NodeType::Undefined);
}

// A scalar node with this text and tag (kPlainTag: read as plain; kNonPlainTag: a string).
YAML::Node scalar_node(const std::string& text, std::string_view tag) {
  YAML::Node out(text);
  out.SetTag(std::string(tag));
  return out;
}

// The item at index i of a sequence; an invalid node when absent.
YAML::Node nth(const YAML::Node& seq, std::size_t i) {
  std::size_t k = 0;
  for (auto it = seq.begin(); it != seq.end(); ++it, ++k)
    if (k == i) return *it;
  return YAML::Node(YAML::NodeType::Undefined);
}

}  // namespace

YAML::Node unshared_copy(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      YAML::Node out(YAML::NodeType::Map);
      for (const auto& kv : node) out.force_insert(unshared_copy(kv.first), unshared_copy(kv.second));
      return out;
    }
    case YAML::NodeType::Sequence: {
      YAML::Node out(YAML::NodeType::Sequence);
      for (const auto& item : node) out.push_back(unshared_copy(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      return scalar_node(node.Scalar(), node.Tag());
    default: {
      YAML::Node out(YAML::NodeType::Null);
      if (!node.Tag().empty()) out.SetTag(node.Tag());
      return out;
    }
  }
}

YAML::Node from_json(const json& value) {
  switch (value.type()) {
    case json::value_t::object: {
      YAML::Node out(YAML::NodeType::Map);
      for (const auto& [k, v] : value.items()) out.force_insert(from_json(k), from_json(v));
      return out;
    }
    case json::value_t::array: {
      YAML::Node out(YAML::NodeType::Sequence);
      for (const auto& v : value) out.push_back(from_json(v));
      return out;
    }
    case json::value_t::string:
      return scalar_node(value.get<std::string>(), kNonPlainTag);  // a string, whatever it looks like
    case json::value_t::null:
      return YAML::Node(YAML::NodeType::Null);
    default:  // booleans and numbers: their JSON text is a plain YAML scalar of the same type
      return scalar_node(value.dump(), kPlainTag);
  }
}

void apply_patch(YAML::Node& root, const std::vector<PatchOp>& ops, std::string_view prefix) {
  for (const auto& op : ops) {
    std::string path = std::string(prefix) + op.path;
    std::vector<std::string> tokens = split_pointer(path);
    auto missing = [&] { return Error("patch path " + json(path).dump() + " does not exist"); };
    YAML::Node value = from_json(op.value);
    if (tokens.empty()) {
      root.reset(value);
      continue;
    }
    YAML::Node cur;
    cur.reset(root);
    for (std::size_t t = 0; t + 1 < tokens.size(); ++t) {
      YAML::Node next(YAML::NodeType::Undefined);
      if (cur.IsMap()) {
        next.reset(find_member(cur, tokens[t]));
      } else if (cur.IsSequence()) {
        if (auto i = parse_index(tokens[t])) next.reset(nth(cur, *i));
      }
      if (!next.IsDefined()) throw missing();
      cur.reset(next);
    }
    const std::string& last = tokens.back();
    bool add = op.kind == PatchOp::Kind::Add;
    if (cur.IsMap()) {
      YAML::Node slot = find_member(cur, last);
      if (slot.IsDefined()) {
        slot = value;  // the tree's node now holds the new value
      } else if (add) {
        cur.force_insert(scalar_node(last, kNonPlainTag), value);
      } else {
        throw missing();
      }
    } else if (cur.IsSequence()) {
      std::size_t size = cur.size();
      std::optional<std::size_t> i = last == "-" && add ? std::optional<std::size_t>(size) : parse_index(last);
      if (!i || *i > size || (!add && *i == size)) throw missing();
      if (!add) {
        YAML::Node slot = nth(cur, *i);
        slot = value;
      } else if (*i == size) {
        cur.push_back(value);
      } else {
        YAML::Node rebuilt(YAML::NodeType::Sequence);
        std::size_t k = 0;
        for (auto it = cur.begin(); it != cur.end(); ++it, ++k) {
          if (k == *i) rebuilt.push_back(value);
          rebuilt.push_back(*it);
        }
        cur = rebuilt;  // replaces the sequence's content in the tree
      }
    } else {
      throw missing();
    }
  }
}

}  // namespace dsw::yamldoc
