#include "parallel/sequence_split.h"

#include <stdexcept>

namespace uspdit::parallel {

SequenceSplit SequenceSplit::even(int64_t length, int parts) {
  if (parts < 1 || length < 0) throw std::invalid_argument("SequenceSplit: bad length or parts");
  SequenceSplit s;
  int64_t offset = 0;
  for (int i = 0; i < parts; ++i) {
    int64_t len = length / parts + (i < length % parts ? 1 : 0);
    s.lengths.push_back(len);
    s.offsets.push_back(offset);
    offset += len;
  }
  return s;
}

int64_t SequenceSplit::length_of(int first, int last) const {
  int64_t total = 0;
  for (int i = first; i < last; ++i) total += lengths.at(i);
  return total;
}

at::Tensor take_chunk(const at::Tensor& global, int64_t dim, const SequenceSplit& split, int chunk) {
  return global.narrow(dim, split.offsets.at(chunk), split.lengths.at(chunk));
}

}  // namespace uspdit::parallel
