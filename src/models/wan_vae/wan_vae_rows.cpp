#include "models/wan_vae/wan_vae_rows.h"

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "core/error.h"

namespace uspdit::models::wan_vae {

RowShard::RowShard(parallel::Communicator* comm, int64_t rows) {
  const int parts = comm ? comm->size() : 1;
  require(rows >= parts, "VAE decode on " + std::to_string(parts) +
                             " ranks needs at least one latent row per rank; " + "the latents have " +
                             std::to_string(rows) + " rows (use fewer ranks)");
  split_ = parallel::SequenceSplit::even(rows, parts);
  if (parts > 1) {
    comm_ = comm;
    rank_ = comm->rank();
  }
}

int64_t RowShard::begin(int64_t scale) const {
  return split_.offsets.at(rank_) * scale;
}
int64_t RowShard::count(int64_t scale) const {
  return split_.lengths.at(rank_) * scale;
}

at::Tensor RowShard::halo(const at::Tensor& x) const {
  auto sizes = x.sizes().vec();
  sizes[sizes.size() - 2] += 2;
  auto out = at::zeros(sizes, x.options());
  halo_into(x, out);
  return out;
}

void RowShard::halo_into(const at::Tensor& x, at::Tensor out) const {
  const int64_t h = x.size(-2);
  out.narrow(-2, 1, h).copy_(x);
  if (!comm_) return;
  const int size = comm_->size();
  auto first = x.narrow(-2, 0, 1).contiguous();
  auto last = x.narrow(-2, h - 1, 1).contiguous();
  auto from_above = at::empty_like(first);
  auto from_below = at::empty_like(last);
  // Two rounds of disjoint pairs, (0,1)(2,3)... then (1,2)(3,4)...: each rank exchanges with one
  // neighbour per round, so the exchange takes two steps whatever the number of ranks.
  std::vector<std::unique_ptr<parallel::PendingOp>> ops;
  for (int round = 0; round < 2; ++round) {
    const bool upper = (rank_ - round) % 2 == 0;
    const int partner = upper ? rank_ + 1 : rank_ - 1;
    if (partner < 0 || partner >= size) continue;
    if (upper) {
      ops.push_back(comm_->send_recv_async(last, partner, from_below, partner));
    } else {
      ops.push_back(comm_->send_recv_async(first, partner, from_above, partner));
    }
  }
  for (auto& op : ops) op->wait();
  if (rank_ > 0) out.narrow(-2, 0, 1).copy_(from_above);
  if (rank_ < size - 1) out.narrow(-2, h + 1, 1).copy_(from_below);
}

at::Tensor RowShard::gather(const at::Tensor& x, int64_t scale) const {
  if (!comm_) return x;
  // Rows first, so that every rank's part is one contiguous block in rank order.
  auto rows_first = x.movedim(-2, 0).contiguous();
  const int64_t per_row = rows_first[0].numel();
  std::vector<int64_t> counts;
  for (auto len : split_.lengths) counts.push_back(len * scale * per_row);
  auto sizes = rows_first.sizes().vec();
  sizes[0] = split_.total() * scale;
  auto all = at::empty(sizes, x.options());
  comm_->all_gather_v(rows_first.view({-1}), all, counts);
  return all.movedim(0, -2);
}

}  // namespace uspdit::models::wan_vae
