// UTF-8 decoding shared by everything that escapes or quotes text (field errors, JSON output,
// warnings, log lines).
#pragma once

#include <cstddef>
#include <string_view>

namespace dsw::utf8 {

struct Rune {
  char32_t value;
  std::size_t length;  // 0 when the bytes at the position are not valid UTF-8
};

// Decodes the sequence starting at s[i] (i < s.size()). Overlong forms, surrogates, values
// above U+10FFFF and truncated sequences are invalid (length 0).
inline Rune decode(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {c, 1};
  std::size_t n;
  char32_t r;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    r = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    r = c & 0x0Fu;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    r = c & 0x07u;
  } else {
    return {0, 0};
  }
  if (i + n > s.size()) return {0, 0};
  for (std::size_t k = 1; k < n; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return {0, 0};
    r = (r << 6) | (cc & 0x3Fu);
  }
  if ((n == 3 && r < 0x800) || (n == 4 && (r < 0x10000 || r > 0x10FFFF)) ||
      (r >= 0xD800 && r <= 0xDFFF))
    return {0, 0};
  return {r, n};
}

}  // namespace dsw::utf8
