#include "serve/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>

#include "dsw/response.h"  // dsw::append_json_string: the program's one JSON string escaper

namespace dsw::logging {

namespace {

// Longest value written for one field: identifiers are short; anything longer is cut.
constexpr std::size_t kMaxValue = 512;
// Pending lines are written out once they reach this size.
constexpr std::size_t kBatch = 64 * 1024;

// Standard error through a buffer: a log call formats its line on the calling thread (with that
// thread's own copy of the formatter, so no lock is held while formatting) and then only appends
// it to memory under the sink's mutex; write(2) happens for 64 KiB batches, on spdlog's periodic
// flush (every second), on warnings and errors (flush_on) and at shutdown. So a request thread
// never waits for a pipe or a terminal, threads wait for each other only for a copy of a line,
// and no thread is woken per line (spdlog's async logger does that: it cost about a third of the
// throughput on two cores, docs/performance.md).
class BufferedStderrSink final : public spdlog::sinks::sink {
 public:
  ~BufferedStderrSink() override { write_out(); }

  void log(const spdlog::details::log_msg& msg) override {
    thread_local spdlog::memory_buf_t formatted;
    thread_local std::unique_ptr<spdlog::formatter> formatter;
    thread_local const BufferedStderrSink* formatter_of = nullptr;
    if (formatter == nullptr || formatter_of != this) {
      std::lock_guard<std::mutex> lock(mu_);
      formatter = formatter_->clone();
      formatter_of = this;
    }
    formatted.clear();
    formatter->format(msg, formatted);
    std::lock_guard<std::mutex> lock(mu_);
    buf_.append(formatted.data(), formatted.size());
    if (buf_.size() >= kBatch) write_out();
  }
  void flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    write_out();
  }
  // Set once, before any line is logged.
  void set_pattern(const std::string& pattern) override {
    set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
  }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    std::lock_guard<std::mutex> lock(mu_);
    formatter_ = std::move(formatter);
  }

 private:
  // Called with mu_ held.
  void write_out() {
    std::size_t off = 0;
    while (off < buf_.size()) {
      ssize_t n = ::write(STDERR_FILENO, buf_.data() + off, buf_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // nowhere to write to: drop
      off += static_cast<std::size_t>(n);
    }
    buf_.clear();
    if (buf_.capacity() > 2 * kBatch) std::string().swap(buf_);
  }
  std::mutex mu_;
  std::unique_ptr<spdlog::formatter> formatter_;
  std::string buf_;
};

// Set once by init() and never destroyed: request threads may still log while the process exits
// (the shutdown timeout's exit path), so shutdown() only flushes and switches logging off.
std::shared_ptr<spdlog::logger>* g_logger = nullptr;  // NOLINT: deliberately leaked, see above
std::atomic<bool> g_active{false};
Format g_format = Format::Json;

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::Debug: return spdlog::level::debug;
    case Level::Info: return spdlog::level::info;
    case Level::Warn: return spdlog::level::warn;
    case Level::Error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// A JSON string (with its quotes) of `s`, cut at kMaxValue bytes (never inside a UTF-8
// sequence) with "..." appended when cut.
void append_string(std::string& out, std::string_view s) {
  if (s.size() <= kMaxValue) {
    append_json_string(out, s);
    return;
  }
  std::size_t n = kMaxValue;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  std::string cut(s.substr(0, n));
  cut += "...";
  append_json_string(out, cut);
}

// A text value is written bare when it is a single printable ASCII word; otherwise as a quoted,
// escaped JSON string, so that a line always splits back into its fields.
bool needs_quotes(std::string_view s) {
  if (s.empty() || s.size() > kMaxValue) return true;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7F) return true;
  }
  return false;
}

void append_value(std::string& out, Format f, const Field::Value& v) {
  if (const auto* s = std::get_if<std::string_view>(&v)) {
    if (f == Format::Json || needs_quotes(*s)) {
      append_string(out, *s);
    } else {
      out.append(*s);
    }
  } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, *i);
    out.append(buf, r.ptr);
  } else if (const auto* d = std::get_if<double>(&v)) {
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

// Field names are the program's own identifiers ("uid", "duration_ms"): written as they are
// when they are plain words, escaped otherwise.
void append_key(std::string& out, std::string_view key) {
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      append_string(out, key);
      return;
    }
  }
  out += '"';
  out.append(key);
  out += '"';
}

void render_into(std::string& out, Format format, std::string_view message,
                 std::initializer_list<Field> fields) {
  if (format == Format::Json) {
    out += "\"msg\":";
    append_string(out, message);
    for (const auto& f : fields) {
      out += ',';
      append_key(out, f.key);
      out += ':';
      append_value(out, format, f.value);
    }
  } else {
    out.append(message);
    for (const auto& f : fields) {
      out += ' ';
      out.append(f.key);
      out += '=';
      append_value(out, format, f.value);
    }
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

std::string_view pattern(Format format) {
  // spdlog's level names are "debug", "info", "warning" and "error"; %f is microseconds, %e
  // milliseconds; times are UTC (pattern_time_type::utc below), hence the literal Z.
  return format == Format::Json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})"
                                : "%Y-%m-%dT%H:%M:%S.%eZ %-5l %v";
}

std::string render(Format format, std::string_view message, std::initializer_list<Field> fields) {
  std::string out;
  render_into(out, format, message, fields);
  return out;
}

void init(Level level, Format format) {
  if (g_logger != nullptr) return;
  g_format = format;
  auto sink = std::make_shared<BufferedStderrSink>();
  sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      std::string(pattern(format)), spdlog::pattern_time_type::utc, std::string("\n")));
  auto logger = std::make_shared<spdlog::logger>("dsw", std::move(sink));
  logger->set_level(to_spd(level));
  logger->flush_on(spdlog::level::warn);  // warnings and errors are written at once
  spdlog::register_logger(logger);         // so that flush_every reaches it
  spdlog::flush_every(std::chrono::seconds(1));
  g_logger = new std::shared_ptr<spdlog::logger>(std::move(logger));
  g_active.store(true);
}

void shutdown() {
  if (!g_active.exchange(false)) return;
  (*g_logger)->flush();
  spdlog::shutdown();  // stops the periodic flusher
}

void flush() {
  if (g_active.load()) (*g_logger)->flush();
}

bool enabled(Level level) {
  return g_active.load(std::memory_order_relaxed) && (*g_logger)->should_log(to_spd(level));
}

void log(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  // The part after time and level, rendered once into a per-thread buffer and handed to spdlog
  // as a plain string (no fmt pass over it).
  thread_local std::string line;
  line.clear();
  render_into(line, g_format, message, fields);
  (*g_logger)->log(to_spd(level), spdlog::string_view_t(line.data(), line.size()));
  if (line.capacity() > kBatch) std::string().swap(line);
}

}  // namespace dsw::logging
