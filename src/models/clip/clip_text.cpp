#include "models/clip/clip_text.h"

#include <vector>

#include "models/common/unicode_text.h"

namespace uspdit::models::clip {

bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::string basic_clean(std::string_view text) {
  std::u32string spaced;
  spaced.reserve(text.size());
  for (char32_t c : unicode::code_points(text)) {
    const bool tab_or_newline = c == U'\t' || c == U'\n' || c == U'\r';
    if (c == 0 || c == 0xFFFD || (!tab_or_newline && unicode::is_other_category(c))) continue;
    if (c == U' ' || tab_or_newline || unicode::is_space_separator(c)) {
      spaced += U' ';
    } else if (is_cjk_ideograph(c)) {
      spaced += U' ';
      spaced += c;
      spaced += U' ';
    } else {
      spaced += c;
    }
  }
  const std::u32string normalized = unicode::code_points(unicode::nfc(unicode::to_utf8(spaced)));
  std::string out;
  std::u32string token;
  const auto flush = [&] {
    if (token.empty()) return;
    if (!out.empty()) out += ' ';
    out += unicode::to_lower(unicode::to_utf8(token));
    token.clear();
  };
  for (char32_t c : normalized) {
    if (unicode::is_python_space(c)) {
      flush();
    } else {
      token += c;
    }
  }
  flush();
  return out;
}

}  // namespace uspdit::models::clip
