#include "models/common/byte_level.h"

#include <unordered_map>

#include "core/utf8.h"
#include "models/common/unicode_text.h"

namespace uspdit::models::byte_level {
namespace {

bool shown_as_itself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

std::array<char32_t, 256> make_code_points() {
  std::array<char32_t, 256> cps{};
  char32_t next = 0x100;
  for (int b = 0; b < 256; ++b)
    cps[static_cast<size_t>(b)] = shown_as_itself(b) ? static_cast<char32_t>(b) : next++;
  return cps;
}

const std::array<char32_t, 256>& code_points_of_bytes() {
  static const std::array<char32_t, 256> cps = make_code_points();
  return cps;
}

}  // namespace

const std::array<std::string, 256>& alphabet() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    for (size_t b = 0; b < 256; ++b) append_utf8(t[b], code_points_of_bytes()[b]);
    return t;
  }();
  return table;
}

std::vector<std::string> symbols(std::string_view bytes) {
  std::vector<std::string> out;
  out.reserve(bytes.size());
  for (unsigned char b : bytes) out.push_back(alphabet()[b]);
  return out;
}

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += alphabet()[b];
  return out;
}

std::string decode(std::string_view text) {
  static const std::unordered_map<char32_t, char> byte_of = [] {
    std::unordered_map<char32_t, char> m;
    for (size_t b = 0; b < 256; ++b) m.emplace(code_points_of_bytes()[b], static_cast<char>(b));
    return m;
  }();
  std::string out;
  out.reserve(text.size());
  for (char32_t c : unicode::code_points(text)) {
    const auto it = byte_of.find(c);
    if (it != byte_of.end()) {
      out += it->second;
    } else {
      append_utf8(out, c);
    }
  }
  return out;
}

}  // namespace uspdit::models::byte_level
