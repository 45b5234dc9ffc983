#include "logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>

#include "dsw/utf8.h"

namespace dsw::logging {

namespace {

std::shared_ptr<spdlog::logger> g_logger;  // NOLINT: process-wide, set once by init()
Format g_format = Format::Text;
// Longest value written for one field: identifiers are short; anything longer is cut.
constexpr std::size_t kMaxValue = 512;

// Standard error through a buffer: the logging thread writes whole batches with one write(2)
// instead of one per line. Flushed when 64 KiB are pending, every second, on warnings and errors,
// and at shutdown.
class BufferedStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ~BufferedStderrSink() override { write_out(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    buf_.append(formatted.data(), formatted.size());
    if (buf_.size() >= 64 * 1024) write_out();
  }
  void flush_() override { write_out(); }

 private:
  void write_out() {
    std::size_t off = 0;
    while (off < buf_.size()) {
      ssize_t n = ::write(STDERR_FILENO, buf_.data() + off, buf_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // nowhere to write to: drop
      off += static_cast<std::size_t>(n);
    }
    buf_.clear();
  }
  std::string buf_;
};

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::Debug: return spdlog::level::debug;
    case Level::Info: return spdlog::level::info;
    case Level::Warn: return spdlog::level::warn;
    case Level::Error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid.
std::size_t utf8_len(std::string_view s, std::size_t i) { return utf8::decode(s, i).length; }

// Appends `s` escaped for a JSON string (without quotes). Invalid UTF-8 becomes U+FFFD.
void append_escaped(std::string& out, std::string_view s) {
  bool cut = s.size() > kMaxValue;
  if (cut) s = s.substr(0, kMaxValue);
  for (std::size_t i = 0; i < s.size();) {
    // Printable ASCII other than '"' and '\\' (all of a typical value) is copied in one go.
    std::size_t plain = i;
    while (plain < s.size()) {
      auto p = static_cast<unsigned char>(s[plain]);
      if (p < 0x20 || p >= 0x7F || p == '"' || p == '\\') break;
      ++plain;
    }
    if (plain > i) {
      out.append(s.data() + i, plain - i);
      i = plain;
      continue;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      std::size_t n = utf8_len(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
    }
  }
  if (cut) out += "...";
}

bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7F) return true;
  }
  return false;
}

void append_value(std::string& out, Format f, const Field::Value& v) {
  if (auto* s = std::get_if<std::string_view>(&v)) {
    if (f == Format::Json || needs_quotes(*s)) {
      out += '"';
      append_escaped(out, *s);
      out += '"';
    } else {
      append_escaped(out, *s);
    }
  } else if (auto* i = std::get_if<std::int64_t>(&v)) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, *i);
    out.append(buf, r.ptr);
  } else if (auto* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d)) {
      out += "null";
    } else {
      char buf[32];  // as printf's %.6g
      auto r = std::to_chars(buf, buf + sizeof buf, *d, std::chars_format::general, 6);
      out.append(buf, r.ptr);
    }
  } else {
    out += std::get<bool>(v) ? "true" : "false";
  }
}

}  // namespace

bool parse_level(std::string_view s, Level& out) {
  if (s == "debug") out = Level::Debug;
  else if (s == "info") out = Level::Info;
  else if (s == "warn" || s == "warning") out = Level::Warn;
  else if (s == "error") out = Level::Error;
  else return false;
  return true;
}

bool parse_format(std::string_view s, Format& out) {
  if (s == "json") out = Format::Json;
  else if (s == "text") out = Format::Text;
  else return false;
  return true;
}

std::string render(Format format, std::string_view message, std::initializer_list<Field> fields) {
  std::string out;
  out.reserve(64 + message.size() + fields.size() * 24);
  if (format == Format::Json) {
    out += "\"msg\":\"";
    append_escaped(out, message);
    out += '"';
    for (const auto& f : fields) {
      out += ",\"";
      append_escaped(out, f.key);
      out += "\":";
      append_value(out, format, f.value);
    }
  } else {
    append_escaped(out, message);
    for (const auto& f : fields) {
      out += ' ';
      out.append(f.key);
      out += '=';
      append_value(out, format, f.value);
    }
  }
  return out;
}

void init(Level level, Format format) {
  g_format = format;
  // A synchronous spdlog logger on a buffered sink: a log call formats the line and appends it to
  // memory under a mutex; the write(2) happens for 64 KiB batches or on the periodic flush, so no
  // request thread waits for the terminal or pipe, and no logging thread is woken per line
  // (spdlog's async queue did that, and cost a third of the throughput on two cores).
  auto sink = std::make_shared<BufferedStderrSink>();
  g_logger = std::make_shared<spdlog::logger>("dsw", sink);
  if (format == Format::Json) {
    g_logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})",
                          spdlog::pattern_time_type::utc);
  } else {
    g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %v", spdlog::pattern_time_type::utc);
  }
  g_logger->set_level(to_spd(level));
  g_logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(g_logger);
  spdlog::flush_every(std::chrono::seconds(1));
}

void shutdown() {
  if (!g_logger) return;
  g_logger->flush();
  spdlog::shutdown();
  g_logger.reset();
}

void flush() {
  if (g_logger) g_logger->flush();
}

bool enabled(Level level) { return g_logger && g_logger->should_log(to_spd(level)); }

void log(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  std::string line = render(g_format, message, fields);
  g_logger->log(to_spd(level), spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace dsw::logging
