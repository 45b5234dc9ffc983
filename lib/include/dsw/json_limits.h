// Guards applied to raw JSON text before it is parsed into a document.
#pragma once

#include <cstddef>
#include <string_view>

namespace dsw {

// The deepest nesting of arrays and objects in `text`, counting strings correctly, without
// building anything. Stops counting (and returns limit + 1) as soon as `limit` is exceeded, so
// its cost is one pass over the bytes at most. Text that is not JSON still gets a number; the
// parser rejects it afterwards.
std::size_t json_nesting_depth(std::string_view text, std::size_t limit);

}  // namespace dsw
