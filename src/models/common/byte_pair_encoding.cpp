#include "models/common/byte_pair_encoding.h"

#include <limits>

namespace uspdit::models {

BytePairEncoding::BytePairEncoding(const std::vector<Merge>& merges) {
  ranks_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    ranks_.emplace(key(merges[i].first, merges[i].second), static_cast<long>(i));
  }
}

std::string BytePairEncoding::key(const std::string& left, const std::string& right) {
  std::string k;
  k.reserve(left.size() + right.size() + 1);
  k.append(left).push_back('\n');
  k.append(right);
  return k;
}

long BytePairEncoding::rank(const std::string& left, const std::string& right) const {
  const auto it = ranks_.find(key(left, right));
  return it == ranks_.end() ? -1 : it->second;
}

std::vector<std::string> BytePairEncoding::merge(std::vector<std::string> symbols) const {
  while (symbols.size() > 1) {
    long best = std::numeric_limits<long>::max();
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const long r = rank(symbols[i], symbols[i + 1]);
      if (r >= 0 && r < best) {
        best = r;
        best_at = i;
      }
    }
    if (best == std::numeric_limits<long>::max()) break;
    // Every occurrence of the winning pair, left to right, from its first occurrence on (a pair
    // has one rank, so no earlier position holds it).
    const std::string left = symbols[best_at], right = symbols[best_at + 1];
    std::vector<std::string> merged(symbols.begin(), symbols.begin() + static_cast<long>(best_at));
    merged.reserve(symbols.size());
    for (size_t i = best_at; i < symbols.size();) {
      if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
        merged.push_back(left + right);
        i += 2;
      } else {
        merged.push_back(std::move(symbols[i]));
        ++i;
      }
    }
    symbols = std::move(merged);
  }
  return symbols;
}

}  // namespace uspdit::models
