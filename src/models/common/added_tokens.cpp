#include "models/common/added_tokens.h"

#include "models/common/unicode_text.h"

namespace uspdit::models {
namespace {

bool is_utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Start of the whitespace run that ends at `end` (whitespace: Unicode White_Space).
size_t whitespace_before(std::string_view text, size_t floor, size_t end) {
  while (end > floor) {
    size_t start = end - 1;
    while (start > floor && is_utf8_continuation(text[start])) --start;
    const std::u32string cp = unicode::code_points(text.substr(start, end - start));
    if (cp.size() != 1 || !unicode::is_white_space(cp[0])) break;
    end = start;
  }
  return end;
}

// End of the whitespace run that starts at `begin`.
size_t whitespace_after(std::string_view text, size_t begin) {
  while (begin < text.size()) {
    size_t next = begin + 1;
    while (next < text.size() && is_utf8_continuation(text[next])) ++next;
    const std::u32string cp = unicode::code_points(text.substr(begin, next - begin));
    if (cp.size() != 1 || !unicode::is_white_space(cp[0])) break;
    begin = next;
  }
  return begin;
}

}  // namespace

std::vector<TextPiece> split_on_added_tokens(std::string_view text, const std::vector<AddedToken>& tokens) {
  std::vector<TextPiece> pieces;
  size_t plain_from = 0;
  for (size_t at = 0; at < text.size();) {
    const AddedToken* best = nullptr;
    for (const AddedToken& token : tokens) {
      if (!token.content.empty() && (best == nullptr || token.content.size() > best->content.size()) &&
          text.compare(at, token.content.size(), token.content) == 0) {
        best = &token;
      }
    }
    if (best == nullptr) {
      ++at;
      continue;
    }
    size_t begin = at, end = at + best->content.size();
    if (best->lstrip) begin = whitespace_before(text, plain_from, begin);
    if (best->rstrip) end = whitespace_after(text, end);
    if (begin > plain_from) pieces.push_back({text.substr(plain_from, begin - plain_from), -1});
    pieces.push_back({text.substr(begin, end - begin), best->id});
    plain_from = at = end;
  }
  if (plain_from < text.size()) pieces.push_back({text.substr(plain_from), -1});
  return pieces;
}

}  // namespace uspdit::models
