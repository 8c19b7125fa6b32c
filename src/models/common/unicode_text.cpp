#include "models/common/unicode_text.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uregex.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>
#include <unicode/utf8.h>

#include <stdexcept>

#include "core/error.h"
#include "core/utf8.h"

namespace uspdit::models::unicode {
namespace {

// ICU failures on valid input are environment errors (out of memory, missing ICU data).
void check(UErrorCode status, const char* call) {
  if (U_FAILURE(status))
    throw std::runtime_error(std::string("ICU ") + call + " failed: " + u_errorName(status));
}

std::u16string to_utf16(std::string_view utf8) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  // U+FFFD for ill-formed input, like the code point reader below.
  u_strFromUTF8WithSub(nullptr, 0, &length, utf8.data(), static_cast<int32_t>(utf8.size()), 0xFFFD, nullptr,
                       &status);
  if (status != U_BUFFER_OVERFLOW_ERROR) check(status, "u_strFromUTF8WithSub");
  std::u16string out(static_cast<size_t>(length), u'\0');
  status = U_ZERO_ERROR;
  u_strFromUTF8WithSub(out.data(), length, nullptr, utf8.data(), static_cast<int32_t>(utf8.size()), 0xFFFD,
                       nullptr, &status);
  check(status, "u_strFromUTF8WithSub");
  return out;
}

std::string from_utf16(const std::u16string& utf16) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strToUTF8(nullptr, 0, &length, utf16.data(), static_cast<int32_t>(utf16.size()), &status);
  if (status != U_BUFFER_OVERFLOW_ERROR) check(status, "u_strToUTF8");
  std::string out(static_cast<size_t>(length), '\0');
  status = U_ZERO_ERROR;
  u_strToUTF8(out.data(), length, nullptr, utf16.data(), static_cast<int32_t>(utf16.size()), &status);
  check(status, "u_strToUTF8");
  return out;
}

}  // namespace

struct Regex::Compiled {
  URegularExpression* regex = nullptr;
  ~Compiled() { uregex_close(regex); }
};

std::string translate_whitespace_classes(const std::string& pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's') {
        out += "\\p{White_Space}";
      } else if (next == 'S') {
        out += "\\P{White_Space}";
      } else {
        out += '\\';
        out += next;
      }
    } else {
      out += pattern[i];
    }
  }
  return out;
}

Regex::Regex(const std::string& pattern, bool ignore_case, const std::string& what)
    : compiled_(std::make_unique<Compiled>()) {
  const std::u16string icu_pattern = to_utf16(translate_whitespace_classes(pattern));
  UParseError where{};
  UErrorCode status = U_ZERO_ERROR;
  compiled_->regex = uregex_open(icu_pattern.data(), static_cast<int32_t>(icu_pattern.size()),
                                 ignore_case ? UREGEX_CASE_INSENSITIVE : 0, &where, &status);
  require(U_SUCCESS(status), what + ": invalid regular expression '" + pattern + "' (ICU: " +
                                 u_errorName(status) + " at offset " + std::to_string(where.offset) + ")");
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view text) const {
  UErrorCode status = U_ZERO_ERROR;
  Compiled search;  // a clone per call: an ICU matcher holds its input and position
  search.regex = uregex_clone(compiled_->regex, &status);
  check(status, "uregex_clone");
  UText* input = utext_openUTF8(nullptr, text.data(), static_cast<int64_t>(text.size()), &status);
  check(status, "utext_openUTF8");
  std::vector<std::pair<size_t, size_t>> spans;
  uregex_setUText(search.regex, input, &status);
  // With UTF-8 UText input, ICU's 64-bit indices are native: byte offsets into `text`.
  while (U_SUCCESS(status) && uregex_findNext(search.regex, &status)) {
    const int64_t begin = uregex_start64(search.regex, 0, &status);
    const int64_t end = uregex_end64(search.regex, 0, &status);
    spans.emplace_back(static_cast<size_t>(begin), static_cast<size_t>(end));
  }
  uregex_setText(search.regex, u"", 0, &status);  // drop the reference to `input` before closing it
  utext_close(input);
  check(status, "uregex_findNext");
  return spans;
}

std::string nfc(std::string_view utf8) {
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* normalizer = unorm2_getNFCInstance(&status);
  check(status, "unorm2_getNFCInstance");
  const std::u16string in = to_utf16(utf8);
  int32_t length =
      unorm2_normalize(normalizer, in.data(), static_cast<int32_t>(in.size()), nullptr, 0, &status);
  if (status != U_BUFFER_OVERFLOW_ERROR) check(status, "unorm2_normalize");
  std::u16string out(static_cast<size_t>(length), u'\0');
  status = U_ZERO_ERROR;
  unorm2_normalize(normalizer, in.data(), static_cast<int32_t>(in.size()), out.data(), length, &status);
  check(status, "unorm2_normalize");
  return from_utf16(out);
}

std::string to_lower(std::string_view utf8) {
  const std::u16string in = to_utf16(utf8);
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = u_strToLower(nullptr, 0, in.data(), static_cast<int32_t>(in.size()), "", &status);
  if (status != U_BUFFER_OVERFLOW_ERROR) check(status, "u_strToLower");
  std::u16string out(static_cast<size_t>(length), u'\0');
  status = U_ZERO_ERROR;
  u_strToLower(out.data(), length, in.data(), static_cast<int32_t>(in.size()), "", &status);
  check(status, "u_strToLower");
  return from_utf16(out);
}

std::u32string code_points(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
  const auto length = static_cast<int32_t>(utf8.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c = 0;
    U8_NEXT(s, i, length, c);
    out.push_back(c < 0 ? U'\uFFFD' : static_cast<char32_t>(c));
  }
  return out;
}

std::string to_utf8(std::u32string_view code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) append_utf8(out, c);
  return out;
}

bool is_other_category(char32_t c) {
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED:
      return true;
    default:
      return false;
  }
}

bool is_space_separator(char32_t c) {
  return u_charType(static_cast<UChar32>(c)) == U_SPACE_SEPARATOR;
}

bool is_python_space(char32_t c) {
  if (is_space_separator(c)) return true;
  const UCharDirection bidi = u_charDirection(static_cast<UChar32>(c));
  return bidi == U_WHITE_SPACE_NEUTRAL || bidi == U_BLOCK_SEPARATOR || bidi == U_SEGMENT_SEPARATOR;
}

bool is_white_space(char32_t c) {
  return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0;
}

}  // namespace uspdit::models::unicode
