// The text cleaning of transformers' slow CLIPTokenizer when ftfy is not installed (HunyuanVideo's
// environment): BasicTokenizer(strip_accents=False, do_split_on_punc=False), whose tokens are then
// joined with single spaces. Both transformers 4.46.3 (HunyuanVideo's pin) and later 4.x do this;
// transformers 5 has no slow CLIPTokenizer any more (its tokenizers-backed one normalizes
// differently: no control removal, no CJK spacing).
#pragma once

#include <string>
#include <string_view>

namespace uspdit::models::clip {

// In order: drop U+0000, U+FFFD and category C* except \t \n \r; whitespace (\t \n \r, Zs) to a
// space; a space on both sides of CJK ideographs; NFC; split on Python's str.isspace();
// lower-case each token (full Unicode lower-casing, no accent stripping); join with " ".
std::string basic_clean(std::string_view text);

// BasicTokenizer._is_chinese_char: the CJK Unified Ideographs blocks and their extensions A-E,
// and the compatibility ideographs (not kana, not hangul).
bool is_cjk_ideograph(char32_t c);

}  // namespace uspdit::models::clip
