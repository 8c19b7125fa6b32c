// umt5's tokenizer as Wan 2.1 calls it: clean_prompt, sentencepiece ids, </s> appended,
// truncated to max_len (keeping the </s>), padded with <pad>; the mask marks real tokens.
//
// transformers' tokenizer.json for a sentencepiece Unigram model normally has no byte fallback
// (its converter does not carry it over), so characters outside the vocabulary become one
// <unk> per run where sentencepiece itself would emit UTF-8 byte pieces. The tokenizer follows
// tokenizer.json's "byte_fallback" when the file is beside spiece.model, and transformers'
// conversion (no byte fallback) otherwise.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace uspdit::models::umt5 {

struct TokenBatch {
  at::Tensor ids;   // [B, max_len] int64
  at::Tensor mask;  // [B, max_len] int64, 1 = real token (incl. </s>), 0 = padding
};

class Umt5Tokenizer {
 public:
  // `path`: a spiece.model file, or a directory holding one (google/umt5-xxl/, diffusers'
  // tokenizer/). Throws UsageError naming the path when it is missing or unreadable.
  static Umt5Tokenizer load(const std::string& path);

  // clean_prompt, sentencepiece ids, EOS (</s>) appended, truncated to max_len, padded with the
  // pad id (0).
  TokenBatch encode(const std::vector<std::string>& prompts, int64_t max_len) const;

  // Ids of already cleaned text, without </s> and without truncation.
  std::vector<int64_t> ids(std::string_view cleaned) const;

  int64_t vocab_size() const;
  int64_t pad_id() const { return pad_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t unk_id() const { return unk_id_; }
  // True when byte-fallback pieces are kept (tokenizer.json says byte_fallback: true).
  bool byte_fallback() const { return byte_fallback_; }

 private:
  std::shared_ptr<const sentencepiece::SentencePieceProcessor> sp_;
  int64_t pad_id_ = 0, eos_id_ = 1, unk_id_ = 2;
  bool byte_fallback_ = false;
};

}  // namespace uspdit::models::umt5
