#include "dsw/tables.h"

#include <initializer_list>

#include "json_access.h"

namespace dsw::tables {

using nlohmann::json;
using detail::member;
using streams::Findings;
using streams::StreamFields;

namespace {

// A view type that is set: not absent, not null, not "" (what kro and Helm templates render
// for an unset value).
bool given(const json* view) {
  return view != nullptr && !view->is_null() &&
         !(view->is_string() && view->get_ref<const std::string&>().empty());
}

// A table's stream as its two fields say, counting only valid values.
struct Stream {
  bool on = false;              // the enabling field is true
  bool off = false;             // the enabling field is false
  bool view_given = false;      // see given()
  const json* view = nullptr;   // the view type, when it is one of the four
};

Stream read_stream(const json* enabled, const json* view) {
  Stream s;
  if (enabled != nullptr && enabled->is_boolean()) (enabled->get<bool>() ? s.on : s.off) = true;
  s.view_given = given(view);
  if (s.view_given && streams::is_view_type(*view)) s.view = view;
  return s;
}

// Applies every stream rule to one table's two fields. `before` is the stream of the object
// before an UPDATE (nullptr on CREATE). Sets `valid` to false when a value itself is invalid.
Stream check_stream(const json* enabled, const json* view, const Stream* before,
                    const StreamFields& fields, const Options& options, Findings& out,
                    bool& valid) {
  valid = true;
  if (enabled != nullptr && !enabled->is_null())
    valid = streams::check_enabled(*enabled, fields, out) && valid;
  if (given(view)) valid = streams::check_view_type(*view, fields, out) && valid;
  Stream s = read_stream(enabled, view);
  if (s.on && !s.view_given) streams::require_view_type(fields, out);
  if (s.off && s.view != nullptr)
    streams::warn_view_type_ignored(fields, s.view->get_ref<const std::string&>(), out);
  if (before != nullptr && before->on && s.on)
    streams::check_view_type_change(before->view, s.view, fields, options.view_type_change, out);
  return s;
}

// The object's spec, when it is an object.
const json* spec_of(const json& object) {
  const json* spec = member(object, "spec");
  return spec != nullptr && spec->is_object() ? spec : nullptr;
}

// Whether an UPDATE left each of `keys` of the spec as it was (absent in both counts as equal).
bool unchanged(const json* old_spec, const json& spec, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    const json* before = old_spec != nullptr ? member(*old_spec, key) : nullptr;
    const json* now = member(spec, key);
    if (before == nullptr || now == nullptr) {
      if (before != now) return false;
    } else if (*before != *now) {
      return false;
    }
  }
  return true;
}

// DynamoDB global tables (replicas) replicate through the stream: ACK sets a terminal error on
// a Table with replicas whose stream is not enabled with NEW_AND_OLD_IMAGES.
void check_replicas(const Stream& stream, const field::Path& path, Findings& out) {
  if (stream.on && stream.view != nullptr && *stream.view == streams::kReplicaViewType) return;
  std::string why;
  if (!stream.on)
    why = "the stream is not enabled";
  else if (stream.view == nullptr)
    why = "the stream has no view type";
  else
    why = "the stream's view type is " + field::go_quote(stream.view->get_ref<const std::string&>());
  out.errors.push_back(field::forbidden(
      path, "a table with replicas (a DynamoDB global table) needs its stream enabled with view "
            "type " +
                field::go_quote(streams::kReplicaViewType) + ", but " + why));
}

}  // namespace

Findings validate_ack_table(const json& table, const json* old_table, const Options& options) {
  Findings out;
  const json* spec = spec_of(table);
  if (spec == nullptr) return out;
  const json* old_spec = old_table != nullptr ? spec_of(*old_table) : nullptr;
  if (old_table != nullptr && unchanged(old_spec, *spec, {"streamSpecification", "tableReplicas"}))
    return out;

  const field::Path spec_path = field::Path::root("spec");
  const field::Path ss_path = spec_path.child("streamSpecification");
  const json* ss = member(*spec, "streamSpecification");
  Stream stream;
  bool valid = true;
  if (ss != nullptr && !ss->is_null() && !ss->is_object()) {
    out.errors.push_back(field::invalid(ss_path, *ss, "must be an object"));
    valid = false;
  } else if (ss != nullptr && ss->is_object()) {
    const StreamFields fields{ss_path, "streamEnabled", "streamViewType"};
    Stream before;
    const json* old_ss = old_spec != nullptr ? member(*old_spec, "streamSpecification") : nullptr;
    if (old_ss != nullptr && old_ss->is_object())
      before = read_stream(member(*old_ss, "streamEnabled"), member(*old_ss, "streamViewType"));
    stream = check_stream(member(*ss, "streamEnabled"), member(*ss, "streamViewType"),
                          old_table != nullptr ? &before : nullptr, fields, options, out, valid);
  }
  // Checked once the stream's own values are valid: fixing those may already satisfy it.
  const json* replicas = member(*spec, "tableReplicas");
  if (valid && replicas != nullptr && replicas->is_array() && !replicas->empty())
    check_replicas(stream, spec_path.child("tableReplicas"), out);
  return out;
}

Findings validate_kro_table(const json& table, const json* old_table, const Options& options) {
  Findings out;
  const json* spec = spec_of(table);
  if (spec == nullptr) return out;
  const json* enabled = member(*spec, "streamEnabled");
  const json* view = member(*spec, "streamViewType");
  if (enabled == nullptr && view == nullptr) return out;
  const json* old_spec = old_table != nullptr ? spec_of(*old_table) : nullptr;
  if (old_table != nullptr && unchanged(old_spec, *spec, {"streamEnabled", "streamViewType"}))
    return out;

  const StreamFields fields{field::Path::root("spec"), "streamEnabled", "streamViewType"};
  Stream before;
  if (old_spec != nullptr)
    before = read_stream(member(*old_spec, "streamEnabled"), member(*old_spec, "streamViewType"));
  bool valid = true;
  check_stream(enabled, view, old_table != nullptr ? &before : nullptr, fields, options, out,
               valid);
  return out;
}

}  // namespace dsw::tables
