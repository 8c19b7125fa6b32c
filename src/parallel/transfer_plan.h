// Which peer gets which slice of a variable-count exchange, as grouped point-to-point calls
// (the NCCL communicator's all_to_all_v and all_gather_v). Pure functions over counts, so they
// are built and unit-tested in the CPU build.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace uspdit::parallel {

// One peer's share of an exchange, in elements of the tensors' dtype. The caller's own entry
// (peer == self) is a local copy, never a message.
struct PeerTransfer {
  int peer = 0;
  int64_t send_offset = 0;
  int64_t send_count = 0;
  int64_t recv_offset = 0;
  int64_t recv_count = 0;
};

// Exclusive prefix sums: where each rank's block starts. Throws on negative counts.
std::vector<int64_t> block_offsets(std::span<const int64_t> counts);

// all_to_all_v: send_counts[i] elements from send's block i go to rank i; recv_counts[i]
// elements from rank i land in recv's block i. Peers with nothing either way are left out, so
// no zero-byte message is posted (each side skips the same pair, so the calls still match).
std::vector<PeerTransfer> all_to_all_plan(std::span<const int64_t> send_counts,
                                          std::span<const int64_t> recv_counts);

// all_gather_v: the whole send buffer (counts[self] elements) goes to every rank, and block i of
// recv (counts[i] elements) comes from rank i.
std::vector<PeerTransfer> all_gather_plan(std::span<const int64_t> counts, int self);

}  // namespace uspdit::parallel
