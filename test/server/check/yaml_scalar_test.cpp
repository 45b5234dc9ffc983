// Unit tests of server/check/yaml_scalar: plain, quoted and tagged scalars are typed as kubectl
// (go-yaml v2, YAML 1.1) types them.
#include <doctest/doctest.h>

#include "check/yaml_scalar.h"

#include "yaml_test_support.h"

using dsw::yamldoc::ScalarKind;
using nlohmann::json;
namespace yd = dsw::yamldoc;
using yd::testing::load_json;

TEST_CASE("plain scalars are typed as kubectl (go-yaml v2) types them") {
  for (auto s : {"", "~", "null", "Null", "NULL"}) CHECK(yd::resolve_plain(s) == ScalarKind::Null);
  for (auto s : {"true", "True", "TRUE", "false", "yes", "No", "on", "OFF", "y", "N"})
    CHECK(yd::resolve_plain(s) == ScalarKind::Bool);
  for (auto s : {"0", "42", "-7", "+7", "0x1F", "0o17", "0777", "0b101", "1_000",
                 "9223372036854775807", "18446744073709551615"})
    CHECK_MESSAGE(yd::resolve_plain(s) == ScalarKind::Int, s);
  for (auto s : {"1.0", "1.10", "-0.5", ".5", "1e5", "1.5E-3", "08080", ".inf", "-.Inf", ".nan",
                 "123456789012345678901234567890"})
    CHECK_MESSAGE(yd::resolve_plain(s) == ScalarKind::Float, s);
  for (auto s : {"abc", "NEW_IMAGE", "1.2.3", "2024-01-01", "0x", "1e400", "yes please", "-",
                 "TRUEE", "nil", "1:20", "."})
    CHECK_MESSAGE(yd::resolve_plain(s) == ScalarKind::String, s);
}

TEST_CASE("to_json keeps quoted scalars strings and types plain ones") {
  json j = load_json(
      "port: \"8080\"\nnum: 8080\nversion: 1.10\nquoted: 'true'\nflag: yes\nnothing:\n"
      "tilde: ~\nhex: 0x10\noctal: 0777\nstr: !!str 12\nint: !!int \"12\"\n"
      "big: 123456789012345678901234567890\nuni: \"h\xC3\xA9llo \xE2\x9C\x93\"\n"
      "block: |\n  a\n  b\nfolded: plain\n  text\n");
  CHECK(j["port"] == "8080");
  CHECK(j["num"] == 8080);
  CHECK(j["version"].is_number_float());
  CHECK(j["version"].get<double>() == doctest::Approx(1.1));
  CHECK(j["quoted"] == "true");
  CHECK(j["flag"] == true);
  CHECK(j["nothing"].is_null());
  CHECK(j["tilde"].is_null());
  CHECK(j["hex"] == 16);
  CHECK(j["octal"] == 511);
  CHECK(j["str"] == "12");
  CHECK(j["int"] == 12);
  CHECK(j["big"].is_number_float());
  CHECK(j["uni"] == "h\xC3\xA9llo \xE2\x9C\x93");
  CHECK(j["block"] == "a\nb\n");
  CHECK(j["folded"] == "plain text");
}
