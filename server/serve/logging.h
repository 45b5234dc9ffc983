// Structured logging on spdlog: one line per event on standard error, either one JSON object per
// line (`json`) or `time level message key=value ...` for humans (`text`), times in UTC. Every
// string value is escaped by the program's one JSON string escaper (dsw::append_json_string);
// callers pass identifiers only, never object contents. Lines are kept in memory and written in
// batches: at 64 KiB, every second, and at once after a warning or an error.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace dsw::logging {

enum class Level { Debug, Info, Warn, Error };
enum class Format { Json, Text };

bool parse_level(std::string_view s, Level& out);
bool parse_format(std::string_view s, Format& out);

struct Field {
  using Value = std::variant<std::string_view, std::int64_t, double, bool>;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, int v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, long v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, long long v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, unsigned v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, unsigned long v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  std::string_view key;
  Value value;
};

// Sets up the process-wide spdlog logger writing to standard error. Call once, early.
void init(Level level, Format format);
// Writes out what is pending and stops the periodic flush; logging after this is dropped.
void shutdown();
void flush();

bool enabled(Level level);
void log(Level level, std::string_view message, std::initializer_list<Field> fields = {});
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::Debug, m, f); }
inline void info(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::Info, m, f); }
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::Warn, m, f); }
inline void error(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::Error, m, f); }

// The part of a line after time and level (spdlog's `%v`), as it would be logged; for tests.
std::string render(Format format, std::string_view message, std::initializer_list<Field> fields);

// The spdlog pattern of each format (time, level, then the rendered part); for tests.
std::string_view pattern(Format format);

}  // namespace dsw::logging
