// An RFC 6902 JSON Patch, built operation by operation (never by diffing documents).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsw {

// RFC 6901 JSON Pointer, built segment by segment with `~` and `/` escaped.
class Pointer {
 public:
  Pointer() = default;
  Pointer child(std::string_view key) const;
  Pointer index(std::size_t i) const;
  const std::string& str() const { return text_; }

 private:
  explicit Pointer(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

struct PatchOp {
  enum class Kind { Add, Replace } kind;
  std::string path;
  nlohmann::json value;
};

class Patch {
 public:
  // `add` requires the parent of `at` to exist and `at` to be absent (or a member to replace).
  void add(const Pointer& at, nlohmann::json value);
  // `replace` requires `at` to exist.
  void replace(const Pointer& at, nlohmann::json value);

  bool empty() const { return ops_.empty(); }
  std::size_t size() const { return ops_.size(); }
  const std::vector<PatchOp>& ops() const { return ops_; }

  // The patch as JSON text: [{"op":"add","path":"/a","value":1}, ...].
  std::string to_json() const;

 private:
  std::vector<PatchOp> ops_;
};

}  // namespace dsw
