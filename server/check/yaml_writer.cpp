// The YAML writer: a document as block-style YAML text that reads back, for kubectl (YAML 1.1)
// and YAML 1.2 tools alike, as the same values of the same types.
//
// yaml-cpp's Emitter writes the string scalars: it decides whether YAML's syntax lets a string
// stand as a plain scalar, and writes it plain or double-quoted with its escapes. The rest is
// written here, because the Emitter cannot decide it, or does not write it as `check` always
// has (its output must not move; what the Emitter of yaml-cpp 0.7 writes instead is noted):
//  - typing: which strings must be quoted although YAML's syntax allows them plain, because
//    kubectl (YAML 1.1) or a YAML 1.2 tool would read them as something else (numbers, booleans,
//    null, `<<`), and that numbers and booleans read as plain keep the text the user wrote
//    (1.10, 0777, yes) rather than being re-typed (a null is written `null`);
//  - escapes of control characters, NBSP, U+2028/U+2029 and the BOM in double quotes: the
//    Emitter writes \b and \f, hex digits in lower case (\x1b, \ufeff), leaves DEL, U+2028 and
//    U+2029 unescaped and escapes NBSP, where `check` writes \x08, \x1B, \uFEFF, \x7F, \L, \P
//    and a plain NBSP (EscapeAsJson writes \u001b, \b and \u00a0: no closer);
//  - literal block scalars: the Emitter's Literal always writes `|` (clip), so every string
//    would read back with exactly one final line break, whatever it had (none, or several),
//    and it writes an empty line after a final line break; `check` writes `|-`, `|` or `|+`
//    so that every string reads back exactly;
//  - the block layout: the Emitter indents a sequence under a mapping key (`key:\n  - a`) and
//    starts a nested sequence on a line of its own (`-\n  - a`), where `check` writes
//    `key:\n- a` and `- - a` as kubectl and kustomize do (no indent setting changes that:
//    yaml-cpp ignores an indent below 2); and it chooses explicit keys (`? key`) by another
//    length and writes a mapping after `? key\n:` on the same line. Mappings under mappings
//    and empty collections (`{}`, `[]`) it would write the same, but one layout written by one
//    piece of code is kept rather than two that must agree.
#include "check/yaml_writer.h"

#include <cstddef>
#include <cstdio>
#include <string_view>

#include "check/yaml_internal.h"
#include "dsw/utf8.h"

namespace dsw::yamldoc {

using detail::is_digit;
using detail::kPlainTag;
using detail::kStrTag;
using detail::resolve;
using detail::type_of;
using detail::Typed;

namespace {

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
// (see the top of this file), or is not valid UTF-8 (which to_json never lets through).
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

// `s` double-quoted with the escapes the Emitter would write differently (see the top of this
// file).
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

// The block layout of a non-empty collection (own code: see the top of this file).
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

}  // namespace

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

}  // namespace dsw::yamldoc
