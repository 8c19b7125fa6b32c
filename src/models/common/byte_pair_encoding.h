// The byte-pair-encoding merge engine shared by the Llama 3 and CLIP tokenizers: a word, already
// split into its initial symbols (byte-level characters), is merged pair by pair in merge-rank
// order until no adjacent pair has a rank. Each round takes the lowest-ranked adjacent pair and
// merges all of its occurrences left to right without overlap, which is what transformers' slow
// BPE loop does and gives the same result as tokenizers' priority-queue BPE.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace uspdit::models {

class BytePairEncoding {
 public:
  using Merge = std::pair<std::string, std::string>;

  BytePairEncoding() = default;
  // `merges` in rank order (index = rank). A repeated pair keeps its first (lowest) rank.
  explicit BytePairEncoding(const std::vector<Merge>& merges);

  // Applies the merges to `symbols` and returns the merged symbols.
  std::vector<std::string> merge(std::vector<std::string> symbols) const;

  // Rank of the pair (left, right), or -1 when it is not a merge.
  long rank(const std::string& left, const std::string& right) const;
  size_t size() const { return ranks_.size(); }

 private:
  // Key: left + '\n' + right. Symbols of byte-level BPE never hold a raw '\n' (it is mapped to
  // 'Ċ'), and merges files cannot hold one either (one merge per line).
  static std::string key(const std::string& left, const std::string& right);
  std::unordered_map<std::string, long> ranks_;
};

}  // namespace uspdit::models
