// Whole-Application admission: validation (with the UPDATE rule) and defaulting.
#pragma once

#include <nlohmann/json.hpp>

#include "dsw/options.h"
#include "dsw/patch.h"
#include "dsw/streams_trait.h"

namespace dsw {

// Every error and warning for an Application, all at once. `old_application` is the object
// before an UPDATE (nullptr on CREATE); components are matched with it by name.
streams::Findings validate_application(const nlohmann::json& application,
                                       const nlohmann::json* old_application,
                                       const Options& options);

// The JSON Patch that writes the trait defaults into the Application: every streams trait of
// spec.components, and override-policy traits only where the override adds the trait.
Patch default_application(const nlohmann::json& application);

}  // namespace dsw
