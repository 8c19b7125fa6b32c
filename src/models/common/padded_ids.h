// Fixed-length ids as transformers returns them for `tokenizer(text, truncation=True,
// max_length=N, padding="max_length")` with right padding: the text's ids are truncated so that
// they and the special tokens fit N, the special tokens wrap them, padding fills up to N.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace uspdit::models {

// mask: 1 = token (special tokens included), 0 = padding.
struct PaddedIds {
  std::vector<int64_t> ids;
  std::vector<int64_t> mask;
};

// prefix + text_ids[:max_length - |prefix| - |suffix|] + suffix, then pad_id up to max_length.
// Throws UsageError ("<what>: max_length N is shorter than the M special tokens") when the special
// tokens alone do not fit.
PaddedIds truncate_and_pad(const std::vector<int64_t>& text_ids, const std::vector<int64_t>& prefix,
                           const std::vector<int64_t>& suffix, size_t max_length, int64_t pad_id,
                           const std::string& what);

}  // namespace uspdit::models
