// answer_review() with the decision replaced, so that tests can make handling throw.
#pragma once

#include "dsw/handler.h"

namespace dsw::detail {

using HandleFunction = Response (*)(Endpoint, const Request&, const Options&);

// dsw::answer_review() with `handle_fn` deciding in place of dsw::handle() (nullptr: the real
// decision).
Outcome answer_review(Endpoint endpoint, std::string_view body, const Options& options,
                      HandleFunction handle_fn);

}  // namespace dsw::detail
