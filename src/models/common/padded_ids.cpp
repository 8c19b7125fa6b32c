#include "models/common/padded_ids.h"

#include <algorithm>

#include "core/error.h"

namespace uspdit::models {

PaddedIds truncate_and_pad(const std::vector<int64_t>& text_ids, const std::vector<int64_t>& prefix,
                           const std::vector<int64_t>& suffix, size_t max_length, int64_t pad_id,
                           const std::string& what) {
  const size_t specials = prefix.size() + suffix.size();
  require(max_length >= specials, what + ": max_length " + std::to_string(max_length) +
                                      " is shorter than the " + std::to_string(specials) + " special tokens");
  const size_t kept = std::min(text_ids.size(), max_length - specials);
  PaddedIds out;
  out.ids.reserve(max_length);
  out.ids.insert(out.ids.end(), prefix.begin(), prefix.end());
  out.ids.insert(out.ids.end(), text_ids.begin(), text_ids.begin() + static_cast<long>(kept));
  out.ids.insert(out.ids.end(), suffix.begin(), suffix.end());
  out.mask.assign(out.ids.size(), 1);
  out.ids.resize(max_length, pad_id);
  out.mask.resize(max_length, 0);
  return out;
}

}  // namespace uspdit::models
