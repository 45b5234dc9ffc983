#include "audit/judge.h"

#include <exception>

#include "dsw/admission.h"
#include "dsw/handler.h"

namespace dsw::audit {

namespace {

using nlohmann::json;

std::string metadata_string(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return {};
  auto v = md->find(key);
  if (v == md->end() || !v->is_string()) return {};
  return v->get<std::string>();
}

std::string string_member(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto v = obj.find(key);
  if (v == obj.end() || !v->is_string()) return {};
  return v->get<std::string>();
}

GroupVersionKind gvk_of(const json& object) {
  GroupVersionKind gvk;
  const std::string api = string_member(object, "apiVersion");
  const auto slash = api.find('/');
  if (slash != std::string::npos) {
    gvk.group = api.substr(0, slash);
    gvk.version = api.substr(slash + 1);
  } else {
    gvk.version = api;  // the core group: none of the kinds examined
  }
  gvk.kind = string_member(object, "kind");
  return gvk;
}

Judged identity(const json& object) {
  Judged j;
  j.kind = kind_of(object);
  j.api_version = string_member(object, "apiVersion");
  j.namespace_ = metadata_string(object, "namespace");
  j.name = metadata_string(object, "name");
  j.uid = metadata_string(object, "uid");
  return j;
}

}  // namespace

std::string_view to_string(Result r) {
  switch (r) {
    case Result::Pass: return "pass";
    case Result::Fail: return "fail";
    case Result::Warn: return "warn";
    case Result::Error: return "error";
    case Result::Skip: return "skip";
  }
  return "error";
}

ObjectKind kind_of(const json& object) {
  const GroupVersionKind gvk = gvk_of(object);
  if (gvk.group.empty()) return ObjectKind::Other;
  return object_kind(gvk);
}

Judged judge(json object, const Options& options) {
  Judged j = identity(object);
  Options deny = options;
  deny.enforcement = Enforcement::Deny;

  Request req;
  req.api_version = "admission.k8s.io/v1";
  req.uid = "audit";
  req.kind = gvk_of(object);
  req.operation = "CREATE";
  req.name = j.name;
  req.namespace_ = j.namespace_;
  req.object = std::move(object);

  try {
    if (j.kind == ObjectKind::Application && req.object.is_object()) {
      Patch defaults = default_application(req.object);
      if (!defaults.empty()) j.defaults = defaults.to_json();
    }
    Response r = handle(Endpoint::Validate, req, deny);
    if (const auto& st = r.status(); st && !r.allowed()) {
      if (st->details && !st->details->causes.empty()) {
        for (const auto& e : st->details->causes)
          j.findings.push_back({Result::Fail, e.to_string(), e.field, std::string(field::reason(e.type))});
      } else {
        // A plain denial judges the content; an error (400/500) does not.
        j.findings.push_back({r.verdict() == Verdict::Error ? Result::Error : Result::Fail,
                              st->message, {}, {}});
      }
    }
    for (const auto& w : r.warnings()) j.findings.push_back({Result::Warn, w, {}, {}});
  } catch (const std::exception&) {
    // What /validate answers when handling throws (the exception's text goes to its log only).
    j.findings.clear();
    j.findings.push_back({Result::Error, std::string(kInternalErrorMessage), {}, {}});
  }
  if (j.findings.empty()) j.findings.push_back({Result::Pass, {}, {}, {}});
  return j;
}

Judged too_deep(const json& object, const Options& options) {
  Judged j = identity(object);
  j.findings.push_back(
      {Result::Error,
       "the object nests JSON deeper than " + std::to_string(options.max_depth) +
           " levels (counted as in an AdmissionReview): the webhook refuses to review it (HTTP 400)",
       {}, {}});
  return j;
}

}  // namespace dsw::audit
