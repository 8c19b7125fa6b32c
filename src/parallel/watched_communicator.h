// A communicator that reports each collective to the watchdog (watchdog.h) and passes it on.
// Runtime wraps the world in it, so every group split from the world is watched too, whatever
// the data backend (MPI, host-staged, NCCL). Without a running watchdog it only forwards.
#pragma once

#include <memory>
#include <vector>

#include "parallel/communicator.h"

namespace uspdit::parallel {

class WatchedCommunicator final : public Communicator {
 public:
  // `group`: an id the same on every member and different from other groups' (0 for the world);
  // `members`: the world ranks of the group in its rank order.
  WatchedCommunicator(std::unique_ptr<Communicator> inner, uint32_t group, std::vector<int> members);

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  std::string backend() const override { return inner_->backend(); }
  bool accepts(const at::Tensor& tensor) const override { return inner_->accepts(tensor); }
  c10::Device device() const override { return inner_->device(); }

  void all_to_all_v(const at::Tensor& send, std::span<const int64_t> send_counts, at::Tensor& recv,
                    std::span<const int64_t> recv_counts) override;
  void all_gather_v(const at::Tensor& send, at::Tensor& recv, std::span<const int64_t> counts) override;
  // Watched from the call to the end of wait(): the transfer may run in the background meanwhile.
  std::unique_ptr<PendingOp> send_recv_async(const at::Tensor& send, int dst, at::Tensor& recv,
                                             int src) override;
  void broadcast(at::Tensor& tensor, int root) override;
  void all_reduce_max(at::Tensor& tensor) override;
  void all_reduce_sum(at::Tensor& tensor) override;
  void barrier() override;
  std::unique_ptr<Communicator> split(int color, int key) override;

  Communicator& inner() { return *inner_; }

 private:
  // Runs `call` as collective `op` of this group, reported to the watchdog.
  template <typename Call>
  auto watched(const char* op, Call&& call);

  std::unique_ptr<Communicator> inner_;
  uint32_t group_;
  std::shared_ptr<const std::vector<int>> members_;
  uint64_t sequence_ = 0;
  uint32_t splits_ = 0;
};

}  // namespace uspdit::parallel
