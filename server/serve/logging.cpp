#include "serve/logging.h"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "dsw/utf8.h"

namespace dsw::logging {

namespace {

// Longest value written for one field: identifiers are short; anything longer is cut.
constexpr std::size_t kMaxValue = 512;
// A thread's pending lines are written out once they reach this size.
constexpr std::size_t kBatch = 64 * 1024;

std::atomic<bool> g_active{false};
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::atomic<Format> g_format{Format::Json};

// Lines are appended to a buffer of the calling thread, under that buffer's own mutex (which only
// the flusher ever contends for, once a second), and reach standard error in batches: at 64 KiB,
// every second (the flusher thread), at once after a warning or an error, and at shutdown. A
// request thread never waits for another request thread, and lines of one thread stay in order.
struct ThreadBuffer {
  std::mutex mu;
  std::string lines;
};

std::mutex g_write_mu;  // one write(2) batch at a time, so lines never interleave

void write_out(std::string& lines) {
  if (lines.empty()) return;
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::size_t off = 0;
  while (off < lines.size()) {
    ssize_t n = ::write(STDERR_FILENO, lines.data() + off, lines.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // nowhere to write to: drop
    off += static_cast<std::size_t>(n);
  }
  lines.clear();
  if (lines.capacity() > 2 * kBatch) std::string().swap(lines);
}

// Every thread's buffer, for the flusher. Never destroyed: threads may still exit (and flush)
// while static objects are being torn down.
struct Registry {
  std::mutex mu;
  std::vector<ThreadBuffer*> buffers;
  std::condition_variable cv;
  bool stop = false;
  std::thread flusher;

  void flush_all() {
    std::lock_guard<std::mutex> lock(mu);
    for (ThreadBuffer* b : buffers) {
      std::lock_guard<std::mutex> bl(b->mu);
      write_out(b->lines);
    }
  }
};
Registry& registry() {
  static Registry* r = new Registry;  // NOLINT: deliberately leaked, see above
  return *r;
}

struct LocalBuffer {
  ThreadBuffer* b = new ThreadBuffer;
  LocalBuffer() {
    std::lock_guard<std::mutex> lock(registry().mu);
    registry().buffers.push_back(b);
  }
  ~LocalBuffer() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    {
      std::lock_guard<std::mutex> bl(b->mu);
      write_out(b->lines);
    }
    for (auto it = r.buffers.begin(); it != r.buffers.end(); ++it) {
      if (*it == b) {
        r.buffers.erase(it);
        break;
      }
    }
    delete b;
  }
};

const char* level_name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warning";
    case Level::Error: return "error";
  }
  return "info";
}

// "2026-11-27T08:49:10" of the current second, kept per thread; plus the sub-second part.
void append_time(std::string& out, int digits) {
  thread_local time_t cached_sec = -1;
  thread_local char cached[24];
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != cached_sec) {
    tm t{};
    ::gmtime_r(&ts.tv_sec, &t);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &t);
    cached_sec = ts.tv_sec;
  }
  out += cached;
  char frac[8];
  long v = digits == 6 ? ts.tv_nsec / 1000 : ts.tv_nsec / 1000000;
  std::snprintf(frac, sizeof frac, digits == 6 ? ".%06ld" : ".%03ld", v);
  out += frac;
  out += 'Z';
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

namespace {

void render_into(std::string& out, Format format, std::string_view message,
                 std::initializer_list<Field> fields) {
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
}

}  // namespace

std::string render(Format format, std::string_view message, std::initializer_list<Field> fields) {
  std::string out;
  out.reserve(64 + message.size() + fields.size() * 24);
  render_into(out, format, message, fields);
  return out;
}

void init(Level level, Format format) {
  g_level.store(static_cast<int>(level));
  g_format.store(format);
  Registry& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (r.flusher.joinable()) return;  // already running
    r.stop = false;
  }
  r.flusher = std::thread([&r] {
    std::unique_lock<std::mutex> lock(r.mu);
    while (!r.stop) {
      r.cv.wait_for(lock, std::chrono::seconds(1), [&r] { return r.stop; });
      for (ThreadBuffer* b : r.buffers) {
        std::lock_guard<std::mutex> bl(b->mu);
        write_out(b->lines);
      }
    }
  });
  g_active.store(true);
}

void shutdown() {
  if (!g_active.exchange(false)) return;
  Registry& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.stop = true;
  }
  r.cv.notify_all();
  if (r.flusher.joinable()) r.flusher.join();
  r.flush_all();
}

void flush() { registry().flush_all(); }

bool enabled(Level level) {
  return g_active.load(std::memory_order_relaxed) &&
         static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void log(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  thread_local LocalBuffer local;
  ThreadBuffer& b = *local.b;
  Format format = g_format.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(b.mu);
  std::string& out = b.lines;
  if (format == Format::Json) {
    out += "{\"time\":\"";
    append_time(out, 6);
    out += "\",\"level\":\"";
    out += level_name(level);
    out += "\",";
    render_into(out, format, message, fields);
    out += "}\n";
  } else {
    append_time(out, 3);
    char lv[16];
    std::snprintf(lv, sizeof lv, " %-5s ", level_name(level));
    out += lv;
    render_into(out, format, message, fields);
    out += '\n';
  }
  if (level >= Level::Warn || out.size() >= kBatch) write_out(out);
}

}  // namespace dsw::logging
