// Unicode services for the tokenizers, all from ICU (Debian libicu-dev): regular expressions with
// Unicode properties (\p{L}, \p{N}), NFC, full lower-casing and general categories. UTF-8 in and
// out; the Unicode version is ICU's (72: Unicode 15.0), which may differ from the Python that
// made a reference (3.11: Unicode 14.0) on characters assigned in between.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace uspdit::models::unicode {

// A compiled pattern in the dialect of tokenizer files (Oniguruma for tokenizers' Split, Python's
// `regex` for CLIP). The one difference from ICU's dialect that matters here is translated: \s
// and \S mean Unicode White_Space there (incl. U+000B and U+0085), [\t\n\f\r\p{Z}] in ICU.
// Safe to use from several threads (each search works on its own clone).
class Regex {
 public:
  // Throws UsageError "<what>: invalid regular expression ..." when ICU rejects the pattern.
  Regex(const std::string& pattern, bool ignore_case, const std::string& what);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // Byte ranges [first, second) of the successive non-overlapping matches in `text` (UTF-8).
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

// The pattern with \s and \S replaced by \p{White_Space} and \P{White_Space} (valid in ICU both
// inside and outside a character class); everything else, escapes included, unchanged.
std::string translate_whitespace_classes(const std::string& pattern);

// Unicode Normalization Form C.
std::string nfc(std::string_view utf8);
// Full lower-casing with the root locale, as Python's str.lower() (İ -> i̇, final sigma).
std::string to_lower(std::string_view utf8);

// The code points of `utf8`; an ill-formed byte sequence becomes U+FFFD.
std::u32string code_points(std::string_view utf8);
std::string to_utf8(std::u32string_view code_points);

// General category starts with "C" (Cc, Cf, Cs, Co, Cn), as unicodedata.category(c)[0] == "C".
bool is_other_category(char32_t c);
// General category Zs.
bool is_space_separator(char32_t c);
// Python's str.isspace(): category Zs or bidirectional class WS, B or S.
bool is_python_space(char32_t c);
// The Unicode White_Space property (what Rust's char::is_whitespace and tokenizers use).
bool is_white_space(char32_t c);

}  // namespace uspdit::models::unicode
