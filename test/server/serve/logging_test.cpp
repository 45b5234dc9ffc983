// Unit tests of serve/logging: the rendered fields (escaping, cutting, text quoting) and whole
// lines as spdlog writes them to standard error (format, UTC time, level names, flushing).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "serve/logging.h"

using dsw::logging::Format;
using dsw::logging::render;

TEST_CASE("json log lines are valid JSON with every value escaped") {
  std::string uid = "a\"b\\c\nd\x01\x7f" "\xc3\xa9";
  std::string bad_utf8 = "x\xff\xfey";
  std::string line = "{" + render(Format::Json, "review", {{"uid", uid}, {"name", bad_utf8},
                                                           {"ops", 3}, {"ms", 0.25}, {"dry", false}}) + "}";
  auto j = nlohmann::json::parse(line);
  CHECK(j["msg"] == "review");
  CHECK(j["uid"] == uid);
  CHECK(j["name"] == "x\xef\xbf\xbd\xef\xbf\xbdy");  // U+FFFD twice
  CHECK(j["ops"] == 3);
  CHECK(j["ms"] == 0.25);
  CHECK(j["dry"] == false);
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("long values are cut, never inside a UTF-8 sequence") {
  std::string big(5000, 'a');
  auto j = nlohmann::json::parse("{" + render(Format::Json, "m", {{"v", big}}) + "}");
  CHECK(j["v"].get<std::string>() == std::string(512, 'a') + "...");
  std::string accents;
  for (int i = 0; i < 400; ++i) accents += "\xc3\xa9";  // 800 bytes of 2-byte characters
  j = nlohmann::json::parse("{" + render(Format::Json, "m", {{"v", accents}}) + "}");
  CHECK(j["v"].get<std::string>() == accents.substr(0, 512) + "...");
}

TEST_CASE("text log lines quote and escape values that need it") {
  CHECK(render(Format::Text, "review", {{"uid", "abc"}, {"n", 2}}) == "review uid=abc n=2");
  CHECK(render(Format::Text, "m", {{"name", "a b"}}) == "m name=\"a b\"");
  CHECK(render(Format::Text, "m", {{"name", "x=1\n"}}) == "m name=\"x=1\\n\"");
  CHECK(render(Format::Text, "m", {{"name", "\x01"}}) == "m name=\"\\u0001\"");
  CHECK(render(Format::Text, "m", {{"name", ""}}) == "m name=\"\"");
  CHECK(render(Format::Text, "m", {{"ms", 0.5}, {"ok", true}}) == "m ms=0.5 ok=true");
}

namespace {

// Standard error redirected to a file while a test logs through the real logger.
class CapturedStderr {
 public:
  CapturedStderr() {
    std::snprintf(path_, sizeof path_, "/tmp/dsw-logging-test-XXXXXX");
    fd_ = ::mkstemp(path_);
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(fd_, STDERR_FILENO);
  }
  ~CapturedStderr() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(fd_);
    ::unlink(path_);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    FILE* f = std::fopen(path_, "r");
    if (f == nullptr) return out;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, f) != nullptr) out.emplace_back(buf);
    std::fclose(f);
    return out;
  }

 private:
  char path_[64];
  int fd_ = -1, saved_ = -1;
};

}  // namespace

// One process-wide logger, so one test drives it: JSON lines through spdlog.
TEST_CASE("spdlog writes JSON lines: UTC time, level names, info batched, warnings at once") {
  CapturedStderr err;
  dsw::logging::init(dsw::logging::Level::Info, Format::Json);
  CHECK_FALSE(dsw::logging::enabled(dsw::logging::Level::Debug));
  dsw::logging::debug("not written", {});
  dsw::logging::info("review", {{"uid", "u-1"}, {"patch_ops", 1}});
  CHECK(err.lines().empty());  // info lines wait for the batch or the periodic flush
  dsw::logging::warn("disk \"full\"", {{"reason", "x\ny"}});
  auto lines = err.lines();  // a warning writes out everything pending, at once
  REQUIRE(lines.size() == 2);
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char day[16];
  std::strftime(day, sizeof day, "%Y-%m-%d", &utc);
  // 2026-01-01T12:00:00.123456Z (std::regex would do, but GCC 12 warns inside it under ASan).
  auto is_time = [](const std::string& t) {
    const std::string shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    if (t.size() != shape.size()) return false;
    for (std::size_t i = 0; i < t.size(); ++i) {
      bool digit = t[i] >= '0' && t[i] <= '9';
      if (shape[i] == 'd' ? !digit : t[i] != shape[i]) return false;
    }
    return true;
  };
  auto first = nlohmann::json::parse(lines[0]);
  CHECK(is_time(first["time"].get<std::string>()));
  CHECK(first["time"].get<std::string>().substr(0, 10) == day);  // UTC, not local time
  CHECK(first["level"] == "info");
  CHECK(first["msg"] == "review");
  CHECK(first["uid"] == "u-1");
  CHECK(first["patch_ops"] == 1);
  CHECK(lines[0].rfind(R"({"time":")", 0) == 0);  // keys in the documented order
  CHECK(lines[0].find(R"(","level":"info","msg":"review","uid":"u-1","patch_ops":1})") !=
        std::string::npos);
  auto second = nlohmann::json::parse(lines[1]);
  CHECK(second["level"] == "warning");
  CHECK(second["msg"] == "disk \"full\"");
  CHECK(second["reason"] == "x\ny");
  dsw::logging::error("boom", {});
  CHECK(err.lines().size() == 3);
  CHECK(nlohmann::json::parse(err.lines()[2])["level"] == "error");
  dsw::logging::info("last", {});
  dsw::logging::shutdown();  // writes out what is pending
  CHECK(err.lines().size() == 4);
  dsw::logging::info("after shutdown", {});  // dropped, never a crash
  CHECK(err.lines().size() == 4);
}

TEST_CASE("the text pattern: time with milliseconds, padded level, message, fields") {
  CHECK(dsw::logging::pattern(Format::Text) == "%Y-%m-%dT%H:%M:%S.%eZ %-5l %v");
  CHECK(dsw::logging::pattern(Format::Json) ==
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})");
}
