// Special ("added") tokens are found in the raw text before anything else runs, as both
// tokenizers libraries do: the text is cut into pieces that are either one added token or plain
// text, which then goes through cleaning, the pre-tokenizer and BPE.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace uspdit::models {

struct AddedToken {
  std::string content;
  int64_t id = -1;
  bool special = true;
  bool lstrip = false;  // the match also takes the whitespace on its left
  bool rstrip = false;  // ... and on its right
};

struct TextPiece {
  std::string_view text;  // plain text (id < 0), or the added token's matched text
  int64_t id = -1;        // the added token's id
};

// Leftmost-longest matching (tokenizers' aho-corasick MatchKind::LeftmostLongest); empty plain
// pieces are left out.
std::vector<TextPiece> split_on_added_tokens(std::string_view text, const std::vector<AddedToken>& tokens);

}  // namespace uspdit::models
