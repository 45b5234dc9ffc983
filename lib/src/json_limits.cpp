#include "dsw/json_limits.h"

#include <cstring>

namespace dsw {

std::size_t json_nesting_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  std::size_t max_depth = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    char c = *p++;
    switch (c) {
      case '"':
        // Skip the string: find the closing quote that is not escaped.
        while (p < end) {
          const void* q = std::memchr(p, '"', static_cast<std::size_t>(end - p));
          if (q == nullptr) return max_depth;  // unterminated: the parser will say so
          const char* quote = static_cast<const char*>(q);
          std::size_t backslashes = 0;
          for (const char* b = quote; b > p && b[-1] == '\\'; --b) ++backslashes;
          p = quote + 1;
          if (backslashes % 2 == 0) break;
        }
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          max_depth = depth;
          if (max_depth > limit) return limit + 1;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return max_depth;
}

}  // namespace dsw
