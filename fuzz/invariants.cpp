#include "invariants.h"

#include <set>

#include "dsw/review.h"

namespace dsw::fuzz {

namespace {

constexpr const char* kDefaultViewType = "NEW_AND_OLD_IMAGES";

std::string string_member(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// What the apiserver accepts in a warning: one line, no C0/C1 control characters or DEL,
// at most 256 bytes.
bool acceptable_warning(const std::string& w) {
  if (w.size() > 256) return false;
  for (std::size_t i = 0; i < w.size(); ++i) {
    auto c = static_cast<unsigned char>(w[i]);
    if (c < 0x20 || c == 0x7F) return false;
    if (c == 0xC2 && i + 1 < w.size()) {
      auto d = static_cast<unsigned char>(w[i + 1]);
      if (d >= 0x80 && d <= 0x9F) return false;
    }
  }
  return true;
}

void check_status(const json& status, bool mutate) {
  DSW_FUZZ_CHECK(status.is_object(), "a denial must carry a status object: " + status.dump());
  const json* msg = status.contains("message") ? &status["message"] : nullptr;
  DSW_FUZZ_CHECK(msg != nullptr && msg->is_string() && !msg->get<std::string>().empty(),
                 "every deny carries a non-empty status.message: " + status.dump());
  DSW_FUZZ_CHECK(status.contains("code") && status["code"].is_number_integer(),
                 "status.code must be an integer");
  int code = status["code"].get<int>();
  DSW_FUZZ_CHECK(status.value("status", "") == "Failure", "status.status must be Failure");
  DSW_FUZZ_CHECK(!status.value("reason", "").empty(), "status.reason must be set");
  if (mutate) {
    DSW_FUZZ_CHECK(code == 400,
                   "the mutating endpoint never denies for content, got code " +
                       std::to_string(code));
  }
  if (code == 422) {
    DSW_FUZZ_CHECK(status.value("reason", "") == "Invalid", "422 must have reason Invalid");
    const json& details = status.at("details");
    const json& causes = details.at("causes");
    DSW_FUZZ_CHECK(causes.is_array() && !causes.empty(), "422 must list its causes");
    for (const auto& c : causes) {
      DSW_FUZZ_CHECK(c.is_object() && !c.value("field", "").empty() &&
                         !c.value("message", "").empty() && !c.value("reason", "").empty(),
                     "each cause has field, message and reason: " + c.dump());
      DSW_FUZZ_CHECK(c["field"].get<std::string>().rfind("spec.", 0) == 0,
                     "a cause names a field under spec: " + c.dump());
    }
  }
}

// Applies one patch operation to `doc` after checking that it only adds an absent member to an
// existing object or replaces a null, and that it writes a documented default.
void apply_checked(json& doc, const json& op) {
  DSW_FUZZ_CHECK(op.is_object() && op.size() == 3 && op.contains("op") && op.contains("path") &&
                     op.contains("value"),
                 "a patch operation has exactly op, path and value: " + op.dump());
  const std::string kind = op["op"].is_string() ? op["op"].get<std::string>() : "";
  DSW_FUZZ_CHECK(kind == "add" || kind == "replace", "only add and replace: " + op.dump());
  DSW_FUZZ_CHECK(op["path"].is_string(), "path must be a string");
  const std::string path = op["path"].get<std::string>();
  DSW_FUZZ_CHECK(path.rfind("/spec/", 0) == 0, "a patch only touches spec: " + path);
  const json& value = op["value"];
  if (ends_with(path, "/properties")) {
    DSW_FUZZ_CHECK(value == json({{"enabled", true}, {"viewType", kDefaultViewType}}),
                   "properties default is {enabled:true, viewType:NEW_AND_OLD_IMAGES}: " +
                       op.dump());
  } else if (ends_with(path, "/properties/enabled")) {
    DSW_FUZZ_CHECK(value == json(true), "enabled defaults to true: " + op.dump());
  } else if (ends_with(path, "/properties/viewType")) {
    DSW_FUZZ_CHECK(value == json(kDefaultViewType), "viewType default: " + op.dump());
  } else {
    DSW_FUZZ_CHECK(false, "a patch writes only trait properties: " + op.dump());
  }

  json::json_pointer ptr;
  try {
    ptr = json::json_pointer(path);
  } catch (const json::exception& e) {
    DSW_FUZZ_CHECK(false, "patch path is not a JSON pointer: " + path + " (" + e.what() + ")");
  }
  json::json_pointer parent = ptr.parent_pointer();
  std::string key = ptr.back();
  DSW_FUZZ_CHECK(doc.contains(parent) && doc.at(parent).is_object(),
                 "the parent of " + path + " must be an existing object (RFC 6902 creates no "
                 "parents)");
  json& obj = doc.at(parent);
  auto it = obj.find(key);
  if (kind == "add") {
    DSW_FUZZ_CHECK(it == obj.end(), "add must not overwrite a present value at " + path);
    obj[key] = value;
  } else {
    DSW_FUZZ_CHECK(it != obj.end() && it->is_null(), "replace only replaces a null at " + path);
    *it = value;
  }
}

json check_patch(const json& object, const std::string& patch_text, std::size_t expected_ops) {
  json patch;
  try {
    patch = json::parse(patch_text);
  } catch (const json::exception& e) {
    DSW_FUZZ_CHECK(false, std::string("patch is not JSON: ") + e.what());
  }
  DSW_FUZZ_CHECK(patch.is_array() && !patch.empty(), "a patch is a non-empty JSON array");
  DSW_FUZZ_CHECK(patch.size() == expected_ops, "Outcome.patch_ops matches the patch");
  DSW_FUZZ_CHECK(object.is_object(), "a patch only for an object");

  json applied;
  try {
    applied = object.patch(patch);  // nlohmann's RFC 6902 implementation
  } catch (const json::exception& e) {
    DSW_FUZZ_CHECK(false, std::string("patch does not apply: ") + e.what() + "\npatch: " +
                              patch_text);
  }
  json stepwise = object;
  for (const auto& op : patch) apply_checked(stepwise, op);
  DSW_FUZZ_CHECK(stepwise == applied, "json::patch and the step-by-step application agree");
  return applied;
}

}  // namespace

bool base64_decode_strict(std::string_view in, std::string& out) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return false;
  out.clear();
  unsigned buf = 0;
  int bits = 0;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '=') {
      if (i + 2 < in.size()) return false;
      ++pad;
      continue;
    }
    if (pad) return false;
    int v = val(in[i]);
    if (v < 0) return false;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFFu);
    }
  }
  return true;
}

bool quotes_input(std::string_view message, std::string_view input) {
  // The messages are fixed sentences with numbers: they contain no JSON punctuation. (An input
  // without any could be a piece of a message sentence itself, which libFuzzer finds quickly.)
  if (message.find_first_of("\"{}") != std::string_view::npos) return true;
  return input.size() >= 8 && input.find_first_of("\"{") != std::string_view::npos &&
         message.find(input) != std::string_view::npos;
}

bool printable_ascii_line(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F) return false;
  }
  return true;
}

json check_answer(Endpoint endpoint, std::string_view input, const Outcome& out,
                  const Options& options) {
  const bool mutate = endpoint == Endpoint::Mutate;
  DSW_FUZZ_CHECK(out.http_status == 200 || out.http_status == 400,
                 "HTTP status is 200 or 400, got " + std::to_string(out.http_status));
  // answer_review() builds only the parts of a review the admission logic reads (admission_reads.cpp);
  // its answer must be exactly the one handle() gives on the whole document that decode_review()
  // builds. A rule reading a field that list lacks shows up here.
  const DecodeResult reference = decode_review(input, options);
  if (out.http_status == 400) {
    const auto* ref_error = std::get_if<DecodeError>(&reference);
    DSW_FUZZ_CHECK(ref_error != nullptr, "400 only for a body decode_review refuses");
    DSW_FUZZ_CHECK(out.body == ref_error->message,
                   "answer_review() and decode_review() give the same error: \"" + out.body + "\" vs \"" +
                       ref_error->message + "\"");
    DSW_FUZZ_CHECK(!out.body.empty() && out.body.size() <= 160 && printable_ascii_line(out.body),
                   "a 400 body is a short line of printable ASCII: " + out.body);
    DSW_FUZZ_CHECK(!quotes_input(out.body, input), "a 400 body never quotes the input");
    DSW_FUZZ_CHECK(out.verdict == Verdict::Error, "a 400 is logged as an error");
    return nullptr;
  }
  const auto* ref_request = std::get_if<Request>(&reference);
  DSW_FUZZ_CHECK(ref_request != nullptr, "200 only for a body decode_review accepts");
  DSW_FUZZ_CHECK(out.body == handle(endpoint, *ref_request, options)
                                 .encode(ref_request->api_version, ref_request->uid),
                 "answer_review() answers exactly as handle(decode_review()) does");

  // The request, read independently of the library.
  const json doc = json::parse(input);
  const json& req = doc.at("request");
  const std::string api_version = doc.at("apiVersion").get<std::string>();
  const std::string uid = req.at("uid").get<std::string>();
  const json kind = req.contains("kind") ? req["kind"] : json();
  const std::string group = string_member(kind, "group"), kind_name = string_member(kind, "kind");
  const bool application = group == "core.oam.dev" && kind_name == "Application";
  const bool ack_table = group == "dynamodb.services.k8s.aws" && kind_name == "Table";
  const bool kro_table = group == "kro.run" && kind_name == "DynamoDBTable";
  const std::string operation = string_member(req, "operation");
  const bool create_or_update = operation == "CREATE" || operation == "UPDATE";
  // Tables are only validated: the mutating endpoint leaves them untouched.
  const bool in_scope = create_or_update && (application || (!mutate && (ack_table || kro_table)));
  const json object = req.contains("object") ? req["object"] : json();

  DSW_FUZZ_CHECK(out.uid == uid && out.api_version == api_version,
                 "the log fields identify the review");
  const ObjectKind expected_kind = application  ? ObjectKind::Application
                                   : ack_table ? ObjectKind::AckTable
                                   : kro_table ? ObjectKind::KroTable
                                               : ObjectKind::Other;
  DSW_FUZZ_CHECK(out.object_kind == expected_kind,
                 "the metrics' kind is the request's: " + std::string(to_string(out.object_kind)));

  json answer;
  try {
    answer = json::parse(out.body);
  } catch (const json::exception& e) {
    DSW_FUZZ_CHECK(false, std::string("a 200 body is JSON: ") + e.what() + "\n" + out.body);
  }
  DSW_FUZZ_CHECK(answer.is_object() && answer.size() == 3, "AdmissionReview has 3 members");
  DSW_FUZZ_CHECK(answer.value("apiVersion", "") == api_version,
                 "answer in the request's apiVersion " + api_version);
  DSW_FUZZ_CHECK(answer.value("kind", "") == "AdmissionReview", "answer kind AdmissionReview");
  DSW_FUZZ_CHECK(answer.contains("response") && answer["response"].is_object(),
                 "answer has a response");
  const json& r = answer["response"];
  static const std::set<std::string> known{"uid",   "allowed",  "patchType",
                                           "patch", "status",   "warnings"};
  for (auto it = r.begin(); it != r.end(); ++it)
    DSW_FUZZ_CHECK(known.count(it.key()) == 1, "unknown response member " + it.key());
  DSW_FUZZ_CHECK(r.contains("uid") && r["uid"].is_string() && r["uid"].get<std::string>() == uid,
                 "response.uid equals request.uid");
  DSW_FUZZ_CHECK(r.contains("allowed") && r["allowed"].is_boolean(), "allowed is a boolean");
  const bool allowed = r["allowed"].get<bool>();
  DSW_FUZZ_CHECK(r.contains("patch") == r.contains("patchType"),
                 "patch and patchType go together");
  if (!mutate) DSW_FUZZ_CHECK(!r.contains("patch"), "a validating answer never carries a patch");

  if (allowed) {
    DSW_FUZZ_CHECK(!r.contains("status"), "an allowed answer carries no failure status");
  } else {
    DSW_FUZZ_CHECK(r.contains("status"), "every deny carries a status");
    check_status(r["status"], mutate);
    DSW_FUZZ_CHECK(!r.contains("patch"), "a deny carries no patch");
  }
  if (!in_scope) {
    DSW_FUZZ_CHECK(allowed && !r.contains("patch") && !r.contains("warnings"),
                   "other kinds and operations are allowed untouched");
  }
  if ((ack_table || kro_table) && operation == "UPDATE" && object.is_object() &&
      req.contains("oldObject")) {
    // An UPDATE that leaves a table's stream fields as they were is never denied for them.
    const json& old_object = req["oldObject"];
    auto field = [](const json& obj, const char* key) {
      if (!obj.is_object() || !obj.contains("spec") || !obj["spec"].is_object()) return json();
      const json& spec = obj["spec"];
      return spec.contains(key) ? spec[key] : json(json::value_t::discarded);
    };
    static const char* const kAckFields[] = {"streamSpecification", "tableReplicas"};
    static const char* const kKroFields[] = {"streamEnabled", "streamViewType"};
    bool same = old_object.is_object();
    for (const char* key : ack_table ? kAckFields : kKroFields) {
      json a = field(old_object, key), b = field(object, key);
      same = same && a.is_discarded() == b.is_discarded() && (a.is_discarded() || a == b);
    }
    if (same) DSW_FUZZ_CHECK(allowed, "a table UPDATE with its stream fields unchanged is allowed");
  }

  std::size_t warnings = 0;
  if (r.contains("warnings")) {
    DSW_FUZZ_CHECK(r["warnings"].is_array() && !r["warnings"].empty(), "warnings is a list");
    for (const auto& w : r["warnings"]) {
      DSW_FUZZ_CHECK(w.is_string() && acceptable_warning(w.get<std::string>()),
                     "a warning is one line, no control characters, <= 256 bytes: " + w.dump());
      ++warnings;
    }
  }
  DSW_FUZZ_CHECK(out.warnings == warnings, "Outcome.warnings counts the warnings");

  if (!r.contains("patch")) {
    DSW_FUZZ_CHECK(out.verdict != Verdict::Patched && out.patch_ops == 0,
                   "no patch, no Patched verdict");
    return nullptr;
  }
  DSW_FUZZ_CHECK(out.verdict == Verdict::Patched, "a patch is logged as Patched");
  DSW_FUZZ_CHECK(r["patchType"] == "JSONPatch", "patchType is JSONPatch");
  DSW_FUZZ_CHECK(r["patch"].is_string(), "patch is a base64 string");
  std::string patch_text;
  DSW_FUZZ_CHECK(base64_decode_strict(r["patch"].get<std::string>(), patch_text),
                 "patch is valid base64");
  json patched = check_patch(object, patch_text, out.patch_ops);

  // Idempotence: a second pass over the patched object yields no patch. The patched review is
  // re-serialized; values JSON cannot carry back (an out-of-range float parsed as infinity
  // dumps as null) would make the second review a different one, so those are skipped.
  json again = doc;
  again["request"]["object"] = patched;
  std::string text = again.dump();
  if (json::parse(text) == again) {
    Outcome second = answer_review(Endpoint::Mutate, text, options);
    DSW_FUZZ_CHECK(second.http_status == 200, "the patched review is still a review");
    json second_patch = check_answer(Endpoint::Mutate, text, second, options);
    DSW_FUZZ_CHECK(second_patch.is_null(),
                   "a second mutating pass yields no patch; got one for\n" + text);
  }
  return patched;
}

json check_both_endpoints(std::string_view input) {
  Options strict;
  Options lenient;
  lenient.unknown_properties = Enforcement::Warn;
  lenient.view_type_change = Enforcement::Warn;

  Outcome m = answer_review(Endpoint::Mutate, input, strict);
  json patched = check_answer(Endpoint::Mutate, input, m, strict);
  Outcome v = answer_review(Endpoint::Validate, input, strict);
  check_answer(Endpoint::Validate, input, v, strict);
  DSW_FUZZ_CHECK(m.http_status == v.http_status, "both endpoints agree on what is a review");
  if (v.http_status != 200) return patched;

  Outcome vl = answer_review(Endpoint::Validate, input, lenient);
  check_answer(Endpoint::Validate, input, vl, lenient);
  const bool strict_allowed = json::parse(v.body)["response"]["allowed"].get<bool>();
  const bool lenient_allowed = json::parse(vl.body)["response"]["allowed"].get<bool>();
  DSW_FUZZ_CHECK(!strict_allowed || lenient_allowed,
                 "warn-instead-of-deny never turns an allowed review into a deny");

  // --enforcement warn: a denial for the content becomes an allowed answer warning with the
  // denial's field error strings, then its warnings, at most kMaxWarnings; every other answer,
  // and /mutate, is byte for byte the one of deny.
  Options warn;
  warn.enforcement = Enforcement::Warn;
  Outcome vw = answer_review(Endpoint::Validate, input, warn);
  DSW_FUZZ_CHECK(vw.http_status == 200, "warn and deny agree on what is a review");
  DSW_FUZZ_CHECK(answer_review(Endpoint::Mutate, input, warn).body == m.body,
                 "/mutate answers the same with --enforcement warn");
  const json denied = json::parse(v.body)["response"];
  if (v.verdict == Verdict::Denied) {
    std::vector<std::string> want;
    for (const auto& c : denied["status"]["details"]["causes"])
      want.push_back(sanitize_warning(c["field"].get<std::string>() + ": " +
                                      c["message"].get<std::string>()));
    if (denied.contains("warnings"))
      for (const auto& w : denied["warnings"]) want.push_back(w.get<std::string>());
    cap_warnings(want);
    const json warned = json::parse(vw.body)["response"];
    DSW_FUZZ_CHECK(vw.verdict == Verdict::Warned && warned["allowed"] == true &&
                       !warned.contains("status") && !warned.contains("patch"),
                   "a denial is allowed and counted as warned with --enforcement warn");
    DSW_FUZZ_CHECK(warned.value("warnings", json::array()) == json(want) &&
                       vw.warnings == want.size() && want.size() <= kMaxWarnings,
                   "the warnings are the denial's field errors, then its warnings:\n" + vw.body +
                       "\n" + v.body);
  } else {
    DSW_FUZZ_CHECK(vw.body == v.body && vw.verdict == v.verdict,
                   "what deny does not deny for its content is answered the same with warn");
  }

  // The apiserver runs mutating webhooks before validating ones: on CREATE, an object that is
  // valid must still be valid once defaulted.
  json doc = json::parse(input);
  if (strict_allowed && !patched.is_null() && string_member(doc["request"], "operation") == "CREATE") {
    doc["request"]["object"] = patched;
    std::string text = doc.dump();
    Outcome v2 = answer_review(Endpoint::Validate, text, strict);
    check_answer(Endpoint::Validate, text, v2, strict);
    DSW_FUZZ_CHECK(v2.http_status == 200 &&
                       json::parse(v2.body)["response"]["allowed"].get<bool>(),
                   "defaulting must not make a valid Application invalid:\n" + text + "\n" +
                       v2.body);
  }
  return patched;
}

}  // namespace dsw::fuzz
