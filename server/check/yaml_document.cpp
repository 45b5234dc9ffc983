#include "check/yaml_document.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include "dsw/utf8.h"

namespace dsw::yamldoc {

using nlohmann::json;

namespace {

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";
constexpr std::string_view kIntTag = "tag:yaml.org,2002:int";
constexpr std::string_view kFloatTag = "tag:yaml.org,2002:float";
constexpr std::string_view kBoolTag = "tag:yaml.org,2002:bool";
constexpr std::string_view kNullTag = "tag:yaml.org,2002:null";
// Tag yaml-cpp gives a plain scalar without a tag, and the one of a quoted or block scalar.
constexpr std::string_view kPlainTag = "?";
constexpr std::string_view kNonPlainTag = "!";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int line_of(const YAML::Node& n) { return n.Mark().is_null() ? 0 : n.Mark().line + 1; }
int column_of(const YAML::Node& n) { return n.Mark().is_null() ? 0 : n.Mark().column + 1; }

[[noreturn]] void fail(const YAML::Node& at, std::string message) {
  throw Error(std::move(message), line_of(at), column_of(at));
}

// ---- Scalar typing (go-yaml v2's resolve) -------------------------------------------------

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

struct Typed {
  ScalarKind kind;
  json value;
  std::string text;  // the JSON text of a number
};

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

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    std::size_t length = utf8::decode(s, i).length;
    if (length == 0) return false;
    i += length;
  }
  return true;
}

// ---- YAML -> JSON -------------------------------------------------------------------------

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
          std::string key = key_string(kv.first);
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
        return scalar(n);
      case YAML::NodeType::Undefined:
        break;
    }
    fail(n, "undefined value");
  }

  static json scalar(const YAML::Node& n) {
    Typed t = type_of(n);
    if (t.kind == ScalarKind::String) {
      if (!valid_utf8(t.value.get_ref<const std::string&>())) fail(n, "invalid UTF-8 in a string");
    } else if (t.kind == ScalarKind::Float && !std::isfinite(t.value.get<double>())) {
      fail(n, json(n.Scalar()).dump() + " (infinity or NaN) cannot be represented in JSON");
    }
    return t.value;
  }

  // sigs.k8s.io/yaml turns non-string keys into strings: true, 5, null.
  static std::string key_string(const YAML::Node& k) {
    if (!k.IsScalar() && !k.IsNull()) fail(k, "a mapping key must be a string, not a collection");
    if (k.IsScalar() && k.Tag() == kPlainTag && k.Scalar() == "<<")
      fail(k, "merge keys (<<) are not supported; write the keys out");
    Typed t = type_of(k);
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

 private:
  void check_depth(const YAML::Node& collection, std::size_t depth) const {
    if (depth >= limits_.max_depth)
      fail(collection, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
  }

  Limits limits_;
  std::size_t nodes_ = 0;
};

// ---- JSON text ------------------------------------------------------------------------------

void write_json(const YAML::Node& n, int indent, int level, std::string& out) {
  if (!n.IsMap() && !n.IsSequence()) {
    Typed t = type_of(n);
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
      out += json(Converter::key_string(item.first)).dump();
      out += indent < 0 ? ":" : ": ";
    }
    write_json(map ? item.second : item, indent, level + 1, out);
  }
  newline(level);
  out.push_back(map ? '}' : ']');
}

// ---- YAML text ------------------------------------------------------------------------------
//
// yaml-cpp's Emitter writes the string scalars: it decides whether YAML's syntax lets a string
// stand as a plain scalar, and writes it plain or double-quoted with its escapes. This code
// keeps what the Emitter cannot decide, or cannot write as `check` always has (its output must
// not move):
//  - typing: which strings must be quoted although YAML's syntax allows them plain, because
//    kubectl (YAML 1.1) or a YAML 1.2 tool would read them as something else (numbers, booleans,
//    null, `<<`), and that numbers, booleans and nulls keep their written form (1.10, 0777);
//  - escapes of control characters, NBSP, U+2028/U+2029 and the BOM in double quotes: yaml-cpp
//    0.7 writes \b and \f, hex digits in lower case (\x1b, \ufeff), leaves DEL, U+2028 and
//    U+2029 unescaped and escapes NBSP, where `check` writes \x08, \x1B, \uFEFF, \x7F, \L, \P
//    and a plain NBSP;
//  - literal block scalars (`|`): the Emitter's Literal always writes `|` (clip), so a string
//    without a final line break would read back with one, and it indents empty lines;
//  - the block layout: the Emitter indents a sequence under a mapping key (`key:\n  - a`) and
//    starts a nested sequence on a line of its own (`-\n  - a`), where `check` writes
//    `key:\n- a` and `- - a` as kubectl and kustomize do (no indent setting changes that:
//    yaml-cpp ignores an indent below 2); and it chooses explicit keys (`? key`) by another
//    length and writes a mapping after `? key\n:` on the same line.

// Code points YAML treats as line breaks or that a plain or block scalar cannot hold: C0 and C1
// controls (except tab and newline, handled by the callers), DEL, U+2028, U+2029, BOM.
bool is_troublesome(char32_t cp) {
  return (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF;
}

// Whether `s` holds a troublesome code point or is not valid UTF-8.
bool has_troublesome(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto [cp, length] = utf8::decode(s, i);
    if (length == 0 || is_troublesome(cp)) return true;
    i += length;
  }
  return false;
}

// Whether double_quoted() must write `s`: it holds a code point the Emitter escapes otherwise
// (see above), or is not valid UTF-8 (which to_json never lets through).
bool needs_own_escapes(std::string_view s) {
  return has_troublesome(s) || s.find("\xC2\xA0") != std::string_view::npos;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

// Whether a string may be written plain and still read back as this same string, by kubectl
// (YAML 1.1) and by YAML 1.2 tools alike, where YAML's syntax lets it be plain at all. The
// Emitter decides the syntax: it quotes an indicator at the start, `: ` and ` #`, tabs and line
// breaks, a trailing space or colon (text read plain from a flow collection, `{a: b: c}`, or
// folded from several lines). `as_read`: the text was read as a plain scalar and typed as a
// string, so it keeps its type written as it was (2024-01-01, 1.2.3, 10Gi, yEs). Deliberately
// conservative.
bool may_stay_plain(std::string_view s, bool as_read) {
  // Whatever its origin: not a merge key, no code point that yaml-cpp reads into a plain
  // scalar but YAML takes as a line break or refuses (CR, NEL, U+2028, a BOM), no `---` or `...`
  // that would start a line as a document marker, no leading `?` or `:`.
  if (s.empty() || s == "<<" || has_troublesome(s)) return false;
  if (s.substr(0, 3) == "---" || s.substr(0, 3) == "..." || s.front() == '?' || s.front() == ':')
    return false;
  if (as_read) return true;
  // A string of any other origin (quoted, block or tagged in the input, or a patch value) is
  // quoted when any YAML reader might type it otherwise: a number-like start, a boolean or
  // null word in any case (YAML 1.1 and 1.2 differ), or anything go-yaml types as non-string.
  if (s.size() > 512 || is_digit(s.front())) return false;
  if (std::string_view("-.+~=").find(s.front()) != std::string_view::npos) return false;
  for (auto w : {"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
    if (ieq(s, w)) return false;
  return resolve(s).kind == ScalarKind::String;
}

// What yaml-cpp's Emitter writes for the string `s` alone in `format`: YAML::Auto (plain where
// YAML's syntax allows it, else double-quoted) or YAML::DoubleQuoted.
std::string emitted(std::string_view s, YAML::EMITTER_MANIP format) {
  YAML::Emitter e;
  e << format << std::string(s);
  return std::string(e.c_str(), e.size());
}

// `s` double-quoted with the escapes the Emitter would write differently (see above).
std::string double_quoted(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    auto [cp, length] = utf8::decode(s, i);
    if (length == 0) {  // not reachable for documents to_json accepted; keep the byte visible
      cp = static_cast<unsigned char>(s[i]);
      length = 1;
    }
    char buf[16];
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case 0x2028: out += "\\L"; break;
      case 0x2029: out += "\\P"; break;
      default:
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
          std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(cp));
          out += buf;
        } else if (cp == 0xFEFF) {
          out += "\\uFEFF";
        } else {
          out.append(s.substr(i, length));
        }
    }
    i += length;
  }
  out += "\"";
  return out;
}

bool literal_ok(std::string_view s) {
  if (s.find('\n') == std::string_view::npos || s.find('\r') != std::string_view::npos) return false;
  if (s.front() == ' ' || s.front() == '\t' || s.front() == '\n') return false;
  return !has_troublesome(s);
}

// `s` as a literal block scalar whose lines are indented `indent`: the chomping indicator
// keeps the final line breaks exactly, and empty lines stay empty.
std::string literal_block(std::string_view s, int indent) {
  std::size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
  std::string out = trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n";
  std::string_view body = s.substr(0, s.size() - trailing);
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t nl = body.find('\n', pos);
    std::string_view line = body.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    if (!line.empty()) out.append(static_cast<std::size_t>(indent), ' ').append(line);
    out.push_back('\n');
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  for (std::size_t k = 1; k < trailing; ++k) out.push_back('\n');
  return out;
}

// A string as a YAML scalar (see may_stay_plain for `as_read`). `block_indent` >= 0 allows a
// literal block scalar whose lines are indented that far; the result then starts with "|" and
// ends with a newline.
std::string string_scalar(std::string_view s, bool as_read, int block_indent) {
  if (block_indent >= 0 && literal_ok(s)) return literal_block(s, block_indent);
  const bool own_escapes = needs_own_escapes(s);
  if (may_stay_plain(s, as_read)) {
    std::string text = emitted(s, YAML::Auto);
    if (text == s || !own_escapes) return text;  // plain, or quoted by the Emitter
  } else if (!own_escapes) {
    return emitted(s, YAML::DoubleQuoted);
  }
  return double_quoted(s);
}

// A scalar or null node as YAML text (see string_scalar for block_indent).
std::string scalar_text(const YAML::Node& n, int block_indent) {
  if (n.IsNull()) return n.Tag() == kStrTag ? "\"\"" : "null";
  Typed t = type_of(n);
  const bool as_read = n.Tag() == kPlainTag;
  if (t.kind == ScalarKind::String)
    return string_scalar(t.value.get_ref<const std::string&>(), as_read, block_indent);
  // A number, boolean or null read as plain keeps its written form (1.10 stays 1.10); one
  // typed by a tag (!!int "12") is written in its JSON form.
  return as_read ? n.Scalar() : t.text;
}

bool is_empty_collection(const YAML::Node& n) {
  return (n.IsMap() || n.IsSequence()) && n.size() == 0;
}

void emit(const YAML::Node& n, int indent, bool inline_first, std::string& out);

void emit_value_after_indicator(const YAML::Node& v, int indent, std::string& out) {
  // After "key:" or "- ": scalars and empty collections stay on the line.
  if (v.IsMap() && v.size() > 0) {
    out.push_back('\n');
    emit(v, indent + 2, false, out);
  } else if (is_empty_collection(v)) {
    out += v.IsMap() ? " {}\n" : " []\n";
  } else {
    std::string text = scalar_text(v, indent + 2);
    out.push_back(' ');
    out += text;
    if (text.empty() || text.back() != '\n') out.push_back('\n');
  }
}

// Longest key text written as an implicit key `key: value` (bytes; YAML allows 1024 characters).
constexpr std::size_t kMaxImplicitKey = 1000;

// The block layout of a non-empty collection (own code: see the top of this section).
void emit(const YAML::Node& n, int indent, bool inline_first, std::string& out) {
  bool first = true;
  auto pad = [&] {
    if (!(first && inline_first)) out.append(static_cast<std::size_t>(indent), ' ');
    first = false;
  };
  if (n.IsMap()) {
    for (const auto& kv : n) {
      pad();
      std::string key = scalar_text(kv.first, -1);
      if (key.size() > kMaxImplicitKey) {
        // Too long for an implicit key (YAML and yaml-cpp stop at 1024 characters): explicit.
        out += "? " + key + "\n";
        out.append(static_cast<std::size_t>(indent), ' ');
      } else {
        out += key;
      }
      out.push_back(':');
      const YAML::Node& v = kv.second;
      if (v.IsSequence() && v.size() > 0) {
        out.push_back('\n');
        emit(v, indent, false, out);  // "key:\n- item", as kubectl and kustomize write it
      } else {
        emit_value_after_indicator(v, indent, out);
      }
    }
  } else if (n.IsSequence()) {
    for (const auto& item : n) {
      pad();
      out += "-";
      if ((item.IsMap() || item.IsSequence()) && item.size() > 0) {
        out.push_back(' ');
        emit(item, indent + 2, true, out);
      } else {
        emit_value_after_indicator(item, indent, out);
      }
    }
  }
}

// ---- Patch application ------------------------------------------------------------------------

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
    if (Converter::key_string(it->first) == key) return it->second;
  return YAML::Node(YAML::NodeType::Undefined);
}

// A scalar node with this text and tag (kPlainTag: read as plain; kNonPlainTag: a string).
YAML::Node scalar_node(const std::string& text, std::string_view tag) {
  YAML::Node out(text);
  out.SetTag(std::string(tag));
  return out;
}

YAML::Node nth(const YAML::Node& seq, std::size_t i) {
  std::size_t k = 0;
  for (auto it = seq.begin(); it != seq.end(); ++it, ++k)
    if (k == i) return *it;
  return YAML::Node(YAML::NodeType::Undefined);
}

}  // namespace

ScalarKind resolve_plain(std::string_view text) { return resolve(text).kind; }

json to_json(const YAML::Node& node, const Limits& limits) {
  Converter c(limits);
  return c.convert(node, 0);
}

std::string to_json_text(const YAML::Node& node, int indent) {
  std::string out;
  write_json(node, indent, 0, out);
  return out;
}

std::string to_yaml_text(const YAML::Node& node) {
  std::string out;
  if ((node.IsMap() || node.IsSequence()) && node.size() > 0) {
    emit(node, 0, false, out);
  } else if (is_empty_collection(node)) {
    out = node.IsMap() ? "{}\n" : "[]\n";
  } else {
    out = scalar_text(node, 2);
    if (out.empty() || out.back() != '\n') out.push_back('\n');
  }
  return out;
}

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

// ---- Loading ----------------------------------------------------------------------------------

namespace {

Error parse_error(const YAML::Exception& e, int line_offset) {
  const int line = e.mark.is_null() ? 0 : e.mark.line + 1 + line_offset;
  const int column = e.mark.is_null() ? 0 : e.mark.column + 1;
  if (dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr)
    return Error("nesting too deep (the YAML parser stops at 500 levels)", line, column);
  return Error(e.msg, line, column);
}

// Receives the parser's events and keeps nothing: for walking a stream without building it.
struct IgnoreEvents : YAML::EventHandler {
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Refuses a stream on which YAML::LoadAll() would never return. yaml-cpp 0.7 reports an empty
// document for a stray top-level ',' (`{},`, `[],`, `"x",`, `- a\n,`) without consuming it,
// again and again, allocating a node each time until memory runs out (jbeder/yaml-cpp#1040,
// fixed after 0.7). Walking the stream with a parser that builds nothing finds that in linear
// time: a document that starts where the previous one started consumed nothing, and a stream
// cannot hold more documents than it has bytes (+1 as a margin).
void check_parser_progresses(const std::string& text, int line_offset) {
  struct Marks : IgnoreEvents {
    void OnDocumentStart(const YAML::Mark& m) override {
      previous = current;
      current = m;
      ++documents;
    }
    YAML::Mark previous = YAML::Mark::null_mark();
    YAML::Mark current = YAML::Mark::null_mark();
    std::size_t documents = 0;
  } marks;
  std::istringstream in(text);
  YAML::Parser parser(in);
  while (parser.HandleNextDocument(marks)) {
    bool stuck = !marks.previous.is_null() && marks.previous.pos == marks.current.pos;
    if (!stuck && marks.documents <= text.size() + 1) continue;
    const YAML::Mark& at = marks.current;
    bool comma = at.pos >= 0 && static_cast<std::size_t>(at.pos) < text.size() &&
                 text[static_cast<std::size_t>(at.pos)] == ',';
    throw Error(comma ? "unexpected ',' outside a flow collection ([...] or {...})"
                      : "the YAML parser makes no progress here",
                at.line + 1 + line_offset, at.column + 1);
  }
}

// Every document of a YAML stream, as yaml-cpp reads it. Throws Error on a syntax error.
std::vector<YAML::Node> load_all(const std::string& text, int line_offset) {
  try {
    check_parser_progresses(text, line_offset);
    return YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw parse_error(e, line_offset);
  }
}

int count_lines(std::string_view s) {
  int n = 0;
  for (char c : s)
    if (c == '\n') ++n;
  return n;
}

// Splits a JSON text into its top-level values when it is one or more JSON objects or arrays
// separated by whitespace; returns nothing when it is anything else.
std::optional<std::vector<std::string_view>> split_json_values(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (true) {
    while (i < text.size() && ws(text[i])) ++i;
    if (i == text.size()) break;
    if (text[i] != '{' && text[i] != '[') return std::nullopt;
    std::size_t start = i, depth = 0;
    bool in_string = false;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (in_string) {
        if (c == '\\') ++i;
        else if (c == '"') in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++i;
          break;
        }
      } else if (c == '#') {
        return std::nullopt;  // a YAML comment: not JSON
      }
    }
    if (depth != 0) return std::nullopt;
    parts.push_back(text.substr(start, i - start));
  }
  if (parts.empty()) return std::nullopt;
  return parts;
}

bool is_marker_line(std::string_view line, std::string_view marker) {
  if (line.substr(0, 3) != marker) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r' || line[3] == '\n';
}

// Whether the text after a `---` holds nothing but blanks and a comment.
bool bare_marker(std::string_view line) {
  std::size_t i = 3;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
  return i == line.size() || line[i] == '#';
}

// The documents' own texts: the stream cut before every `---` line. Empty when the stream
// cannot be cut that way with certainty (directives, `...` followed by a document, a cut piece
// that is not exactly one document equal to the stream's).
std::vector<std::optional<std::string>> document_sources(std::string_view text,
                                                         const std::vector<YAML::Node>& docs) {
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  std::vector<std::string> chunks(1);
  for (auto line : lines) {
    if (!line.empty() && line[0] == '%') return {};
    if (is_marker_line(line, "---") && !chunks.back().empty()) chunks.emplace_back();
    chunks.back().append(line);
  }
  std::vector<std::optional<std::string>> sources;
  for (const auto& chunk : chunks) {
    std::vector<YAML::Node> piece;
    try {
      piece = load_all(chunk, 0);
    } catch (const Error&) {
      return {};
    }
    if (piece.empty()) continue;
    if (piece.size() != 1 || sources.size() >= docs.size()) return {};
    try {
      if (to_json(piece[0]) != to_json(docs[sources.size()])) return {};
    } catch (const Error&) {
      sources.emplace_back();  // the stream's document fails conversion; reported later
      continue;
    }
    std::string body = chunk;
    if (is_marker_line(body, "---") && bare_marker(body.substr(0, body.find('\n')))) {
      std::size_t nl = body.find('\n');
      body = nl == std::string::npos ? std::string() : body.substr(nl + 1);
    }
    if (!body.empty() && body.back() != '\n') body.push_back('\n');
    sources.emplace_back(std::move(body));
  }
  if (sources.size() != docs.size()) return {};
  return sources;
}

// YAML streams are UTF-8 text of printable characters (YAML 1.2's c-printable); kubectl
// refuses anything else, and yaml-cpp would guess other encodings or accept control bytes.
void check_printable(std::string_view text) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    auto [cp, length] = utf8::decode(text, i);
    if (length == 0) throw Error("the input is not valid UTF-8", line, column);
    i += length;
    bool printable = cp == '\t' || cp == '\n' || cp == '\r' || (cp >= 0x20 && cp <= 0x7E) ||
                     cp == 0x85 || (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
                     cp >= 0x10000;
    if (!printable) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "U+%04lX", static_cast<unsigned long>(cp));
      throw Error(std::string("control character ") + buf + " is not allowed in YAML", line, column);
    }
    if (cp == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

}  // namespace

std::vector<Document> load_stream(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  check_printable(text);
  std::vector<Document> out;
  if (auto parts = split_json_values(text)) {
    for (auto part : *parts) {
      int line_offset = count_lines(text.substr(0, static_cast<std::size_t>(part.data() - text.data())));
      auto docs = load_all(std::string(part), line_offset);
      if (docs.size() != 1) throw Error("cannot read the JSON value", line_offset + 1);
      std::string source(part);
      source.push_back('\n');
      out.push_back({docs[0], std::move(source), line_offset});
    }
    return out;
  }
  std::string owned(text);
  auto docs = load_all(owned, 0);
  auto sources = document_sources(text, docs);
  for (std::size_t i = 0; i < docs.size(); ++i)
    out.push_back({docs[i], sources.empty() ? std::nullopt : sources[i], 0});
  return out;
}

}  // namespace dsw::yamldoc
