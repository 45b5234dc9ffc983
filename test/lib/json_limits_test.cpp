#include <doctest/doctest.h>

#include <string>

#include "dsw/json_limits.h"

using dsw::json_nesting_depth;

TEST_CASE("nesting depth counts arrays and objects, not brackets in strings") {
  CHECK(json_nesting_depth("1", 10) == 0);
  CHECK(json_nesting_depth("[]", 10) == 1);
  CHECK(json_nesting_depth(R"({"a":[{"b":[]}]})", 10) == 4);
  CHECK(json_nesting_depth(R"(["[[[[[[", "\"[[[["])", 10) == 1);
  CHECK(json_nesting_depth(R"(["\\", [[]]])", 10) == 3);
  CHECK(json_nesting_depth(R"(["unterminated [[[[)", 10) == 1);
}

TEST_CASE("stops as soon as the limit is passed") {
  std::string deep(1'000'000, '[');
  CHECK(json_nesting_depth(deep, 512) == 513);
  CHECK(json_nesting_depth(std::string(512, '[') + std::string(512, ']'), 512) == 512);
}
