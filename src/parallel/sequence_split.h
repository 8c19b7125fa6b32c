// How a sequence of `length` tokens is cut into `parts` chunks: as evenly as possible, the
// first `length % parts` chunks one token longer. Uneven chunks (rather than zero padding)
// keep every parallel configuration exactly equal to the single-rank result: no padded key is
// ever created, so none can be attended.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace uspdit::parallel {

struct SequenceSplit {
  std::vector<int64_t> lengths;  // per chunk
  std::vector<int64_t> offsets;  // start of each chunk

  static SequenceSplit even(int64_t length, int parts);
  int parts() const { return static_cast<int>(lengths.size()); }
  int64_t total() const { return offsets.empty() ? 0 : offsets.back() + lengths.back(); }
  // Tokens of chunks [first, last) together.
  int64_t length_of(int first, int last) const;
};

// This chunk of `global` along `dim` (a view).
at::Tensor take_chunk(const at::Tensor& global, int64_t dim, const SequenceSplit& split, int chunk);

}  // namespace uspdit::parallel
