// CLIP's BPE tokenizer as HunyuanVideo's second text encoder calls it: transformers' slow
// CLIPTokenizer (openai/clip-vit-large-patch14's vocab.json + merges.txt) without ftfy, with
// padding="max_length", truncation and max_length 77: <|startoftext|> (49406), at most 75 text
// tokens, <|endoftext|> (49407), then <|endoftext|> as padding. Plain std::vector, no libtorch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/common/added_tokens.h"
#include "models/common/byte_pair_encoding.h"
#include "models/common/padded_ids.h"
#include "models/common/unicode_text.h"

namespace uspdit::models::clip {

class ClipTokenizer {
 public:
  static constexpr size_t kMaxLength = 77;
  // The slow tokenizer uses the first 49152 - 256 - 2 merges of merges.txt (after its header).
  static constexpr size_t kMergesUsed = 48894;

  // `path`: the directory holding vocab.json and merges.txt (openai/clip-vit-large-patch14, HF's
  // ckpts/text_encoder_2/). Throws UsageError naming the file for a missing or malformed one.
  static ClipTokenizer load(const std::string& path);

  // Special tokens in the raw text first; the rest cleaned (basic_clean), split by CLIP's regex,
  // byte-level BPE with "</w>" word ends. With add_special_tokens, BOS ... EOS around it.
  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // BOS + at most max_length - 2 text tokens + EOS, padded with pad_id() to max_length.
  PaddedIds encode_padded(std::string_view text, size_t max_length = kMaxLength) const;
  // convert_tokens_to_string: byte-level decode, "</w>" -> " ", stripped. Special tokens as text.
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t bos_id() const { return bos_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t pad_id() const { return eos_id_; }  // pad_token is <|endoftext|>
  int64_t vocab_size() const { return static_cast<int64_t>(id_to_token_.size()); }

 private:
  ClipTokenizer();
  void append_word_ids(const std::string& word, std::vector<int64_t>& out) const;

  std::string source_;
  std::unordered_map<std::string, int64_t> encoder_;
  std::vector<std::string> id_to_token_;
  BytePairEncoding bpe_;
  unicode::Regex regex_;
  std::vector<AddedToken> special_tokens_;
  int64_t bos_id_ = -1, eos_id_ = -1;
};

}  // namespace uspdit::models::clip
