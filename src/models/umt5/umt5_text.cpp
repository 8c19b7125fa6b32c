#include "models/umt5/umt5_text.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/utf8.h"

namespace uspdit::models::umt5 {
namespace {

struct HtmlEntity {
  const char* name;
  const char32_t* value;
};
struct Decomposition {
  char32_t cp;
  const char32_t* value;
};
struct CombiningRange {
  char32_t first, last;
  int ccc;
};
struct Composition {
  char32_t first, second, composed;
};

#include "models/umt5/umt5_unicode_data.inc"

using U32 = std::u32string;

// ---- UTF-8 ---------------------------------------------------------------------------------

U32 decode_utf8(std::string_view s) {
  U32 out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char32_t>(c);
      ++i;
      continue;
    }
    size_t len = 0;
    char32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (!ok || cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      out += U'\uFFFD';
      ++i;
      continue;
    }
    out += cp;
    i += len;
  }
  return out;
}

std::string encode_utf8(const U32& s) {
  std::string out;
  out.reserve(s.size());
  for (const char32_t cp : s) append_utf8(out, cp);
  return out;
}

bool is_ascii_digit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool is_ascii_alpha(char32_t c) { return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z'); }
bool is_ascii_hex(char32_t c) { return is_ascii_digit(c) || (c >= U'a' && c <= U'f') || (c >= U'A' && c <= U'F'); }

// Python's str.isspace (a superset of the `regex` module's \s by U+001C..U+001F, which no
// earlier step lets through).
bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Windows-1252 for 0x80..0x9F; the five bytes it leaves undefined map to themselves (Python's
// html.unescape table and ftfy's "sloppy" codec agree on this).
char32_t windows_1252_c1(char32_t c) {
  static constexpr char32_t kTable[32] = {
      0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
  return kTable[c - 0x80];
}

// ---- tables --------------------------------------------------------------------------------

template <typename T, size_t N, typename Key>
const T* find_sorted(const T (&table)[N], Key key) {
  const T* it = std::lower_bound(std::begin(table), std::end(table), key,
                                 [](const T& entry, Key k) { return entry.cp < k; });
  return it != std::end(table) && it->cp == key ? it : nullptr;
}

const std::unordered_map<std::string, const char32_t*>& html5_entities() {
  static const auto* map = [] {
    auto* m = new std::unordered_map<std::string, const char32_t*>();
    for (const auto& e : kHtml5Entities) m->emplace(e.name, e.value);
    return m;
  }();
  return *map;
}

// ftfy decodes only names that end in ';', plus all-caps forms of lower-case names (&EACUTE;).
const std::unordered_map<std::string, const char32_t*>& ftfy_entities() {
  static const auto* map = [] {
    auto* m = new std::unordered_map<std::string, const char32_t*>();
    for (const auto& e : kHtml5Entities) {
      if (std::string_view(e.name).back() == ';') m->emplace(e.name, e.value);
    }
    for (const auto& e : kFtfyUpperEntities) m->emplace(e.name, e.value);
    return m;
  }();
  return *map;
}

const char32_t* lookup(const std::unordered_map<std::string, const char32_t*>& map, const U32& name) {
  std::string key;
  for (const char32_t c : name) {
    if (c >= 0x80) return nullptr;  // every entity name is ASCII
    key += static_cast<char>(c);
  }
  const auto it = map.find(key);
  return it == map.end() ? nullptr : it->second;
}

// ---- HTML ----------------------------------------------------------------------------------

// Python's html.unescape of a numeric character reference (&#N; / &#xN;).
U32 numeric_reference(uint64_t num) {
  if (num == 0) return U"\uFFFD";
  if (num == 0x0D) return U"\r";
  if (num >= 0x80 && num <= 0x9F) return U32(1, windows_1252_c1(static_cast<char32_t>(num)));
  if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return U"\uFFFD";
  const bool invalid = (num >= 0x1 && num <= 0x8) || num == 0xB || (num >= 0xE && num <= 0x1F) ||
                       (num >= 0x7F && num <= 0x9F) || (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE;
  return invalid ? U32() : U32(1, static_cast<char32_t>(num));
}

// Digits [begin, end) in `base`, saturating above the Unicode range (only "> 0x10FFFF" matters).
uint64_t parse_number(const U32& t, size_t begin, size_t end, int base) {
  uint64_t v = 0;
  for (size_t i = begin; i < end; ++i) {
    const char32_t c = t[i];
    const int d = is_ascii_digit(c) ? static_cast<int>(c - U'0') : static_cast<int>((c | 0x20) - U'a' + 10);
    v = std::min<uint64_t>(v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d), 0x110000);
  }
  return v;
}

U32 python_html_unescape(const U32& t) {
  if (t.find(U'&') == U32::npos) return t;
  const auto& entities = html5_entities();
  U32 out;
  size_t i = 0;
  const size_t n = t.size();
  while (i < n) {
    if (t[i] != U'&') {
      out += t[i++];
      continue;
    }
    const size_t j = i + 1;
    if (j < n && t[j] == U'#') {
      const bool hex = j + 1 < n && (t[j + 1] == U'x' || t[j + 1] == U'X');
      const size_t digits = hex ? j + 2 : j + 1;
      size_t k = digits;
      while (k < n && (hex ? is_ascii_hex(t[k]) : is_ascii_digit(t[k]))) ++k;
      if (k == digits) {  // "&#" without digits is no reference
        out += t[i++];
        continue;
      }
      out += numeric_reference(parse_number(t, digits, k, hex ? 16 : 10));
      i = k < n && t[k] == U';' ? k + 1 : k;
      continue;
    }
    size_t k = j;
    auto excluded = [](char32_t c) {
      return c == U'\t' || c == U'\n' || c == U'\f' || c == U' ' || c == U'<' || c == U'&' || c == U'#' || c == U';';
    };
    while (k < n && k - j < 32 && !excluded(t[k])) ++k;
    if (k == j) {
      out += t[i++];
      continue;
    }
    if (k < n && t[k] == U';') ++k;
    const U32 name = t.substr(j, k - j);
    if (const char32_t* value = lookup(entities, name)) {
      out += value;
    } else {
      // The longest prefix that is an entity (legacy names such as "&amp" need no ';').
      bool found = false;
      for (size_t x = name.size() - 1; x >= 2 && !found; --x) {
        if (const char32_t* prefix_value = lookup(entities, name.substr(0, x))) {
          out += prefix_value;
          out += name.substr(x);
          found = true;
        }
      }
      if (!found) {
        out += U'&';
        out += name;
      }
    }
    i = k;
  }
  return out;
}

// ftfy's unescape_html: only matches of &#?[0-9A-Za-z]{1,24}; that are known entities or
// complete numeric references.
U32 ftfy_unescape_html(const U32& t) {
  const auto& entities = ftfy_entities();
  U32 out;
  size_t i = 0;
  const size_t n = t.size();
  while (i < n) {
    if (t[i] == U'&') {
      size_t j = i + 1;
      const bool numeric = j < n && t[j] == U'#';
      if (numeric) ++j;
      size_t k = j;
      while (k < n && k - j < 24 && (is_ascii_digit(t[k]) || is_ascii_alpha(t[k]))) ++k;
      if (k > j && k < n && t[k] == U';') {
        const U32 body = t.substr(j, k - j);  // without '&', '#' and ';'
        U32 replacement = t.substr(i, k + 1 - i);
        if (!numeric) {
          if (const char32_t* value = lookup(entities, body + U";")) replacement = value;
        } else if (std::all_of(body.begin(), body.end(), is_ascii_digit)) {
          replacement = numeric_reference(parse_number(body, 0, body.size(), 10));
        } else if (body.size() > 1 && (body[0] == U'x' || body[0] == U'X') &&
                   std::all_of(body.begin() + 1, body.end(), is_ascii_hex)) {
          replacement = numeric_reference(parse_number(body, 1, body.size(), 16));
        }
        out += replacement;
        i = k + 1;
        continue;
      }
    }
    out += t[i++];
  }
  return out;
}

// ---- NFC -----------------------------------------------------------------------------------

constexpr char32_t kHangulS = 0xAC00, kHangulL = 0x1100, kHangulV = 0x1161, kHangulT = 0x11A7;
constexpr char32_t kHangulLCount = 19, kHangulVCount = 21, kHangulTCount = 28;
constexpr char32_t kHangulNCount = kHangulVCount * kHangulTCount, kHangulSCount = kHangulLCount * kHangulNCount;

int combining_class(char32_t c) {
  const auto* it = std::upper_bound(std::begin(kCombiningClasses), std::end(kCombiningClasses), c,
                                    [](char32_t k, const CombiningRange& r) { return k < r.first; });
  if (it == std::begin(kCombiningClasses)) return 0;
  --it;
  return c <= it->last ? it->ccc : 0;
}

char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kHangulL && a < kHangulL + kHangulLCount && b >= kHangulV && b < kHangulV + kHangulVCount) {
    return kHangulS + ((a - kHangulL) * kHangulVCount + (b - kHangulV)) * kHangulTCount;
  }
  if (a >= kHangulS && a < kHangulS + kHangulSCount && (a - kHangulS) % kHangulTCount == 0 && b > kHangulT &&
      b < kHangulT + kHangulTCount) {
    return a + (b - kHangulT);
  }
  const Composition key{a, b, 0};
  const auto* it = std::lower_bound(std::begin(kCompositions), std::end(kCompositions), key,
                                    [](const Composition& x, const Composition& y) {
                                      return x.first != y.first ? x.first < y.first : x.second < y.second;
                                    });
  return it != std::end(kCompositions) && it->first == a && it->second == b ? it->composed : 0;
}

U32 nfc_u32(const U32& text) {
  // Fast path: below U+0300 everything is a starter with no decomposition that NFC changes.
  if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x300; })) return text;
  U32 d;
  d.reserve(text.size());
  for (const char32_t c : text) {
    if (c >= kHangulS && c < kHangulS + kHangulSCount) {
      const char32_t s = c - kHangulS;
      d += kHangulL + s / kHangulNCount;
      d += kHangulV + (s % kHangulNCount) / kHangulTCount;
      if (s % kHangulTCount) d += kHangulT + s % kHangulTCount;
    } else if (const auto* dec = find_sorted(kDecompositions, c)) {
      d += dec->value;
    } else {
      d += c;
    }
  }
  // Canonical order: stable sort of every run of non-starters by combining class.
  for (size_t i = 0; i < d.size();) {
    if (combining_class(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && combining_class(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + static_cast<std::ptrdiff_t>(i), d.begin() + static_cast<std::ptrdiff_t>(j),
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // Canonical composition: a character joins the last starter unless blocked by a character
  // between them of class 0 or of a class >= its own.
  U32 out;
  out.reserve(d.size());
  size_t starter = U32::npos;
  int last_class = 0;
  for (const char32_t c : d) {
    const int cls = combining_class(c);
    if (starter != U32::npos) {
      const bool adjacent = out.size() - 1 == starter;
      if (adjacent || (last_class != 0 && last_class < cls)) {
        if (const char32_t composed = compose_pair(out[starter], c)) {
          out[starter] = composed;
          continue;
        }
      }
    }
    if (cls == 0) starter = out.size();
    out += c;
    last_class = cls;
  }
  return out;
}

// ---- ftfy.fix_text -------------------------------------------------------------------------

const char32_t* ligature(char32_t c) {
  switch (c) {
    case 0x0132: return U"IJ";
    case 0x0133: return U"ij";
    case 0x0149: return U"\u02BCn";
    case 0x01F1: return U"DZ";
    case 0x01F2: return U"Dz";
    case 0x01F3: return U"dz";
    case 0x01C4: return U"D\u017D";
    case 0x01C5: return U"D\u017E";
    case 0x01C6: return U"d\u017E";
    case 0x01C7: return U"LJ";
    case 0x01C8: return U"Lj";
    case 0x01C9: return U"lj";
    case 0x01CA: return U"NJ";
    case 0x01CB: return U"Nj";
    case 0x01CC: return U"nj";
    case 0xFB00: return U"ff";
    case 0xFB01: return U"fi";
    case 0xFB02: return U"fl";
    case 0xFB03: return U"ffi";
    case 0xFB04: return U"ffl";
    case 0xFB05: return U"\u017Ft";
    case 0xFB06: return U"st";
    default: return nullptr;
  }
}

bool unwanted_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// One pass of ftfy's fixers after unescaping, in ftfy's order.
U32 fix_characters(const U32& t) {
  U32 a;
  a.reserve(t.size());
  for (const char32_t c : t) {
    const char32_t c1 = c >= 0x80 && c <= 0x9F ? windows_1252_c1(c) : c;  // fix_c1_controls
    if (const char32_t* lig = ligature(c1)) {
      a += lig;
    } else {
      a += c1;
    }
  }
  U32 b;
  b.reserve(a.size());
  for (const char32_t c : a) {
    if (c == 0x3000 || (c >= 0xFF01 && c <= 0xFFEF)) {  // fix_character_width
      if (const auto* w = find_sorted(kWidthMap, c)) {
        b += w->value;
        continue;
      }
    }
    if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) {  // uncurl_quotes
      b += U'\'';
    } else if (c >= 0x201C && c <= 0x201F) {
      b += U'"';
    } else {
      b += c;
    }
  }
  U32 c_out;
  c_out.reserve(b.size());
  for (size_t i = 0; i < b.size(); ++i) {  // fix_line_breaks
    const char32_t c = b[i];
    if (c == U'\r') {
      c_out += U'\n';
      if (i + 1 < b.size() && b[i + 1] == U'\n') ++i;
    } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
      c_out += U'\n';
    } else {
      c_out += c;
    }
  }
  U32 d;
  d.reserve(c_out.size());
  for (size_t i = 0; i < c_out.size(); ++i) {
    if (c_out[i] == 0x1B && i + 1 < c_out.size() && c_out[i + 1] == U'[') {  // remove_terminal_escapes
      size_t k = i + 2;
      while (k < c_out.size() && (is_ascii_digit(c_out[k]) || c_out[k] == U';')) ++k;
      if (k < c_out.size() && is_ascii_alpha(c_out[k])) {
        i = k;
        continue;
      }
    }
    if (!unwanted_control(c_out[i])) d += c_out[i];  // remove_control_chars
  }
  return nfc_u32(d);
}

U32 ftfy_fix_u32(const U32& text) {
  U32 out;
  bool unescape = true;  // ftfy keeps it off for the rest of the text once a line has '<'
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t newline = text.find(U'\n', pos);
    const size_t end = newline == U32::npos ? text.size() : newline + 1;
    U32 segment = text.substr(pos, end - pos);
    if (unescape && segment.find(U'<') != U32::npos) unescape = false;
    while (true) {
      const U32 before = segment;
      if (unescape) segment = ftfy_unescape_html(segment);
      segment = fix_characters(segment);
      if (segment == before) break;
    }
    out += segment;
    pos = end;
  }
  return out;
}

}  // namespace

namespace text_detail {
std::string nfc(std::string_view text) { return encode_utf8(nfc_u32(decode_utf8(text))); }
std::string html_unescape(std::string_view text) { return encode_utf8(python_html_unescape(decode_utf8(text))); }
std::string ftfy_fix_text(std::string_view text) { return encode_utf8(ftfy_fix_u32(decode_utf8(text))); }
}  // namespace text_detail

std::string clean_prompt(std::string_view text) {
  const U32 fixed = python_html_unescape(python_html_unescape(ftfy_fix_u32(decode_utf8(text))));
  U32 out;
  out.reserve(fixed.size());
  bool pending_space = false;
  for (const char32_t c : fixed) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += U' ';
    pending_space = false;
    out += c;
  }
  return encode_utf8(out);
}

}  // namespace uspdit::models::umt5
