#include "dsw/field.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "dsw/utf8.h"

namespace dsw::field {

// ---------------------------------------------------------------------------------------------
// Path

Path Path::root(std::string name) {
  return Path(std::make_shared<const Node>(Node{nullptr, std::move(name)}));
}

Path Path::append(std::string rendered) const {
  return Path(std::make_shared<const Node>(Node{node_, std::move(rendered)}));
}

Path Path::child(std::string name) const { return append("." + name); }

static bool plain_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Path Path::key(std::string_view name) const {
  if (plain_identifier(name)) return append("." + std::string(name));
  return append("[" + go_quote(name) + "]");
}

Path Path::index(std::size_t i) const { return append("[" + std::to_string(i) + "]"); }

std::string Path::to_string() const {
  std::vector<const Node*> chain;
  std::size_t size = 0;
  for (const Node* n = node_.get(); n != nullptr; n = n->parent.get()) {
    chain.push_back(n);
    size += n->segment.size();
  }
  std::string out;
  out.reserve(size);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) out += (*it)->segment;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Error types

std::string_view reason(ErrorType t) {
  switch (t) {
    case ErrorType::NotFound: return "FieldValueNotFound";
    case ErrorType::Required: return "FieldValueRequired";
    case ErrorType::Duplicate: return "FieldValueDuplicate";
    case ErrorType::Invalid: return "FieldValueInvalid";
    case ErrorType::NotSupported: return "FieldValueNotSupported";
    case ErrorType::Forbidden: return "FieldValueForbidden";
    case ErrorType::Internal: return "InternalError";
  }
  return "FieldValueInvalid";
}

std::string_view display(ErrorType t) {
  switch (t) {
    case ErrorType::NotFound: return "Not found";
    case ErrorType::Required: return "Required value";
    case ErrorType::Duplicate: return "Duplicate value";
    case ErrorType::Invalid: return "Invalid value";
    case ErrorType::NotSupported: return "Unsupported value";
    case ErrorType::Forbidden: return "Forbidden";
    case ErrorType::Internal: return "Internal error";
  }
  return "Invalid value";
}

std::string FieldError::body() const {
  std::string s(display(type));
  if (value) {
    s += ": ";
    s += *value;
  }
  if (!detail.empty()) {
    s += ": ";
    s += detail;
  }
  return s;
}

std::string FieldError::to_string() const { return field + ": " + body(); }

FieldError invalid(const Path& p, const nlohmann::json& value, std::string detail) {
  return {ErrorType::Invalid, p.to_string(), render_value(value), std::move(detail)};
}

FieldError not_supported(const Path& p, const nlohmann::json& value,
                         const std::vector<std::string_view>& valid, std::string extra) {
  std::string detail;
  if (!valid.empty()) {
    detail = "supported values: ";
    for (std::size_t i = 0; i < valid.size(); ++i) {
      if (i) detail += ", ";
      detail += go_quote(valid[i]);
    }
  }
  if (!extra.empty()) {
    if (!detail.empty()) detail += " ";
    detail += extra;
  }
  return {ErrorType::NotSupported, p.to_string(), render_value(value), std::move(detail)};
}

FieldError duplicate(const Path& p, const nlohmann::json& value) {
  return {ErrorType::Duplicate, p.to_string(), render_value(value), {}};
}

FieldError forbidden(const Path& p, std::string detail) {
  return {ErrorType::Forbidden, p.to_string(), std::nullopt, std::move(detail)};
}

FieldError required(const Path& p, std::string detail) {
  return {ErrorType::Required, p.to_string(), std::nullopt, std::move(detail)};
}

// ---------------------------------------------------------------------------------------------
// Go-compatible value printing

namespace {

// An approximation of Go's unicode.IsPrint for runes above ASCII: everything is printable
// except the C1 controls, the non-ASCII spaces, and the format and separator characters that
// can reorder or hide text.
bool printable(char32_t r) {
  if (r < 0xA0) return false;  // C1 controls (ASCII handled by the caller)
  if (r == 0xA0 || r == 0xAD || r == 0x1680) return false;
  if (r >= 0x2000 && r <= 0x200F) return false;
  if (r >= 0x2028 && r <= 0x202F) return false;
  if (r >= 0x205F && r <= 0x206F) return false;
  if (r == 0x3000 || r == 0xFEFF) return false;
  if (r >= 0xFFF9 && r <= 0xFFFB) return false;
  if (r == 0xFFFE || r == 0xFFFF) return false;
  if (r >= 0xE000 && r <= 0xF8FF) return false;  // private use (Co)
  if (r >= 0xF0000) return false;                // supplementary private use planes
  return true;
}

void append_hex(std::string& out, const char* prefix, unsigned long v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*lx", prefix, width, v);
  out += buf;
}

// fmt.Sprintf("%v", f) for a float64: strconv.FormatFloat(f, 'g', -1, 64).
std::string go_float(double d) {
  if (d != d) return "NaN";
  if (d == 1.0 / 0.0) return "+Inf";
  if (d == -1.0 / 0.0) return "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // e.g. "-1.2345e+06"
  auto epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp = std::atoi(sci.c_str() + epos + 1);
  bool neg = !mant.empty() && mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 6) {  // shortest %g decides with precision 6
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += eb;
    return out;
  }
  if (exp < 0) {
    out += "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  } else if (static_cast<std::size_t>(exp) + 1 >= digits.size()) {
    out += digits + std::string(static_cast<std::size_t>(exp) + 1 - digits.size(), '0');
  } else {
    out += digits.substr(0, static_cast<std::size_t>(exp) + 1) + "." +
           digits.substr(static_cast<std::size_t>(exp) + 1);
  }
  return out;
}

constexpr std::size_t kMaxCompositeRender = 64;

}  // namespace

std::string go_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        default:
          if (c < 0x20 || c == 0x7F)
            append_hex(out, "\\x", c, 2);
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    auto [r, n] = utf8::decode(s, i);
    if (n == 0) {
      append_hex(out, "\\x", c, 2);
      ++i;
      continue;
    }
    if (printable(r)) {
      out.append(s.substr(i, n));
    } else if (r < 0x10000) {
      append_hex(out, "\\u", r, 4);
    } else {
      append_hex(out, "\\U", r, 8);
    }
    i += n;
  }
  out += '"';
  return out;
}

std::string render_value(const nlohmann::json& v) {
  using t = nlohmann::json::value_t;
  switch (v.type()) {
    case t::null: return "null";
    case t::boolean: return v.get<bool>() ? "true" : "false";
    case t::string: return go_quote(v.get_ref<const std::string&>());
    case t::number_integer: return std::to_string(v.get<std::int64_t>());
    case t::number_unsigned: return std::to_string(v.get<std::uint64_t>());
    case t::number_float: return go_float(v.get<double>());
    default: {
      // Objects and arrays: compact JSON, cut so that a huge value cannot flood a message.
      std::string s = v.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
      if (s.size() > kMaxCompositeRender) {
        std::size_t cut = kMaxCompositeRender;
        while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
        s = s.substr(0, cut) + "...";
      }
      return s;
    }
  }
}

}  // namespace dsw::field
