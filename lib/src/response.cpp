#include "dsw/response.h"

#include <set>

#include "dsw/utf8.h"

namespace dsw {

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Allowed: return "allowed";
    case Verdict::Denied: return "denied";
    case Verdict::Warned: return "warned";
    case Verdict::Patched: return "patched";
    case Verdict::Error: return "error";
  }
  return "error";
}

Response Response::Allowed() { return Response(); }

Response Response::Denied(std::string message) {
  Response r;
  r.allowed_ = false;
  r.verdict_ = Verdict::Denied;
  if (message.empty()) message = "denied by the dynamodb-streams-webhook";
  r.status_ = Status{403, "Forbidden", std::move(message), std::nullopt};
  return r;
}

Response Response::Invalid(std::string group, std::string kind, std::string name,
                           field::ErrorList errors) {
  // k8s.io/apimachinery/pkg/api/errors.NewInvalid: `<Kind>.<group> "<name>" is invalid: <agg>`,
  // where the aggregate drops repeated messages and brackets more than one.
  std::string message = kind + "." + group + " " + field::go_quote(name) + " is invalid";
  std::set<std::string> seen;
  std::string agg;
  for (const auto& e : errors) {
    std::string s = e.to_string();
    if (!seen.insert(s).second) continue;
    if (seen.size() > 1) agg += ", ";
    agg += s;
  }
  if (!seen.empty()) message += ": " + (seen.size() == 1 ? agg : "[" + agg + "]");
  Response r;
  r.allowed_ = false;
  r.verdict_ = Verdict::Denied;
  r.status_ = Status{422, "Invalid", std::move(message),
                     Status::Details{std::move(group), std::move(kind), std::move(name),
                                     std::move(errors)}};
  return r;
}

Response Response::Errored(int code, std::string message) {
  Response r;
  r.allowed_ = false;
  r.verdict_ = Verdict::Error;
  if (message.empty()) message = "the webhook could not handle the request";
  r.status_ = Status{code, code >= 500 ? "InternalError" : "BadRequest", std::move(message),
                     std::nullopt};
  return r;
}

Response Response::Patched(const Patch& patch) {
  Response r;
  if (!patch.empty()) {
    r.patch_ = patch.to_json();
    r.patch_ops_ = patch.size();
    r.verdict_ = Verdict::Patched;
  }
  return r;
}

Response Response::Warned(Response denial) {
  if (denial.allowed_ || !denial.status_ ||
      (denial.status_->code != 403 && denial.status_->code != 422))
    return denial;
  std::vector<std::string> warnings;
  const Status& st = *denial.status_;
  if (st.details && !st.details->causes.empty()) {
    warnings.reserve(st.details->causes.size() + denial.warnings_.size());
    for (const auto& e : st.details->causes) warnings.push_back(sanitize_warning(e.to_string()));
  } else {
    warnings.push_back(sanitize_warning(st.message));
  }
  for (auto& w : denial.warnings_) warnings.push_back(std::move(w));  // already sanitized
  cap_warnings(warnings);
  Response r;
  r.warnings_ = std::move(warnings);
  r.verdict_ = Verdict::Warned;
  return r;
}

void cap_warnings(std::vector<std::string>& warnings, std::size_t max) {
  if (max < 2) max = 2;
  if (warnings.size() <= max) return;
  const std::size_t left_out = warnings.size() - (max - 1);
  warnings.resize(max - 1);
  warnings.push_back("... and " + std::to_string(left_out) + " more warnings");
}

Response& Response::with_warnings(std::vector<std::string> warnings) {
  for (auto& w : warnings) warnings_.push_back(sanitize_warning(w));
  return *this;
}

namespace {

std::size_t utf8_len(std::string_view s, std::size_t i) { return utf8::decode(s, i).length; }

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    // A run that needs no escaping (printable ASCII but '"' and '\\', and valid UTF-8: nearly
    // every uid, name and message) is copied in one append.
    std::size_t run = i;
    while (run < s.size()) {
      auto c = static_cast<unsigned char>(s[run]);
      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
        ++run;
      } else if (c >= 0x80) {
        std::size_t n = utf8_len(s, run);
        if (n == 0) break;
        run += n;
      } else {
        break;
      }
    }
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      if (i == s.size()) break;
    }
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += "\\ufffd";  // a byte that does not start a valid UTF-8 sequence
        }
    }
    ++i;
  }
  out += '"';
}

std::string sanitize_warning(std::string_view text) {
  constexpr std::size_t kMax = 256;
  std::string out;
  out.reserve(text.size() < kMax ? text.size() : kMax);
  bool cut = false;
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    std::string piece;
    std::size_t n = 1;
    if (c < 0x20 || c == 0x7F) {
      piece = " ";
    } else if (c < 0x80) {
      piece.assign(1, static_cast<char>(c));
    } else {
      n = utf8_len(text, i);
      if (n == 0) {
        piece = "\xEF\xBF\xBD";  // U+FFFD
        n = 1;
      } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
        piece = " ";  // C1 control
      } else {
        piece.assign(text.substr(i, n));
      }
    }
    if (out.size() + piece.size() > kMax) {
      cut = true;
      break;
    }
    out += piece;
    i += n;
  }
  if (cut) {
    // Make room for the ellipsis at a character boundary.
    while (out.size() > kMax - 3) {
      std::size_t k = out.size() - 1;
      while (k > 0 && (static_cast<unsigned char>(out[k]) & 0xC0) == 0x80) --k;
      out.resize(k);
    }
    out += "...";
  }
  return out;
}

std::string base64_encode(std::string_view data) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    auto a = static_cast<unsigned char>(data[i]), b = static_cast<unsigned char>(data[i + 1]),
         c = static_cast<unsigned char>(data[i + 2]);
    out += tbl[a >> 2];
    out += tbl[((a & 3) << 4) | (b >> 4)];
    out += tbl[((b & 15) << 2) | (c >> 6)];
    out += tbl[c & 63];
  }
  if (i < data.size()) {
    auto a = static_cast<unsigned char>(data[i]);
    out += tbl[a >> 2];
    if (i + 1 < data.size()) {
      auto b = static_cast<unsigned char>(data[i + 1]);
      out += tbl[((a & 3) << 4) | (b >> 4)];
      out += tbl[(b & 15) << 2];
    } else {
      out += tbl[(a & 3) << 4];
      out += '=';
    }
    out += '=';
  }
  return out;
}

std::string Response::encode(std::string_view api_version, std::string_view uid) const {
  std::string out;
  out.reserve(192 + (patch_ ? patch_->size() * 4 / 3 : 0));
  out += R"({"apiVersion":)";
  append_json_string(out, api_version);
  out += R"(,"kind":"AdmissionReview","response":{"uid":)";
  append_json_string(out, uid);
  out += allowed_ ? R"(,"allowed":true)" : R"(,"allowed":false)";
  if (patch_) {
    out += R"(,"patchType":"JSONPatch","patch":")";
    out += base64_encode(*patch_);
    out += '"';
  }
  if (status_) {
    out += R"(,"status":{"metadata":{},"status":"Failure","message":)";
    append_json_string(out, status_->message);
    out += R"(,"reason":)";
    append_json_string(out, status_->reason);
    if (status_->details) {
      const auto& d = *status_->details;
      out += R"(,"details":{"name":)";
      append_json_string(out, d.name);
      out += R"(,"group":)";
      append_json_string(out, d.group);
      out += R"(,"kind":)";
      append_json_string(out, d.kind);
      out += R"(,"causes":[)";
      for (std::size_t i = 0; i < d.causes.size(); ++i) {
        const auto& e = d.causes[i];
        if (i) out += ',';
        out += R"({"reason":)";
        append_json_string(out, field::reason(e.type));
        out += R"(,"message":)";
        append_json_string(out, e.body());
        out += R"(,"field":)";
        append_json_string(out, e.field);
        out += '}';
      }
      out += "]}";
    }
    out += R"(,"code":)";
    out += std::to_string(status_->code);
    out += '}';
  }
  if (!warnings_.empty()) {
    out += R"(,"warnings":[)";
    for (std::size_t i = 0; i < warnings_.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, warnings_[i]);
    }
    out += ']';
  }
  out += "}}";
  return out;
}

}  // namespace dsw
