// GPT-2's byte-level alphabet, used by both tokenizers: each of the 256 byte values is shown as
// one printable character (printable Latin-1 bytes as themselves, the others as U+0100 + n in
// byte order), so BPE works on text without spaces or control characters ("Ġ" is the space).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace uspdit::models::byte_level {

// The UTF-8 of the character standing for each byte.
const std::array<std::string, 256>& alphabet();
// One symbol (a character of the alphabet) per byte of `bytes`.
std::vector<std::string> symbols(std::string_view bytes);
// The symbols concatenated.
std::string encode(std::string_view bytes);
// The inverse of encode. A character outside the alphabet (an added token's text) is kept as its
// own UTF-8 bytes.
std::string decode(std::string_view text);

}  // namespace uspdit::models::byte_level
