#include "dsw/patch.h"

namespace dsw {

Pointer Pointer::child(std::string_view key) const {
  std::string t = text_;
  t.reserve(t.size() + key.size() + 1);
  t += '/';
  for (char c : key) {
    if (c == '~')
      t += "~0";
    else if (c == '/')
      t += "~1";
    else
      t += c;
  }
  return Pointer(std::move(t));
}

Pointer Pointer::index(std::size_t i) const { return Pointer(text_ + "/" + std::to_string(i)); }

void Patch::add(const Pointer& at, nlohmann::json value) {
  ops_.push_back({PatchOp::Kind::Add, at.str(), std::move(value)});
}

void Patch::replace(const Pointer& at, nlohmann::json value) {
  ops_.push_back({PatchOp::Kind::Replace, at.str(), std::move(value)});
}

std::string Patch::to_json() const {
  std::string out = "[";
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    const auto& op = ops_[i];
    if (i) out += ',';
    out += op.kind == PatchOp::Kind::Add ? R"({"op":"add","path":)" : R"({"op":"replace","path":)";
    out += nlohmann::json(op.path).dump();
    out += R"(,"value":)";
    out += op.value.dump();
    out += '}';
  }
  out += ']';
  return out;
}

}  // namespace dsw
