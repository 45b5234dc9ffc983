// Scalar typing: go-yaml v2's resolve, which sigs.k8s.io/yaml and so kubectl use (YAML 1.1).
#include "check/yaml_scalar.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>

#include "check/yaml_internal.h"

namespace dsw::yamldoc {

namespace detail {

using nlohmann::json;

namespace {

bool in_list(std::string_view s, std::initializer_list<std::string_view> list) {
  for (auto v : list)
    if (s == v) return true;
  return false;
}

bool is_null_word(std::string_view s) { return in_list(s, {"", "~", "null", "Null", "NULL"}); }
bool is_true_word(std::string_view s) {
  return in_list(s, {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"});
}
bool is_false_word(std::string_view s) {
  return in_list(s, {"n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"});
}
bool is_special_float(std::string_view s) {
  return in_list(s, {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
                     "-.inf", "-.Inf", "-.INF"});
}

std::string without_underscores(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (c != '_') out.push_back(c);
  return out;
}

// Go's strconv.ParseInt(s, 0, 64), then ParseUint(s, 0, 64). Returns an integer json or null.
std::optional<json> go_parse_int(std::string_view s) {
  bool neg = false, sign = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    sign = true;
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  unsigned base = 10;
  if (s[0] == '0') {
    char p = s.size() >= 3 ? static_cast<char>(s[1] | 0x20) : '\0';
    if (p == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else if (p == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (p == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  std::uint64_t acc = 0;
  for (char c : s) {
    unsigned d;
    if (is_digit(c))
      d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = static_cast<unsigned>(c - 'A' + 10);
    else
      return std::nullopt;
    if (d >= base) return std::nullopt;
    if (acc > (std::numeric_limits<std::uint64_t>::max() - d) / base) return std::nullopt;
    acc = acc * base + d;
  }
  constexpr std::uint64_t kMaxInt = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!neg && acc <= kMaxInt) return json(static_cast<std::int64_t>(acc));
  if (neg && acc <= kMaxInt) return json(-static_cast<std::int64_t>(acc));
  if (neg && acc == kMaxInt + 1) return json(std::numeric_limits<std::int64_t>::min());
  if (!sign) return json(acc);  // ParseUint takes no sign
  return std::nullopt;
}

// Skips the digits at s[i...]; returns whether there was at least one.
bool skip_digits(std::string_view s, std::size_t& i) {
  std::size_t start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  return i > start;
}

// Whether s[i...] is empty or exactly an exponent [eE][-+]?[0-9]+ (the end of both grammars).
bool exponent_to_end(std::string_view s, std::size_t i) {
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!skip_digits(s, i)) return false;
  }
  return i == s.size();
}

// go-yaml v2's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool is_yaml_style_float(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!skip_digits(s, i)) return false;
  } else {
    if (!skip_digits(s, i)) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      skip_digits(s, i);
    }
  }
  return exponent_to_end(s, i);
}

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !is_digit(s[i])) return false;
  if (s[i] == '0')
    ++i;
  else
    skip_digits(s, i);
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!skip_digits(s, i)) return false;
  }
  return exponent_to_end(s, i);
}

// A finite float for the text, as Go's ParseFloat would accept it (overflow is not a float).
std::optional<double> parse_float(const std::string& s) {
  errno = 0;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace

// The type and value of a plain scalar (go-yaml v2's resolve with no tag).
Typed resolve(std::string_view in) {
  if (is_null_word(in)) return {ScalarKind::Null, nullptr, "null"};
  if (is_true_word(in)) return {ScalarKind::Bool, true, "true"};
  if (is_false_word(in)) return {ScalarKind::Bool, false, "false"};
  if (is_special_float(in)) {
    double v = in.find("nan") != std::string_view::npos || in.find("NaN") != std::string_view::npos ||
                       in.find("NAN") != std::string_view::npos
                   ? std::numeric_limits<double>::quiet_NaN()
                   : (in[0] == '-' ? -1 : 1) * std::numeric_limits<double>::infinity();
    return {ScalarKind::Float, v, std::string(in)};
  }
  char c = in[0];
  if (c == '.') {
    std::string s(in);
    if (is_yaml_style_float(s)) {
      if (auto d = parse_float(s)) return {ScalarKind::Float, *d, json(*d).dump()};
    }
    return {ScalarKind::String, std::string(in), {}};
  }
  if (is_digit(c) || c == '+' || c == '-') {
    std::string plain = without_underscores(in);
    if (auto i = go_parse_int(plain)) return {ScalarKind::Int, *i, i->dump()};
    if (is_yaml_style_float(plain)) {
      if (auto d = parse_float(plain)) {
        std::string text = is_json_number(plain) ? plain : json(*d).dump();
        return {ScalarKind::Float, *d, std::move(text)};
      }
    }
  }
  return {ScalarKind::String, std::string(in), {}};
}

// Type of a scalar or null node, honouring quotes and explicit tags.
Typed type_of(const YAML::Node& n) {
  const std::string& tag = n.Tag();
  if (n.IsNull()) {
    if (tag == kStrTag) return {ScalarKind::String, "", {}};
    return {ScalarKind::Null, nullptr, "null"};
  }
  const std::string& text = n.Scalar();
  if (tag == kPlainTag) return resolve(text);
  if (tag == kIntTag || tag == kFloatTag || tag == kBoolTag || tag == kNullTag) {
    Typed t = resolve(text);
    bool ok = (tag == kIntTag && t.kind == ScalarKind::Int) ||
              (tag == kFloatTag && (t.kind == ScalarKind::Float || t.kind == ScalarKind::Int)) ||
              (tag == kBoolTag && t.kind == ScalarKind::Bool) ||
              (tag == kNullTag && t.kind == ScalarKind::Null);
    if (!ok) fail(n, "cannot read " + json(text).dump() + " as " + tag);
    if (tag == kFloatTag && t.kind == ScalarKind::Int) {
      t.kind = ScalarKind::Float;
      t.value = t.value.get<double>();
    }
    return t;
  }
  // Quoted and block scalars, !!str, !!binary and tags kubectl does not resolve: strings.
  return {ScalarKind::String, text, {}};
}

}  // namespace detail

ScalarKind resolve_plain(std::string_view text) { return detail::resolve(text).kind; }

}  // namespace dsw::yamldoc
