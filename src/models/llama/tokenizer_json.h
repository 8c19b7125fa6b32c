// What a Hugging Face tokenizer.json says about a byte-level BPE tokenizer (Llama 3's layout),
// read with the project's JSON reader. Parts the Llama tokenizer cannot follow exactly (another
// model type, a normalizer, another pre-tokenizer) are refused with a UsageError naming the file,
// rather than tokenized differently from transformers.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/common/added_tokens.h"
#include "models/common/byte_pair_encoding.h"

namespace uspdit::models::llama {

// One step of the pre-tokenizer, in order.
struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel };
  Kind kind = Kind::kSplit;
  // kSplit: the pattern (a "Regex", or a "String" turned into a literal \Q...\E pattern); the
  // pieces between matches are kept; `isolated`: matches are their own pieces ("Isolated"),
  // otherwise dropped ("Removed"); `invert`: the roles of matches and gaps swap.
  std::string pattern;
  bool isolated = true;
  bool invert = false;
  // kByteLevel: also split with GPT-2's pattern first ("use_regex": true).
  bool use_regex = false;
};

struct TokenizerJson {
  std::unordered_map<std::string, int64_t> vocab;
  std::vector<BytePairEncoding::Merge> merges;
  bool ignore_merges = false;  // a whole word found in the vocabulary is one token, merges unused
  int64_t unk_id = -1;
  std::vector<AddedToken> added_tokens;
  std::vector<PreTokenizerStep> pre_tokenizer;
  // TemplateProcessing's single-sequence template: ids before and after "$A".
  std::vector<int64_t> prefix_ids, suffix_ids;
};

// Throws UsageError naming `path` when the file is missing, not JSON, or uses what is refused.
TokenizerJson read_tokenizer_json(const std::string& path);

// GPT-2's pre-tokenizer pattern (tokenizers' ByteLevel with use_regex).
extern const char* const kGpt2Pattern;

}  // namespace uspdit::models::llama
