// Helpers shared by the library tests: building Applications (and AdmissionReviews, with
// test/support/admission_review.h, the one builder of the C++ suites), decoding answers, and
// applying patches (every applied patch is also logged for the independent RFC 6902 check in
// patch_roundtrip_test.py).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "admission_review.h"
#include "dsw/admission.h"
#include "dsw/handler.h"

namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string s = "{";
    for (const auto& e : v) s += "\n  \"" + e + "\"";
    return (s + "\n}").c_str();
  }
};
}  // namespace doctest

namespace dsw::testing {

using nlohmann::json;

inline json application(json components, json policies = nullptr) {
  json app = {{"apiVersion", "core.oam.dev/v1beta1"},
              {"kind", "Application"},
              {"metadata", {{"name", "app"}, {"namespace", "team-a"}}},
              {"spec", {{"components", std::move(components)}}}};
  if (!policies.is_null()) app["spec"]["policies"] = std::move(policies);
  return app;
}

inline json table(std::string name, json traits, std::string type = "aws-dynamodb-kro") {
  return {{"name", std::move(name)},
          {"type", std::move(type)},
          {"properties", {{"tableName", "t"}, {"region", "us-east-1"}}},
          {"traits", std::move(traits)}};
}

inline json streams_trait(json properties = json(), std::string type = "dynamodb-streams-kro") {
  json t = {{"type", std::move(type)}};
  if (!properties.is_null()) t["properties"] = std::move(properties);
  return t;
}

inline std::string base64_decode(const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  // Only the low 14 bits are ever read; masking keeps the shift free of signed overflow (UB).
  int buf = 0, bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) continue;
    buf = ((buf << 6) & 0xFFFFC0) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  return out;
}

// Applies `patch` (JSON Patch text) to `object` with nlohmann's RFC 6902 implementation, and
// appends {object, patch, result} to $DSW_PATCH_LOG so that an independent implementation
// (python3-jsonpatch) can check that it produces the same result.
inline json apply_patch(const json& object, const std::string& patch_text) {
  json patch = json::parse(patch_text);
  REQUIRE(patch.is_array());
  json result = object.patch(patch);
  if (const char* log = std::getenv("DSW_PATCH_LOG")) {
    // One write(2) per line on an O_APPEND descriptor: the lib tests run in parallel and append
    // to the same file, and a stream's buffer could split a long line between two writes that
    // another process's line lands between.
    std::string line = json{{"object", object}, {"patch", patch}, {"result", result}}.dump() + "\n";
    int fd = ::open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    CHECK(::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
    ::close(fd);
  }
  return result;
}

// Defaults `app` through the library, applies the patch, checks that a second pass yields no
// patch, and returns the defaulted Application.
inline json defaulted(const json& app) {
  Patch p = default_application(app);
  if (p.empty()) return app;
  json result = apply_patch(app, p.to_json());
  CHECK_MESSAGE(default_application(result).empty(), "second pass must yield no patch");
  return result;
}

inline json answer(Endpoint e, const json& rev, const Options& o = {}) {
  Outcome out = answer_review(e, rev.dump(), o);
  REQUIRE(out.http_status == 200);
  return json::parse(out.body);
}

// The messages of all errors of validating `app` on CREATE.
inline std::vector<std::string> errors_of(const json& app, const Options& o = {},
                                          const json* old = nullptr) {
  std::vector<std::string> out;
  for (const auto& e : validate_application(app, old, o).errors) out.push_back(e.to_string());
  return out;
}

}  // namespace dsw::testing
