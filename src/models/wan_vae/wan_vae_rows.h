// A frame's rows split across the ranks of a group (uneven split as parallel::SequenceSplit: the
// first `rows % P` ranks one row more), the split scaling with every 2x upsample. What the
// decoder's parallel path needs: the neighbours' boundary rows before a 3x3 conv (halo), and the
// whole frame (middle attention, final output). Serial (no communicator or one rank) is the same
// code with zero halos, so both paths run the same kernels.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "parallel/communicator.h"
#include "parallel/sequence_split.h"

namespace uspdit::models::wan_vae {

class RowShard {
 public:
  // `rows` of the latent frame; every rank must get one at least (UsageError otherwise).
  RowShard(parallel::Communicator* comm, int64_t rows);

  bool parallel() const { return comm_ != nullptr; }
  // This rank's rows [begin, begin + count) at `scale` x the latent resolution.
  int64_t begin(int64_t scale = 1) const;
  int64_t count(int64_t scale = 1) const;

  // x [..., h, w] (h = this rank's rows) -> [..., h + 2, w]: the row above from the rank above
  // and the row below from the rank below, zeros at the frame's edges (the conv's zero padding).
  at::Tensor halo(const at::Tensor& x) const;
  // The same into `out` [..., h + 2, w] (a view into a larger zeroed buffer, e.g. behind cached
  // frames): saves the copy a separate halo tensor would cost. `out`'s edge rows must be zero.
  void halo_into(const at::Tensor& x, at::Tensor out) const;
  // x [..., h, w] -> [..., H, w], H = all rows at `scale`: the whole frame on every rank.
  at::Tensor gather(const at::Tensor& x, int64_t scale) const;

 private:
  parallel::Communicator* comm_ = nullptr;  // null when serial
  parallel::SequenceSplit split_;
  int rank_ = 0;
};

}  // namespace uspdit::models::wan_vae
