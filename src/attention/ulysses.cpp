#include "attention/ulysses.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <vector>

namespace uspdit::attention {

at::Tensor ulysses_scatter_heads(parallel::Communicator& group, const at::Tensor& x,
                                 std::span<const int64_t> chunk_lengths) {
  const int U = group.size(), me = group.rank();
  const int64_t N = x.size(0), B = x.size(1), S = x.size(2), H = x.size(3), D = x.size(4);
  if (H % U != 0) throw std::invalid_argument("ulysses: heads not divisible by the group size");
  if (static_cast<int>(chunk_lengths.size()) != U || chunk_lengths[me] != S) {
    throw std::invalid_argument("ulysses: chunk lengths do not match the local tokens");
  }
  const int64_t h = H / U;
  if (U == 1) return x;
  // [U, N, B, S, h, D]: the block for group rank j is contiguous.
  auto send = x.view({N, B, S, U, h, D}).permute({3, 0, 1, 2, 4, 5}).contiguous();
  std::vector<int64_t> send_counts(U, N * B * S * h * D), recv_counts(U);
  int64_t total = 0;
  for (int j = 0; j < U; ++j) {
    recv_counts[j] = N * B * chunk_lengths[j] * h * D;
    total += recv_counts[j];
  }
  auto recv = at::empty({total}, x.options());
  group.all_to_all_v(send, send_counts, recv, recv_counts);
  std::vector<at::Tensor> parts;
  int64_t offset = 0;
  for (int j = 0; j < U; ++j) {
    parts.push_back(recv.narrow(0, offset, recv_counts[j]).view({N, B, chunk_lengths[j], h, D}));
    offset += recv_counts[j];
  }
  return at::cat(parts, 2);
}

at::Tensor ulysses_gather_heads(parallel::Communicator& group, const at::Tensor& y,
                                std::span<const int64_t> chunk_lengths) {
  const int U = group.size(), me = group.rank();
  const int64_t B = y.size(0), h = y.size(2), D = y.size(3);
  if (U == 1) return y;
  const int64_t S_mine = chunk_lengths[me];
  std::vector<at::Tensor> segments;
  std::vector<int64_t> send_counts(U), recv_counts(U, B * S_mine * h * D);
  int64_t offset = 0;
  for (int j = 0; j < U; ++j) {
    segments.push_back(y.narrow(1, offset, chunk_lengths[j]).reshape({-1}));
    send_counts[j] = segments.back().numel();
    offset += chunk_lengths[j];
  }
  if (offset != y.size(1)) throw std::invalid_argument("ulysses: chunk lengths do not sum to the sequence");
  auto send = at::cat(segments, 0);
  auto recv = at::empty({U * B * S_mine * h * D}, y.options());
  group.all_to_all_v(send, send_counts, recv, recv_counts);
  // [U, B, S, h, D] -> [B, S, U, h, D] -> [B, S, H, D]: head group j came from rank j.
  return recv.view({U, B, S_mine, h, D}).permute({1, 2, 0, 3, 4}).reshape({B, S_mine, U * h, D});
}

}  // namespace uspdit::attention
