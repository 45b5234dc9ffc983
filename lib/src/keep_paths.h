// Which parts of a JSON document a reader builds (internal header): a set of paths, held as a
// tree that the reader (review_reader.cpp) walks alongside the parse. Everything under a path
// is built whole; a member on no path is still parsed, so its validity is checked, but dropped.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dsw::detail {

class KeepPaths {
 public:
  struct Node {
    bool whole = false;  // everything below is built
    std::vector<std::pair<std::string, std::unique_ptr<Node>>> members;
    std::unique_ptr<Node> elements;  // every element of an array
  };

  // Keeps nothing until paths are added.
  KeepPaths();
  // Keeps the whole document.
  static const KeepPaths& everything();

  // Adds a path: member names joined by '.', a name followed by "[]" for every element of that
  // array, e.g. "request.uid" or "spec.components[].traits". What is below it is kept whole.
  void add(std::string_view path);

  const Node& root() const { return *root_; }

  // The node of member `key` of an object read at `node`, or nullptr when it is dropped.
  static const Node* member(const Node& node, std::string_view key) {
    if (node.whole) return &node;
    for (const auto& [name, child] : node.members)
      if (name == key) return child.get();
    return nullptr;
  }
  // The node of each element of an array read at `node`, or nullptr when they are dropped.
  static const Node* element(const Node& node) {
    return node.whole ? &node : node.elements.get();
  }

  // The node to read an object (an array) with when one is found at `node`. A value of a shape
  // the paths do not foresee (an array where they name only members, an object where they name
  // only elements) is built whole: whatever reads it then sees exactly what the text holds.
  static const Node& as_object(const Node& node) {
    return node.members.empty() && node.elements ? whole_node() : node;
  }
  static const Node& as_array(const Node& node) {
    return !node.elements && !node.members.empty() ? whole_node() : node;
  }

 private:
  static const Node& whole_node();
  std::unique_ptr<Node> root_;
};

}  // namespace dsw::detail
