#include "audit/list_reader.h"

#include <vector>

namespace dsw::audit {

namespace {

using nlohmann::json;

// The json_sax interface for json::sax_parse (no virtual functions needed).
class ListHandler {
 public:
  ListHandler(std::size_t max_depth, const OnItem& on_item, ListMeta& meta)
      : max_depth_(max_depth), on_item_(on_item), meta_(meta) {}

  std::string error;

  bool null() { return scalar(nullptr); }
  bool boolean(bool v) { return scalar(v); }
  bool number_integer(json::number_integer_t v) { return scalar(v); }
  bool number_unsigned(json::number_unsigned_t v) { return scalar(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return scalar(v); }
  bool string(json::string_t& v) {
    if (depth_ == 2 && where_ == Where::Meta && skip_ == 0) {
      if (key_ == "continue") meta_.continue_token = v;
      else if (key_ == "resourceVersion") meta_.resource_version = v;
    }
    return scalar(std::move(v));
  }
  bool binary(json::binary_t&) { return true; }

  bool key(json::string_t& k) {
    if (skip_ > 0) return true;
    if (building()) {
      // The member's place is made now, as the DOM parser does (the last of duplicate keys wins).
      key_slot_ = &stack_.back()->get_ref<json::object_t&>()[k];
      member_key_ = k;
      return true;
    }
    key_ = k;
    return true;
  }

  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool parse_error(std::size_t, const std::string&, const json::exception& e) {
    if (const auto* pe = dynamic_cast<const json::parse_error*>(&e))
      error = "the answer is not valid JSON (error at byte " + std::to_string(pe->byte) + ")";
    else
      error = "the answer is not valid JSON (a number is out of range)";
    return false;
  }

  bool saw_items() const { return saw_items_; }

 private:
  enum class Where { Top, Items, Meta, Other };

  bool building() const { return !stack_.empty(); }

  // Where the value now read goes, while an item is built.
  json* slot() {
    json* top = stack_.back();
    if (top->is_array()) return &top->get_ref<json::array_t&>().emplace_back();
    return key_slot_;
  }

  bool scalar(json v) {
    if (skip_ > 0) return true;
    if (building()) {
      *slot() = std::move(v);
      return true;
    }
    if (depth_ == 0) {
      error = "the answer is not a JSON object";
      return false;
    }
    if (depth_ == 1 && key_ == "items") {
      if (!v.is_null()) {
        error = "the answer's items is not an array";
        return false;
      }
      saw_items_ = true;  // null: no items
    }
    if (depth_ == 2 && where_ == Where::Items) {
      error = "an item of the list is not an object";
      return false;
    }
    return true;
  }

  bool open(bool object) {
    if (skip_ > 0) {
      ++skip_;
      return true;
    }
    const std::size_t d = depth_ + 1;
    if (building()) {
      if (d > max_depth_) {
        too_deep_ = true;
        skip_ = 1;
        json* parent = stack_.back();
        if (parent->is_object()) parent->erase(member_key_);  // no null left in its place
        return true;
      }
      json* s = slot();
      *s = object ? json::object() : json::array();
      stack_.push_back(s);
      depth_ = d;
      return true;
    }
    if (depth_ == 0) {
      if (!object) {
        error = "the answer is not a JSON object";
        return false;
      }
      depth_ = 1;
      return true;
    }
    if (depth_ == 1) {
      if (key_ == "items") {
        if (object) {
          error = "the answer's items is not an array";
          return false;
        }
        saw_items_ = true;
        where_ = Where::Items;
      } else if (key_ == "metadata" && object) {
        where_ = Where::Meta;
      } else {
        where_ = Where::Other;
      }
      depth_ = 2;
      return true;
    }
    if (depth_ == 2 && where_ == Where::Items) {
      if (!object) {
        error = "an item of the list is not an object";
        return false;
      }
      item_ = json::object();
      too_deep_ = d > max_depth_;
      stack_.push_back(&item_);
      depth_ = d;
      return true;
    }
    // Below metadata or another member: not kept.
    skip_ = 1;
    return true;
  }

  bool close() {
    if (skip_ > 0) {
      --skip_;
      return true;
    }
    if (building()) {
      stack_.pop_back();
      --depth_;
      if (stack_.empty()) {
        ++meta_.items;
        bool deep = too_deep_;
        too_deep_ = false;
        on_item_(std::move(item_), deep);
        item_ = json();
      }
      return true;
    }
    if (depth_ == 2) where_ = Where::Top;
    if (depth_ > 0) --depth_;
    return true;
  }

  std::size_t max_depth_;
  const OnItem& on_item_;
  ListMeta& meta_;
  std::size_t depth_ = 0;  // open containers, the top-level object counting 1
  std::size_t skip_ = 0;   // open containers being skipped
  Where where_ = Where::Top;
  std::string key_;        // the last key read outside an item
  bool saw_items_ = false;
  json item_;
  bool too_deep_ = false;
  std::vector<json*> stack_;  // the containers of the item being built
  json* key_slot_ = nullptr;
  std::string member_key_;  // the key of key_slot_
};

}  // namespace

std::optional<std::string> read_list(std::string_view body, std::size_t max_depth,
                                     const OnItem& on_item, ListMeta& meta) {
  meta = ListMeta{};
  ListHandler h(max_depth, on_item, meta);
  const bool ok = json::sax_parse(body.data(), body.data() + body.size(), &h);
  if (!ok) {
    if (h.error.empty()) return std::string("the answer could not be read as a list");
    return h.error;
  }
  if (!h.saw_items()) return std::string("the answer is not a list (it has no items)");
  return std::nullopt;
}

}  // namespace dsw::audit
