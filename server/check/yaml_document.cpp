// Loading: the documents of a YAML stream or a JSON text, each with its own text where it can
// be cut out exactly. yaml-cpp reads the YAML; this code refuses what kubectl refuses and
// yaml-cpp would accept (input that is not printable UTF-8), guards against yaml-cpp 0.7's
// endless loop on a stray top-level ',' (jbeder/yaml-cpp#1040), and reads a stream of JSON
// values, which is not a YAML stream.
#include "check/yaml_document.h"

#include <cstddef>
#include <cstdio>
#include <sstream>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include "check/yaml_to_json.h"
#include "dsw/utf8.h"

namespace dsw::yamldoc {

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

// A JSON value made readable for yaml-cpp: JSON writes a character beyond U+FFFF as a pair of
// UTF-16 escapes (`"\ud83d\ude00"`, as `jq -a` and Python's json.dumps do), which YAML has no
// place for (yaml-cpp 0.7 refuses "invalid unicode: 55357"); the pair becomes YAML's 8-digit
// escape of the same character (`"\U0001f600"`). Everything else is kept as it is; a lone
// surrogate is still refused by yaml-cpp.
std::string combine_surrogate_escapes(std::string_view json) {
  auto hex4 = [&](std::size_t at, unsigned& v) {
    if (at + 4 > json.size()) return false;
    v = 0;
    for (std::size_t k = at; k < at + 4; ++k) {
      char c = json[k];
      unsigned d = c >= '0' && c <= '9'   ? static_cast<unsigned>(c - '0')
                   : c >= 'a' && c <= 'f' ? static_cast<unsigned>(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? static_cast<unsigned>(c - 'A' + 10)
                                          : 16u;
      if (d == 16) return false;
      v = v * 16 + d;
    }
    return true;
  };
  std::string out;
  out.reserve(json.size());
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (!in_string) {
      if (c == '"') in_string = true;
      out.push_back(c);
      continue;
    }
    if (c == '"') {
      in_string = false;
      out.push_back(c);
      continue;
    }
    if (c != '\\' || i + 1 >= json.size()) {
      out.push_back(c);
      continue;
    }
    unsigned hi = 0, lo = 0;
    if (json[i + 1] == 'u' && hex4(i + 2, hi) && hi >= 0xD800 && hi <= 0xDBFF &&
        json.substr(i + 6, 2) == "\\u" && hex4(i + 8, lo) && lo >= 0xDC00 &&
        lo <= 0xDFFF) {
      unsigned cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
      char buf[11];
      std::snprintf(buf, sizeof buf, "\\U%08x", cp);
      out.append(buf);
      i += 11;
      continue;
    }
    out.push_back(c);  // the escape's backslash and the character it escapes
    out.push_back(json[++i]);
  }
  return out;
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
      auto docs = load_all(combine_surrogate_escapes(part), line_offset);
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
