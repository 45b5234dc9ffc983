// Reading one page of a Kubernetes list (`{"kind":"...List","metadata":{"continue":...},
// "items":[...]}`) one item at a time: nlohmann's SAX parser builds each item, hands it over and
// forgets it, so that a page never exists as a whole document (only its text does). Items are
// built exactly as json::parse() builds them (same numbers, the last of duplicate keys).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dsw::audit {

struct ListMeta {
  std::string continue_token;    // metadata.continue ("" on the last page)
  std::string resource_version;  // metadata.resourceVersion
  std::size_t items = 0;         // how many items the page held
};

// Called for each item: the item (to keep, move or drop), and whether it nests deeper than the
// limit (its members below the limit are then left out: metadata is still there).
using OnItem = std::function<void(nlohmann::json&& item, bool too_deep)>;

// Reads `body`; `max_depth` is the deepest nesting counted from the list itself (an item's own
// members start at depth 3, as an object's do in an AdmissionReview). Returns a one-line reason
// when the body is not a JSON object with an `items` array, or not JSON at all.
std::optional<std::string> read_list(std::string_view body, std::size_t max_depth,
                                     const OnItem& on_item, ListMeta& meta);

}  // namespace dsw::audit
