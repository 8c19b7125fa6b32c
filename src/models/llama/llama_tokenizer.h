// Llama 3's tokenizer as HunyuanVideo's text encoder calls it (transformers' fast tokenizer
// built from ckpts/text_encoder/tokenizer.json): special tokens first, the Split regex and the
// ByteLevel pre-tokenizer, byte-level BPE (ignore_merges as the file says), the BOS template, and
// `tokenizer(text, truncation=True, max_length=N, padding="max_length")` with right padding.
// Plain std::vector, no libtorch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/common/padded_ids.h"
#include "models/common/unicode_text.h"
#include "models/llama/tokenizer_json.h"

namespace uspdit::models::llama {

class LlamaTokenizer {
 public:
  // `path`: tokenizer.json, or the directory holding it (ckpts/text_encoder/). The pad token is
  // "pad_token" of tokenizer_config.json, else of special_tokens_map.json, beside it; without
  // either, <|end_of_text|> (Llama 3's EOS; the pad value never reaches a valid output, the mask
  // hides it), and without that none: encode_padded then refuses to pad. Throws UsageError naming
  // the file for a missing or unusable file.
  static LlamaTokenizer load(const std::string& path);

  // Token ids; with add_special_tokens, the post-processor's template (<|begin_of_text|> first).
  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // encode(), the text part truncated so the whole fits max_length, then padded on the right with
  // pad_id() to exactly max_length.
  PaddedIds encode_padded(std::string_view text, size_t max_length) const;
  // Byte-level decode; added tokens as their text (left out with skip_special_tokens). No
  // clean_up_tokenization_spaces.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const;

  // The id of a vocabulary or added token, or -1.
  int64_t token_id(const std::string& token) const;
  int64_t pad_id() const { return pad_id_; }  // -1: none
  // Number of ids in use: vocabulary plus added tokens (the largest id + 1).
  int64_t vocab_size() const { return static_cast<int64_t>(id_to_token_.size()); }

 private:
  void append_word_ids(const std::string& word_bytes, std::vector<int64_t>& out) const;
  std::vector<std::string> pre_tokenize(std::string_view text) const;

  std::string source_;
  TokenizerJson spec_;
  BytePairEncoding bpe_;
  std::vector<unicode::Regex>
      step_regexes_;  // parallel to spec_.pre_tokenizer (kByteLevel: GPT-2's or unused)
  std::vector<std::string> id_to_token_;
  std::vector<bool> is_added_;
  std::unordered_map<std::string, int64_t> added_ids_;
  int64_t pad_id_ = -1;
};

}  // namespace uspdit::models::llama
