// Structure-aware fuzz target: the fuzz bytes do not form JSON; they choose, byte by byte, the
// shape of an Application (components, traits, override policies, an oldObject for UPDATE)
// from dictionaries of the values that matter to the trait rules: trait and component types
// (with and without @revision, near misses), property keys (typos, case, pointer escapes,
// unicode), property values of every JSON type, name globs. The fuzzer so spends its time in
// the trait logic instead of in JSON syntax.
//
// Each review goes through the generic invariants (invariants.h) and through an oracle that
// knows what was built:
//  - validate denies exactly when a property rule is broken... at least: every broken property
//    rule (properties not an object, enabled not a boolean, viewType not a string or not in the
//    enum, an unknown key) must appear among the causes, with its field path;
//  - after the mutating patch, every streams trait of spec.components has its defaults, every
//    value that was present is unchanged, and invalid shapes are left alone.
#include <algorithm>
#include <cstddef>
#include <iterator>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "admission_review.h"
#include "dsw/handler.h"
#include "invariants.h"

namespace {

using nlohmann::json;

class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
  std::uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  std::size_t pick(std::size_t count) { return byte() % count; }
  bool coin() { return (byte() & 1) != 0; }
  template <typename T, std::size_t N>
  const T& from(const T (&items)[N]) {
    return items[pick(N)];
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

const char* const kTraitTypes[] = {
    "dynamodb-streams-kro", "dynamodb-streams-kro", "dynamodb-streams-kro@v1",
    "dynamodb-streams-kro@", "dynamodb-streams-kro-legacy", "DYNAMODB-STREAMS-KRO", "scaler", ""};
const char* const kComponentTypes[] = {"aws-dynamodb-kro", "aws-dynamodb-kro", "aws-dynamodb-kro@v2",
                                       "webservice", "aws-dynamodb", ""};
const char* const kNames[] = {"t", "users", "user-table", "a", "", "caf\xc3\xa9", "t*", "a/b~"};
const char* const kGlobs[] = {"", "*", "t*", "*table", "u*e", "x", "user-table", "*-*", "**", "t"};
const char* const kKeys[] = {"enabled",  "viewType", "viewtype", "view_type", "Enabled",
                             "enabeld",  "bogus",    "",         "a/b",       "~1",
                             "caf\xc3\xa9", "key with space", "x\0y" /* with its NUL, see properties() */,
                             "\xe2\x80\xa8"};
const char* const kViewTypes[] = {"NEW_IMAGE", "KEYS_ONLY", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"};

json value(Bytes& b) {
  switch (b.pick(24)) {
    case 0: return true;
    case 1: return false;
    case 2: return nullptr;
    case 3: case 4: case 5: case 6: return b.from(kViewTypes);
    case 7: return "new-image";
    case 8: return "New And Old Images";
    case 9: return "NEW";
    case 10: return "";
    case 11: return 0;
    case 12: return -1;
    case 13: return 1.5;
    case 14: return 1e300;
    case 15: return std::uint64_t{18446744073709551615u};
    case 16: return json::array();
    case 17: return json::object();
    case 18: return json{1, "two", nullptr};
    case 19: return json{{"enabled", true}};
    case 20: return "yes";
    case 21: return "line\nbreak\x1b[31m\xe2\x80\xae";
    case 22: return std::string(300, 'N');
    default: return std::string("x\0y", 3);
  }
}

json properties(Bytes& b) {
  json p = json::object();
  std::size_t n = b.pick(4);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t k = b.pick(std::size(kKeys));
    std::string key = k == 12 ? std::string("x\0y", 3) : std::string(kKeys[k]);
    p[key] = value(b);
  }
  return p;
}

json trait(Bytes& b, bool override_entry) {
  if (b.pick(16) == 0) return value(b);  // not even an object
  json t = json::object();
  if (b.pick(10) != 0) t["type"] = b.from(kTraitTypes);
  else t["type"] = value(b);
  switch (b.pick(6)) {
    case 0: break;  // absent
    case 1: t["properties"] = nullptr; break;
    case 2: t["properties"] = value(b); break;
    default: t["properties"] = properties(b); break;
  }
  if (b.pick(override_entry ? 3 : 8) == 0) t["disable"] = b.pick(4) == 0 ? value(b) : json(true);
  return t;
}

json traits(Bytes& b, bool override_entry) {
  if (b.pick(16) == 0) return value(b);
  json ts = json::array();
  std::size_t n = b.pick(4);
  for (std::size_t i = 0; i < n; ++i) ts.push_back(trait(b, override_entry));
  return ts;
}

json component(Bytes& b) {
  if (b.pick(16) == 0) return value(b);
  json c = json::object();
  c["name"] = b.from(kNames);
  if (b.pick(8) != 0) c["type"] = b.from(kComponentTypes);
  c["properties"] = {{"tableName", "t"}, {"region", "us-east-1"}};
  if (b.pick(8) != 0) c["traits"] = traits(b, false);
  return c;
}

json policy(Bytes& b) {
  json p = {{"name", "p"}, {"type", b.pick(4) == 0 ? "topology" : "override"}};
  json entries = json::array();
  std::size_t n = b.pick(4);
  for (std::size_t i = 0; i < n; ++i) {
    json e = json::object();
    if (b.coin()) e["name"] = b.from(kGlobs);
    if (b.pick(4) == 0) e["type"] = b.from(kComponentTypes);
    e["traits"] = traits(b, true);
    entries.push_back(std::move(e));
  }
  p["properties"] = {{"components", std::move(entries)}};
  return p;
}

json application(Bytes& b) {
  json app = {{"apiVersion", "core.oam.dev/v1beta1"},
              {"kind", "Application"},
              {"metadata", {{"name", b.from(kNames)}, {"namespace", "team-a"}}}};
  json comps = json::array();
  std::size_t n = b.pick(5);
  for (std::size_t i = 0; i < n; ++i) comps.push_back(component(b));
  app["spec"]["components"] = std::move(comps);
  std::size_t np = b.pick(3);
  if (np > 0) {
    app["spec"]["policies"] = json::array();
    for (std::size_t i = 0; i < np; ++i) app["spec"]["policies"].push_back(policy(b));
  }
  return app;
}

// The object before an UPDATE: the same Application with some view types and enabled flags
// changed, and sometimes the components in another order (they are matched by name).
json old_application(Bytes& b, const json& app) {
  json old = app;
  for (auto& c : old["spec"]["components"]) {
    if (!c.is_object() || !c.contains("traits") || !c["traits"].is_array()) continue;
    for (auto& t : c["traits"]) {
      if (!t.is_object() || !t.contains("properties") || !t["properties"].is_object()) continue;
      switch (b.pick(4)) {
        case 0: t["properties"]["viewType"] = b.from(kViewTypes); break;
        case 1: t["properties"]["enabled"] = b.coin(); break;
        case 2: t["properties"].erase("viewType"); break;
        default: break;
      }
    }
  }
  if (b.coin()) {
    auto& comps = old["spec"]["components"];
    std::reverse(comps.begin(), comps.end());
  }
  return old;
}

// The review around the Application (test/support/admission_review.h), with the operation, dryRun,
// kind (now and then one the webhook does not handle) and apiVersion chosen by the bytes.
json review(Bytes& b) {
  const char* const ops[] = {"CREATE", "CREATE", "CREATE", "UPDATE", "UPDATE", "DELETE", "CONNECT"};
  std::string op = b.from(ops);
  const bool dry_run = b.pick(8) == 0;
  dsw::testing::Gvk kind = dsw::testing::kApplicationKind;
  if (b.pick(16) == 0) kind.kind = "Component";
  json object = application(b);
  json old = op == "UPDATE" ? old_application(b, object) : json();
  json rev = dsw::testing::review(op, std::move(object), std::move(old),
                                  b.coin() ? "admission.k8s.io/v1" : "admission.k8s.io/v1beta1", kind);
  rev["request"]["dryRun"] = dry_run;
  return rev;
}

bool is_streams_type(const json& t) {
  if (!t.is_object() || !t.contains("type") || !t["type"].is_string()) return false;
  std::string s = t["type"].get<std::string>();
  const std::string base = "dynamodb-streams-kro";
  return s == base || (s.rfind(base + "@", 0) == 0 && s.size() > base.size() + 1);
}

bool plain_identifier(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-'))
      return false;
  return true;
}

bool known_view_type(const json& v) {
  for (const char* t : kViewTypes)
    if (v == t) return true;
  return false;
}

// The property-rule errors of one streams trait: appends the fields that must be named, and
// sets `deny` for any broken rule.
void expected_errors(const json& t, const std::string& path, std::set<std::string>& fields,
                     bool& deny) {
  if (!t.contains("properties") || t["properties"].is_null()) return;
  const json& p = t["properties"];
  if (!p.is_object()) {
    fields.insert(path + ".properties");
    deny = true;
    return;
  }
  for (auto it = p.begin(); it != p.end(); ++it) {
    const json& v = it.value();
    if (it.key() == "enabled") {
      if (!v.is_null() && !v.is_boolean()) fields.insert(path + ".properties.enabled");
    } else if (it.key() == "viewType") {
      if (!v.is_null() && !known_view_type(v)) fields.insert(path + ".properties.viewType");
    } else {
      deny = true;
      if (plain_identifier(it.key())) fields.insert(path + ".properties." + it.key());
    }
  }
  if (!fields.empty()) deny = true;
}

template <typename F>
void for_each_streams_trait(const json& app, F&& f) {
  const json& spec = app["spec"];
  const json& comps = spec["components"];
  for (std::size_t i = 0; i < comps.size(); ++i) {
    const json& c = comps[i];
    if (!c.is_object() || !c.contains("traits") || !c["traits"].is_array()) continue;
    for (std::size_t j = 0; j < c["traits"].size(); ++j) {
      const json& t = c["traits"][j];
      if (is_streams_type(t))
        f(t, "spec.components[" + std::to_string(i) + "].traits[" + std::to_string(j) + "]",
          true, i, j);
    }
  }
  if (!spec.contains("policies")) return;
  const json& pols = spec["policies"];
  for (std::size_t k = 0; k < pols.size(); ++k) {
    if (pols[k]["type"] != "override") continue;
    const json& entries = pols[k]["properties"]["components"];
    for (std::size_t m = 0; m < entries.size(); ++m) {
      const json& ts = entries[m]["traits"];
      if (!ts.is_array()) continue;
      for (std::size_t n = 0; n < ts.size(); ++n) {
        const json& t = ts[n];
        if (!is_streams_type(t)) continue;
        if (t.contains("disable") && t["disable"] == true) continue;
        f(t,
          "spec.policies[" + std::to_string(k) + "].properties.components[" + std::to_string(m) +
              "].traits[" + std::to_string(n) + "]",
          false, m, n);
      }
    }
  }
}

void check_validation_oracle(const json& rev, const std::string& text) {
  const json& app = rev["request"]["object"];
  std::set<std::string> fields;
  bool deny = false;
  for_each_streams_trait(app, [&](const json& t, const std::string& path, bool, std::size_t,
                                  std::size_t) { expected_errors(t, path, fields, deny); });
  dsw::Outcome v = dsw::answer_review(dsw::Endpoint::Validate, text, dsw::Options{});
  json r = json::parse(v.body)["response"];
  if (!deny) return;
  DSW_FUZZ_CHECK(r["allowed"] == false, "a broken property rule must deny:\n" + text);
  std::set<std::string> named;
  for (const auto& c : r["status"]["details"]["causes"]) named.insert(c["field"].get<std::string>());
  for (const auto& f : fields)
    DSW_FUZZ_CHECK(named.count(f) == 1, "the deny must name " + f + ":\n" + text + "\n" + v.body);
}

void check_defaulting_oracle(const json& original, const json& patched, const std::string& text) {
  const json& pcomps = patched["spec"]["components"];
  for_each_streams_trait(original, [&](const json& t, const std::string& path, bool base,
                                       std::size_t i, std::size_t j) {
    if (!base) return;
    const json& after = pcomps[i]["traits"][j];
    json expected = t;
    if (!t.contains("properties") || t["properties"].is_null()) {
      expected["properties"] = {{"enabled", true}, {"viewType", "NEW_AND_OLD_IMAGES"}};
    } else if (t["properties"].is_object()) {
      json& p = expected["properties"];
      if (!p.contains("enabled") || p["enabled"].is_null()) p["enabled"] = true;
      if (p["enabled"] != false && (!p.contains("viewType") || p["viewType"].is_null()))
        p["viewType"] = "NEW_AND_OLD_IMAGES";
    }
    DSW_FUZZ_CHECK(after == expected, path + " defaulted to\n" + after.dump() + "\nexpected\n" +
                                          expected.dump() + "\nin\n" + text);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes b(data, size);
  const json rev = review(b);
  const std::string text = rev.dump();
  json patched = dsw::fuzz::check_both_endpoints(text);

  const json& req = rev["request"];
  const std::string op = req["operation"].get<std::string>();
  if (req["kind"]["kind"] != "Application" || (op != "CREATE" && op != "UPDATE")) return 0;
  check_validation_oracle(rev, text);
  check_defaulting_oracle(req["object"], patched.is_null() ? req["object"] : patched, text);
  return 0;
}
