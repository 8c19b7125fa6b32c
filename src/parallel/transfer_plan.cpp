#include "parallel/transfer_plan.h"

#include <stdexcept>
#include <string>

namespace uspdit::parallel {

std::vector<int64_t> block_offsets(std::span<const int64_t> counts) {
  std::vector<int64_t> out(counts.size(), 0);
  int64_t offset = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 0) {
      throw std::invalid_argument("negative count " + std::to_string(counts[i]) + " for rank " +
                                  std::to_string(i));
    }
    out[i] = offset;
    offset += counts[i];
  }
  return out;
}

std::vector<PeerTransfer> all_to_all_plan(std::span<const int64_t> send_counts,
                                          std::span<const int64_t> recv_counts) {
  if (send_counts.size() != recv_counts.size()) {
    throw std::invalid_argument("all_to_all_v: send and recv counts differ in length");
  }
  const auto send_offsets = block_offsets(send_counts);
  const auto recv_offsets = block_offsets(recv_counts);
  std::vector<PeerTransfer> plan;
  for (size_t i = 0; i < send_counts.size(); ++i) {
    if (send_counts[i] == 0 && recv_counts[i] == 0) continue;
    plan.push_back({static_cast<int>(i), send_offsets[i], send_counts[i], recv_offsets[i], recv_counts[i]});
  }
  return plan;
}

std::vector<PeerTransfer> all_gather_plan(std::span<const int64_t> counts, int self) {
  if (self < 0 || static_cast<size_t>(self) >= counts.size()) {
    throw std::invalid_argument("all_gather_v: rank " + std::to_string(self) + " has no entry in counts");
  }
  const auto offsets = block_offsets(counts);
  std::vector<PeerTransfer> plan;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[self] == 0 && counts[i] == 0) continue;
    plan.push_back({static_cast<int>(i), 0, counts[self], offsets[i], counts[i]});
  }
  return plan;
}

}  // namespace uspdit::parallel
