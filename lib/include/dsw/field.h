// Field paths and field errors, modelled on k8s.io/apimachinery/pkg/util/validation/field.
//
// A Path is immutable: child() and index() return new paths that share their parent.
// FieldError::to_string() matches the Go package's Error() byte for byte for the value kinds
// this webhook reports (strings, booleans, numbers, null), so messages read exactly like the
// apiserver's own.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace dsw::field {

class Path {
 public:
  static Path root(std::string name);

  Path child(std::string name) const;
  // A map key; rendered as `.name` when it is a plain identifier, otherwise as `[<quoted>]`,
  // so that a hostile key cannot break a one-line message.
  Path key(std::string_view name) const;
  Path index(std::size_t i) const;

  std::string to_string() const;

 private:
  struct Node {
    std::shared_ptr<const Node> parent;
    std::string segment;  // already rendered: "spec", ".components", "[0]"
  };
  explicit Path(std::shared_ptr<const Node> node) : node_(std::move(node)) {}
  Path append(std::string rendered) const;
  std::shared_ptr<const Node> node_;
};

// The error types of the Go package, with their CauseType names and display strings.
enum class ErrorType {
  NotFound,      // FieldValueNotFound      "Not found"
  Required,      // FieldValueRequired      "Required value"
  Duplicate,     // FieldValueDuplicate     "Duplicate value"
  Invalid,       // FieldValueInvalid       "Invalid value"
  NotSupported,  // FieldValueNotSupported  "Unsupported value"
  Forbidden,     // FieldValueForbidden     "Forbidden"
  Internal,      // InternalError           "Internal error"
};

std::string_view reason(ErrorType t);   // "FieldValueNotSupported"
std::string_view display(ErrorType t);  // "Unsupported value"

struct FieldError {
  ErrorType type;
  std::string field;  // Path::to_string()
  // The bad value already rendered as Go's fmt would print it (`"NEW"`, `5`, `true`, `null`),
  // or nullopt when the type prints no value (Required, Forbidden, Internal).
  std::optional<std::string> value;
  std::string detail;

  // "Unsupported value: \"NEW\": supported values: ..." (Go's ErrorBody()).
  std::string body() const;
  // "spec.x: Unsupported value: ..." (Go's Error()).
  std::string to_string() const;
};

using ErrorList = std::vector<FieldError>;

// Constructors with the Go package's names and semantics.
FieldError invalid(const Path& p, const nlohmann::json& value, std::string detail);
FieldError not_supported(const Path& p, const nlohmann::json& value,
                         const std::vector<std::string_view>& valid, std::string extra = {});
FieldError duplicate(const Path& p, const nlohmann::json& value);
FieldError forbidden(const Path& p, std::string detail);
FieldError required(const Path& p, std::string detail);

// Go's strconv.Quote: double quotes, backslash escapes, \x.. for invalid UTF-8, \u.... for
// non-printable runes. The result never contains a control character.
std::string go_quote(std::string_view s);

// How fmt.Sprintf("%v"/"%q") prints a value decoded from JSON: strings quoted, numbers and
// booleans plain, null as null; objects and arrays as compact JSON cut to a bounded length.
std::string render_value(const nlohmann::json& v);

}  // namespace dsw::field
