// The paths that say which parts of a document the review reader builds (lib/src/keep_paths.*),
// and the list of what the admission logic reads (lib/src/admission_reads.cpp).
#include <doctest/doctest.h>

#include <initializer_list>
#include <string_view>

#include "keep_paths.h"
#include "review_internal.h"

using dsw::detail::KeepPaths;
using Node = KeepPaths::Node;

namespace {

// The node reached from `node` by member names, "[]" standing for an array's elements; nullptr
// as soon as a member is not kept.
const Node* walk(const Node& node, std::initializer_list<std::string_view> steps) {
  const Node* n = &node;
  for (std::string_view step : steps) {
    if (step == "[]") {
      n = KeepPaths::element(KeepPaths::as_array(*n));
      if (n == nullptr) return nullptr;
    } else {
      n = KeepPaths::member(KeepPaths::as_object(*n), step);
      if (n == nullptr) return nullptr;
    }
  }
  return n;
}

// Whether what is at `steps` from `node` is kept whole.
bool kept_whole(const Node& node, std::initializer_list<std::string_view> steps) {
  const Node* n = walk(node, steps);
  return n != nullptr && n->whole;
}

}  // namespace

TEST_CASE("a path keeps its end whole, the members on its way, and nothing else") {
  KeepPaths p;
  p.add("request.uid");
  p.add("spec.components[].traits");
  CHECK_FALSE(p.root().whole);
  REQUIRE(walk(p.root(), {"request"}) != nullptr);
  CHECK_FALSE(kept_whole(p.root(), {"request"}));
  CHECK(kept_whole(p.root(), {"request", "uid"}));
  CHECK(kept_whole(p.root(), {"request", "uid", "anything", "[]", "below"}));
  CHECK(walk(p.root(), {"request", "userInfo"}) == nullptr);
  CHECK(walk(p.root(), {"status"}) == nullptr);
  CHECK(kept_whole(p.root(), {"spec", "components", "[]", "traits", "[]", "properties"}));
  CHECK(walk(p.root(), {"spec", "components", "[]", "properties"}) == nullptr);
  // Member names are compared whole and exactly.
  CHECK(walk(p.root(), {"request", "ui"}) == nullptr);
  CHECK(walk(p.root(), {"request", "uid2"}) == nullptr);
  CHECK(walk(p.root(), {"Request"}) == nullptr);
}

TEST_CASE("a value of a shape the paths do not foresee is kept whole") {
  KeepPaths p;
  p.add("spec.components[].name");
  const Node* spec = walk(p.root(), {"spec"});
  REQUIRE(spec != nullptr);
  // spec is meant to be an object: read as an array, all of it is kept.
  CHECK(KeepPaths::as_array(*spec).whole);
  CHECK_FALSE(KeepPaths::as_object(*spec).whole);
  // components is meant to be an array: read as an object, all of it is kept.
  const Node* components = walk(p.root(), {"spec", "components"});
  REQUIRE(components != nullptr);
  CHECK(KeepPaths::as_object(*components).whole);
  CHECK_FALSE(KeepPaths::as_array(*components).whole);
}

TEST_CASE("a path that is the prefix of another keeps everything below it") {
  KeepPaths p;
  p.add("a.b.c");
  p.add("a");
  p.add("x[][]");
  CHECK(kept_whole(p.root(), {"a", "z"}));
  CHECK(kept_whole(p.root(), {"a", "b", "q"}));
  CHECK(kept_whole(p.root(), {"x", "[]", "[]"}));
  CHECK_FALSE(kept_whole(p.root(), {"x", "[]"}));
  CHECK(KeepPaths::everything().root().whole);
  // No path, nothing kept.
  CHECK(walk(KeepPaths().root(), {"a"}) == nullptr);
  CHECK(walk(KeepPaths().root(), {"[]"}) == nullptr);
}

TEST_CASE("what the admission logic reads: the review's fields, and the same in object and oldObject") {
  const Node& root = dsw::detail::admission_reads().root();
  for (std::string_view field : {"apiVersion", "kind"}) CHECK(kept_whole(root, {field}));
  for (std::string_view field : {"uid", "kind", "operation", "name", "namespace", "dryRun"})
    CHECK(kept_whole(root, {"request", field}));
  for (std::string_view field : {"userInfo", "resource", "options", "requestKind"})
    CHECK(walk(root, {"request", field}) == nullptr);
  for (std::string_view object : {"object", "oldObject"}) {
    CAPTURE(object);
    CHECK(kept_whole(root, {"request", object, "metadata", "name"}));
    CHECK(walk(root, {"request", object, "metadata", "labels"}) == nullptr);
    CHECK(kept_whole(root, {"request", object, "spec", "policies"}));
    for (std::string_view field : {"name", "type", "traits"})
      CHECK(kept_whole(root, {"request", object, "spec", "components", "[]", field}));
    CHECK(walk(root, {"request", object, "spec", "components", "[]", "properties"}) == nullptr);
    CHECK(walk(root, {"request", object, "spec", "workflow"}) == nullptr);
    CHECK(walk(root, {"request", object, "status"}) == nullptr);
  }
}
