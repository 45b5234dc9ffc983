// Golden tests: field paths and error strings must read exactly like
// k8s.io/apimachinery/pkg/util/validation/field.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dsw/field.h"

using dsw::field::Path;
using nlohmann::json;
namespace field = dsw::field;

TEST_CASE("paths render like apimachinery's Path.String()") {
  Path spec = Path::root("spec");
  CHECK(spec.to_string() == "spec");
  Path trait = spec.child("components").index(0).child("traits").index(12);
  CHECK(trait.to_string() == "spec.components[0].traits[12]");
  CHECK(trait.child("properties").child("viewType").to_string() ==
        "spec.components[0].traits[12].properties.viewType");
  SUBCASE("paths are immutable: children share, never change, their parent") {
    Path a = trait.child("a");
    Path b = trait.child("b");
    CHECK(a.to_string() == "spec.components[0].traits[12].a");
    CHECK(b.to_string() == "spec.components[0].traits[12].b");
    CHECK(trait.to_string() == "spec.components[0].traits[12]");
  }
  SUBCASE("plain keys are children; other keys are bracketed and quoted") {
    CHECK(spec.key("view-Type_2").to_string() == "spec.view-Type_2");
    CHECK(spec.key("a.b").to_string() == "spec[\"a.b\"]");
    CHECK(spec.key("line\nbreak").to_string() == "spec[\"line\\nbreak\"]");
    CHECK(spec.key("").to_string() == "spec[\"\"]");
  }
}

TEST_CASE("error strings match the Go package byte for byte") {
  Path p = Path::root("spec").child("components").index(0).child("traits").index(0).child(
      "properties");
  SUBCASE("Unsupported value with the supported list") {
    auto e = field::not_supported(p.child("viewType"), "NEW",
                                  {"KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"});
    CHECK(e.to_string() ==
          "spec.components[0].traits[0].properties.viewType: Unsupported value: \"NEW\": "
          "supported values: \"KEYS_ONLY\", \"NEW_IMAGE\", \"OLD_IMAGE\", \"NEW_AND_OLD_IMAGES\"");
    CHECK(field::reason(e.type) == "FieldValueNotSupported");
    CHECK(e.body() ==
          "Unsupported value: \"NEW\": supported values: \"KEYS_ONLY\", \"NEW_IMAGE\", "
          "\"OLD_IMAGE\", \"NEW_AND_OLD_IMAGES\"");
  }
  SUBCASE("Invalid value prints strings quoted and scalars plain") {
    CHECK(field::invalid(p.child("enabled"), "yes", "must be a boolean").to_string() ==
          "spec.components[0].traits[0].properties.enabled: Invalid value: \"yes\": must be a "
          "boolean");
    CHECK(field::invalid(p.child("viewType"), 5, "must be a string").to_string() ==
          "spec.components[0].traits[0].properties.viewType: Invalid value: 5: must be a string");
    CHECK(field::invalid(p, true, "must be an object").body() ==
          "Invalid value: true: must be an object");
    CHECK(field::invalid(p, json(nullptr), "x").body() == "Invalid value: null: x");
  }
  SUBCASE("Duplicate value has no detail") {
    CHECK(field::duplicate(Path::root("spec").child("traits").index(1).child("type"),
                           "dynamodb-streams-kro")
              .to_string() == "spec.traits[1].type: Duplicate value: \"dynamodb-streams-kro\"");
  }
  SUBCASE("Forbidden and Required print no value") {
    CHECK(field::forbidden(p.child("x"), "unknown").to_string() ==
          "spec.components[0].traits[0].properties.x: Forbidden: unknown");
    CHECK(field::required(p, "").to_string() ==
          "spec.components[0].traits[0].properties: Required value");
  }
  SUBCASE("reasons are the CauseType strings") {
    CHECK(field::reason(field::ErrorType::Invalid) == "FieldValueInvalid");
    CHECK(field::reason(field::ErrorType::Duplicate) == "FieldValueDuplicate");
    CHECK(field::reason(field::ErrorType::Forbidden) == "FieldValueForbidden");
    CHECK(field::reason(field::ErrorType::Required) == "FieldValueRequired");
  }
}

TEST_CASE("go_quote is strconv.Quote") {
  CHECK(field::go_quote("NEW") == "\"NEW\"");
  CHECK(field::go_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(field::go_quote("\n\t\r\a\b\f\v") == "\"\\n\\t\\r\\a\\b\\f\\v\"");
  CHECK(field::go_quote(std::string("\x01\x7f", 2)) == "\"\\x01\\x7f\"");
  CHECK(field::go_quote("caf\xc3\xa9 \xe2\x9c\x93") == "\"caf\xc3\xa9 \xe2\x9c\x93\"");  // printable
  CHECK(field::go_quote("\xff") == "\"\\xff\"");                // invalid UTF-8 byte
  CHECK(field::go_quote("\xc2\x85") == "\"\\u0085\"");          // C1 control
  CHECK(field::go_quote("\xe2\x80\xa8") == "\"\\u2028\"");      // line separator
  CHECK(field::go_quote("\xef\xbb\xbf") == "\"\\ufeff\"");      // BOM
  CHECK(field::go_quote("\xed\xa0\x80") == "\"\\xed\\xa0\\x80\"");  // encoded surrogate
}

TEST_CASE("values print like fmt's %v for JSON-decoded values") {
  CHECK(field::render_value(json(5)) == "5");
  CHECK(field::render_value(json(-7)) == "-7");
  CHECK(field::render_value(json(18446744073709551615ULL)) == "18446744073709551615");
  CHECK(field::render_value(json(1.5)) == "1.5");
  CHECK(field::render_value(json(0.0001)) == "0.0001");
  CHECK(field::render_value(json(0.00001)) == "1e-05");
  CHECK(field::render_value(json(1e21)) == "1e+21");
  CHECK(field::render_value(json(123456789.0)) == "1.23456789e+08");
  CHECK(field::render_value(json(100000.0)) == "100000");
  CHECK(field::render_value(json(1000000.0)) == "1e+06");
  CHECK(field::render_value(json(false)) == "false");
  CHECK(field::render_value(json(nullptr)) == "null");
  CHECK(field::render_value(json("x")) == "\"x\"");
  SUBCASE("objects and arrays are compact JSON, bounded in length") {
    CHECK(field::render_value(json::parse(R"({"a":[1,2]})")) == R"({"a":[1,2]})");
    std::string big = field::render_value(json(std::vector<int>(1000, 1)));
    CHECK(big.size() <= 67);
    CHECK(big.substr(big.size() - 3) == "...");
  }
}
