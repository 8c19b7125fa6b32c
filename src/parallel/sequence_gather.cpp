#include "parallel/sequence_gather.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <vector>

namespace uspdit::parallel {

at::Tensor gather_sequence(Communicator& group, const at::Tensor& mine, const SequenceSplit& split) {
  if (split.parts() != group.size() || mine.size(1) != split.lengths.at(group.rank())) {
    throw std::invalid_argument("gather_sequence: the local chunk does not match the split");
  }
  if (group.size() == 1) return mine;
  // Elements per token: everything after the batch and sequence dimensions.
  const int64_t B = mine.size(0);
  auto rest = mine.sizes().slice(2).vec();
  int64_t per_token = 1;
  for (auto d : rest) per_token *= d;  // not numel / (B·S_c): a rank may hold no token at all
  std::vector<int64_t> counts;
  for (auto len : split.lengths) counts.push_back(B * len * per_token);
  auto all = at::empty({B * split.total() * per_token}, mine.options());
  group.all_gather_v(mine.contiguous().view({-1}), all, counts);
  std::vector<at::Tensor> parts;
  int64_t offset = 0;
  for (int c = 0; c < split.parts(); ++c) {
    std::vector<int64_t> shape = {B, split.lengths[c]};
    shape.insert(shape.end(), rest.begin(), rest.end());
    parts.push_back(all.narrow(0, offset, counts[c]).view(shape));
    offset += counts[c];
  }
  return at::cat(parts, 1);
}

}  // namespace uspdit::parallel
