#include "selftest/probes.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <random>

namespace dsw::selftest {

namespace {

using nlohmann::json;

constexpr const char* kValidName = "dsw-selftest-valid";
constexpr const char* kInvalidName = "dsw-selftest-invalid";
constexpr std::size_t kShown = 1000;

json application(const std::string& component_type, const std::string& name, const json* properties) {
  json trait = {{"type", "dynamodb-streams-kro"}};
  if (properties != nullptr) trait["properties"] = *properties;
  return {{"apiVersion", "core.oam.dev/v1beta1"},
          {"kind", "Application"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec",
           {{"components",
             json::array({{{"name", "table"},
                           {"type", component_type},
                           {"properties", {{"tableName", name}}},
                           {"traits", json::array({trait})}}})}}}};
}

// At most kShown bytes (enough for a denial's whole status) of `text` on one line (control characters as spaces), for messages.
std::string shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kShown)) out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  if (text.size() > kShown) {
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    out += "...";
  }
  return out;
}

std::string shown_json(const json& j) {
  return shown(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// Standard base64 with padding (what the webhook sends); nothing for anything else.
std::optional<std::string> base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --len;
  out.resize(len);
  return out;
}

// The patch of a response as JSON: nothing when there is none; a string describing what is
// wrong with it when it is not base64 JSON.
struct DecodedPatch {
  bool present = false;
  json value;
  std::string error;
};

DecodedPatch decode_patch(const json& response) {
  DecodedPatch d;
  const json* p = member(response, "patch");
  if (p == nullptr || p->is_null()) return d;
  d.present = true;
  if (!p->is_string()) {
    d.error = "patch is not a string: " + shown_json(*p);
    return d;
  }
  auto raw = base64_decode(p->get<std::string>());
  if (!raw) {
    d.error = "patch is not base64: " + shown_json(*p);
    return d;
  }
  d.value = json::parse(*raw, nullptr, false);
  if (d.value.is_discarded()) d.error = "patch is not JSON once decoded: " + shown(*raw);
  return d;
}

std::string warnings_text(const json* w) {
  if (w == nullptr || !w->is_array() || w->empty()) return "no warnings";
  std::string out = w->size() == 1 ? "the warning " : std::to_string(w->size()) + " warnings ";
  return out + shown_json(*w);
}

}  // namespace

std::string valid_application(const std::string& component_type) {
  return application(component_type, kValidName, nullptr).dump();
}

std::string invalid_application(const std::string& component_type) {
  const json props = {{"viewType", "NEW_IMAGES"}};
  return application(component_type, kInvalidName, &props).dump();
}

std::string review_of(const std::string& object_json, const std::string& name, const std::string& uid) {
  const json gvk = {{"group", "core.oam.dev"}, {"version", "v1beta1"}, {"kind", "Application"}};
  const json gvr = {{"group", "core.oam.dev"}, {"version", "v1beta1"}, {"resource", "applications"}};
  json review = {
      {"apiVersion", "admission.k8s.io/v1"},
      {"kind", "AdmissionReview"},
      {"request",
       {{"uid", uid},
        {"kind", gvk},
        {"resource", gvr},
        {"requestKind", gvk},
        {"requestResource", gvr},
        {"name", name},
        {"namespace", "default"},
        {"operation", "CREATE"},
        {"userInfo", {{"username", "dynamodb-streams-webhook-selftest"}}},
        {"object", json::parse(object_json)},
        {"oldObject", nullptr},
        {"dryRun", true},
        {"options", {{"apiVersion", "meta.k8s.io/v1"}, {"kind", "CreateOptions"}}}}}};
  return review.dump();
}

std::vector<Probe> admission_probes(const Options& options, const std::function<std::string()>& new_uid) {
  const std::string type = options.applies_to.empty() ? std::string("aws-dynamodb-kro") : options.applies_to.front();
  struct Object {
    const char* label;
    const char* name;
    std::string json;
  };
  const Object objects[] = {{"valid Application", kValidName, valid_application(type)},
                            {"invalid Application", kInvalidName, invalid_application(type)}};
  std::vector<Probe> out;
  for (const auto& o : objects) {
    for (Endpoint e : {Endpoint::Mutate, Endpoint::Validate}) {
      Probe p;
      p.endpoint = e;
      p.path = std::string("/") + std::string(to_string(e));
      p.name = "POST " + p.path + " (" + o.label + ")";
      p.uid = new_uid();
      p.body = review_of(o.json, o.name, p.uid);
      p.expected = answer_review(e, p.body, options).body;
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::vector<Check> judge(const Probe& probe, const net::Response& answer) {
  std::vector<Check> out;
  auto add = [&](bool ok, const std::string& aspect, std::string detail) {
    out.push_back({ok, probe.name + ": " + aspect, std::move(detail)});
  };
  if (!answer.answered()) {
    add(false, "answer", "no answer: " + answer.error);
    return out;
  }
  if (answer.status != 200) {
    add(false, "answer", "HTTP " + std::to_string(answer.status) + " instead of 200 with an AdmissionReview: " +
                             (answer.body.empty() ? std::string("(empty body)") : shown(answer.body)));
    return out;
  }
  const json want = json::parse(probe.expected);
  const json got = json::parse(answer.body, nullptr, false);
  const json* resp = got.is_object() ? member(got, "response") : nullptr;
  if (got.is_discarded() || resp == nullptr || !resp->is_object()) {
    add(false, "answer", "HTTP 200 but not an AdmissionReview answer: " +
                             (answer.body.empty() ? std::string("(empty body)") : shown(answer.body)));
    return out;
  }
  const std::string want_type = want["apiVersion"].get<std::string>() + " " + want["kind"].get<std::string>();
  const bool typed = got.value("apiVersion", json()) == want["apiVersion"] && got.value("kind", json()) == want["kind"];
  add(typed, "answer",
      typed ? "HTTP 200, an " + want_type
            : "HTTP 200 but apiVersion " + shown_json(got.value("apiVersion", json())) + ", kind " +
                  shown_json(got.value("kind", json())) + " (expected an " + want_type + ")");

  const json& w = want["response"];
  const json& g = *resp;
  const json* uid = member(g, "uid");
  const bool uid_ok = uid != nullptr && uid->is_string() && *uid == probe.uid;
  add(uid_ok, "uid", uid_ok ? "\"" + probe.uid + "\" echoed"
                            : "expected \"" + probe.uid + "\", got " + (uid ? shown_json(*uid) : std::string("none")));

  const bool want_allowed = w["allowed"].get<bool>();
  const json* allowed = member(g, "allowed");
  const json* want_warnings = member(w, "warnings");
  const json* got_warnings = member(g, "warnings");
  if (allowed == nullptr || !allowed->is_boolean()) {
    add(false, "verdict", "no boolean \"allowed\" in the answer: " + shown_json(g));
  } else if (allowed->get<bool>() == want_allowed) {
    add(true, "verdict", want_allowed ? "allowed" : "denied");
  } else if (want_allowed) {
    const json* st = member(g, "status");
    std::string why = st && st->is_object() ? shown(st->value("message", std::string())) : std::string();
    std::string hint = want_warnings ? " (expected allowed with warnings, as --enforcement warn answers: is the "
                                       "server's enforcement deny?)"
                                     : "";
    add(false, "verdict", "expected allowed, got denied" + (why.empty() ? "" : ": " + why) + hint);
  } else {
    std::string hint = got_warnings ? " (expected denied, as --enforcement deny answers: is the server's "
                                      "enforcement warn?)"
                                    : "";
    add(false, "verdict", "expected denied, got allowed with " + warnings_text(got_warnings) + hint);
  }

  const DecodedPatch want_patch = decode_patch(w);
  const DecodedPatch got_patch = decode_patch(g);
  if (want_patch.present || got_patch.present) {
    const json* type = member(g, "patchType");
    if (!got_patch.error.empty()) {
      add(false, "patch", got_patch.error);
    } else if (!got_patch.present) {
      add(false, "patch", "expected JSONPatch " + shown_json(want_patch.value) + ", got no patch");
    } else if (!want_patch.present) {
      add(false, "patch", "expected no patch, got " + shown_json(got_patch.value));
    } else if (type == nullptr || *type != "JSONPatch") {
      add(false, "patch", "patchType is " + (type ? shown_json(*type) : std::string("missing")) + ", not \"JSONPatch\"");
    } else if (got_patch.value != want_patch.value) {
      add(false, "patch", "expected JSONPatch " + shown_json(want_patch.value) + ", got " + shown_json(got_patch.value));
    } else {
      add(true, "patch", "JSONPatch " + shown_json(got_patch.value));
    }
  }

  const json* want_status = member(w, "status");
  const json* got_status = member(g, "status");
  if (want_status != nullptr || got_status != nullptr) {
    if (want_status == nullptr) {
      add(false, "status", "expected none, got " + shown_json(*got_status));
    } else if (got_status == nullptr) {
      add(false, "status", "expected " + shown_json(*want_status) + ", got none");
    } else if (*got_status != *want_status) {
      add(false, "status", "expected " + shown_json(*want_status) + ", got " + shown_json(*got_status));
    } else {
      add(true, "status",
          std::to_string(want_status->value("code", 0)) + " " + want_status->value("reason", std::string()) +
              ": " + shown(want_status->value("message", std::string())));
    }
  }

  if (want_warnings != nullptr || got_warnings != nullptr) {
    const json none = json::array();
    const json& ww = want_warnings ? *want_warnings : none;
    const json& gw = got_warnings ? *got_warnings : none;
    if (ww == gw) {
      add(true, "warnings", warnings_text(got_warnings));
    } else {
      add(false, "warnings", "expected " + warnings_text(want_warnings) + ", got " + warnings_text(got_warnings));
    }
  }
  return out;
}

Check judge_readyz(const net::Response& answer) {
  Check c{false, "GET /readyz", {}};
  if (!answer.answered()) {
    c.detail = "no answer: " + answer.error;
  } else if (answer.status != 200) {
    c.detail = "HTTP " + std::to_string(answer.status) + " instead of 200" +
               (answer.body.empty() ? std::string() : ": " + shown(answer.body));
  } else {
    c.ok = true;
    c.detail = "HTTP 200 (ready)";
  }
  return c;
}

std::string random_uid() {
  std::random_device rd;
  unsigned char b[16];
  for (std::size_t i = 0; i < sizeof b; i += 4) {
    const unsigned int r = rd();
    for (std::size_t k = 0; k < 4; ++k) b[i + k] = static_cast<unsigned char>(r >> (8 * k));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < sizeof b; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 15];
  }
  return out;
}

}  // namespace dsw::selftest
