// Wan 2.1's prompt cleaning before the umt5 tokenizer (wan/modules/tokenizers.py,
// clean='whitespace'): whitespace_clean(basic_clean(text)) where
//   basic_clean      = ftfy.fix_text, then html.unescape twice, then strip;
//   whitespace_clean = every run of Unicode whitespace -> one space, strip.
//
// ftfy.fix_text is reproduced step by step (ftfy 6 defaults), per line, to a fixed point:
// HTML entities ending in ';' (not in a line that has '<', nor in any line after it),
// C1 controls read as Windows-1252, Latin ligatures split, fullwidth/halfwidth forms to
// standard width (so the Chinese comma U+FF0C becomes ','), curly quotes straightened, line
// breaks to '\n', ANSI terminal escapes and unwanted control characters removed, NFC.
// Not reproduced: ftfy's mojibake detection and re-decoding (text that is UTF-8 read as
// Latin-1/Windows-1252, e.g. "Ã©"), which typed prompts do not contain.
#pragma once

#include <string>
#include <string_view>

namespace uspdit::models::umt5 {

// `text` is UTF-8; invalid bytes become U+FFFD. Returns UTF-8.
std::string clean_prompt(std::string_view text);

namespace text_detail {
// The steps, exposed for tests. All take and return UTF-8.
std::string nfc(std::string_view text);
std::string html_unescape(std::string_view text);  // Python's html.unescape
std::string ftfy_fix_text(std::string_view text);  // the part of ftfy.fix_text described above
}  // namespace text_detail

}  // namespace uspdit::models::umt5
