// Unit tests of audit/list_reader: a list page read item by item, as json::parse() would build
// each item; the continue token; the nesting limit; what is not a list.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/list_reader.h"

using dsw::audit::ListMeta;
using dsw::audit::read_list;
using nlohmann::json;

namespace {

struct Read {
  std::vector<json> items;
  std::vector<bool> deep;
  ListMeta meta;
  std::optional<std::string> error;
};

Read read(const std::string& body, std::size_t max_depth = 512) {
  Read r;
  r.error = read_list(body, max_depth,
                      [&](json&& item, bool too_deep) {
                        r.items.push_back(std::move(item));
                        r.deep.push_back(too_deep);
                      },
                      r.meta);
  return r;
}

}  // namespace

TEST_CASE("items are handed over one by one, exactly as json::parse builds them") {
  const std::string items =
      R"([{"apiVersion":"core.oam.dev/v1beta1","kind":"Application","metadata":{"name":"a","labels":{"x":"1"}},)"
      R"("spec":{"n":[1,-2,3.5,1e308,18446744073709551615,-9223372036854775808,true,null,"s\u00e9\n"],"d":{"k":1,"k":2},"e":[],"o":{}}},)"
      R"({"metadata":{"name":"b"},"deep":[[[[{"x":[{}]}]]]]}])";
  const std::string body = R"({"kind":"ApplicationList","apiVersion":"core.oam.dev/v1beta1",)"
                           R"("metadata":{"resourceVersion":"42","continue":"tok=="},"items":)" +
                           items + "}";
  Read r = read(body);
  REQUIRE_FALSE(r.error);
  const json want = json::parse(items);
  REQUIRE(r.items.size() == 2);
  CHECK(r.items[0] == want[0]);
  CHECK(r.items[1] == want[1]);
  CHECK(r.items[0]["spec"]["d"]["k"] == 2);  // the last of duplicate keys, as json::parse
  CHECK(r.items[0]["spec"]["n"][3].is_number_float());
  CHECK(r.items[0]["spec"]["n"][4].is_number_unsigned());
  CHECK(r.meta.continue_token == "tok==");
  CHECK(r.meta.resource_version == "42");
  CHECK(r.meta.items == 2);
  CHECK(r.deep == std::vector<bool>{false, false});
}

TEST_CASE("members after items and nested metadata members are read too") {
  Read r = read(R"({"items":[{"a":1}],"metadata":{"x":{"continue":"no"},"continue":"yes"},"z":[1]})");
  REQUIRE_FALSE(r.error);
  CHECK(r.items.size() == 1);
  CHECK(r.meta.continue_token == "yes");
}

TEST_CASE("the last page has no continue token; empty and null items are no items") {
  Read r = read(R"({"kind":"List","metadata":{"resourceVersion":"7"},"items":[]})");
  REQUIRE_FALSE(r.error);
  CHECK(r.items.empty());
  CHECK(r.meta.continue_token.empty());
  r = read(R"({"kind":"List","metadata":{},"items":null})");
  REQUIRE_FALSE(r.error);
  CHECK(r.items.empty());
}

TEST_CASE("an item deeper than the limit is flagged, with what lies above the limit") {
  // The list is depth 1, items 2, an item 3: with a limit of 5, the item's members may open
  // two more levels.
  Read r = read(R"({"items":[{"metadata":{"name":"x"},"a":{"b":{"c":{"d":1},"e":2}},"f":[[[1]]],"ok":{"p":[]}},)"
                R"({"k":{"l":{"m":1}}}]})", 5);
  REQUIRE_FALSE(r.error);
  REQUIRE(r.items.size() == 2);
  CHECK(r.deep == std::vector<bool>{true, false});
  CHECK(r.items[0]["metadata"]["name"] == "x");
  CHECK(r.items[0]["a"] == json::parse(R"({"b":{"e":2}})"));  // {"d":1} opened a sixth level
  CHECK(r.items[0]["f"] == json::parse("[[]]"));
  CHECK(r.items[0]["ok"]["p"] == json::array());
  CHECK(r.items[1] == json::parse(R"({"k":{"l":{"m":1}}})"));
}

TEST_CASE("what is not a list is refused with a reason") {
  CHECK(read("<html>proxy error</html>").error.value().find("not valid JSON (error at byte 1)") !=
        std::string::npos);
  CHECK(read(R"({"items":[{"a":1})").error.value().find("not valid JSON") != std::string::npos);
  CHECK(read(R"({"items":[1e400]})").error.value().find("out of range") != std::string::npos);
  CHECK(read(R"([{"items":[]}])").error.value() == "the answer is not a JSON object");
  CHECK(read(R"("text")").error.value() == "the answer is not a JSON object");
  CHECK(read(R"({"kind":"Status","code":500})").error.value() ==
        "the answer is not a list (it has no items)");
  CHECK(read(R"({"items":{"a":1}})").error.value() == "the answer's items is not an array");
  CHECK(read(R"({"items":7})").error.value() == "the answer's items is not an array");
  CHECK(read(R"({"items":[{"a":1},2]})").error.value() == "an item of the list is not an object");
  CHECK(read(R"({"items":[[]]})").error.value() == "an item of the list is not an object");
}

TEST_CASE("a page of many items never holds more than one built item") {
  std::string body = R"({"metadata":{},"items":[)";
  for (int i = 0; i < 2000; ++i) {
    if (i) body += ',';
    body += R"({"metadata":{"name":"o)" + std::to_string(i) + R"("},"spec":{"v":[1,2,3]}})";
  }
  body += "]}";
  std::size_t seen = 0;
  ListMeta meta;
  auto err = read_list(body, 512,
                       [&](json&& item, bool) {
                         CHECK(item["metadata"]["name"] == "o" + std::to_string(seen));
                         ++seen;
                       },
                       meta);
  CHECK_FALSE(err);
  CHECK(seen == 2000);
}
