#include "keep_paths.h"

namespace dsw::detail {

namespace {

KeepPaths::Node& child(KeepPaths::Node& node, std::string_view name) {
  for (auto& [key, c] : node.members)
    if (key == name) return *c;
  node.members.emplace_back(std::string(name), std::make_unique<KeepPaths::Node>());
  return *node.members.back().second;
}

}  // namespace

KeepPaths::KeepPaths() : root_(std::make_unique<Node>()) {}

const KeepPaths& KeepPaths::everything() {
  static const KeepPaths all = [] {
    KeepPaths p;
    p.root_->whole = true;
    return p;
  }();
  return all;
}

const KeepPaths::Node& KeepPaths::whole_node() {
  static const Node whole{true, {}, nullptr};
  return whole;
}

void KeepPaths::add(std::string_view path) {
  Node* node = root_.get();
  while (!path.empty()) {
    std::size_t dot = path.find('.');
    std::string_view segment = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    std::size_t arrays = 0;
    while (segment.size() >= 2 && segment.substr(segment.size() - 2) == "[]") {
      segment.remove_suffix(2);
      ++arrays;
    }
    node = &child(*node, segment);
    for (; arrays > 0; --arrays) {
      if (!node->elements) node->elements = std::make_unique<Node>();
      node = node->elements.get();
    }
  }
  node->whole = true;
}

}  // namespace dsw::detail
