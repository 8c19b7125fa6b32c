// The communicator of a one-rank group without MPI: every collective is a local copy. Lets
// single-process code (unit tests, `forward` without a launcher) use the same model code.
#pragma once

#include "parallel/communicator.h"

namespace uspdit::parallel {

class SelfCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "self"; }
  bool accepts(const at::Tensor&) const override { return true; }
  c10::Device device() const override { return c10::Device(c10::DeviceType::CPU); }

  void all_to_all_v(const at::Tensor& send, std::span<const int64_t> send_counts, at::Tensor& recv,
                    std::span<const int64_t> recv_counts) override;
  void all_gather_v(const at::Tensor& send, at::Tensor& recv, std::span<const int64_t> counts) override;
  std::unique_ptr<PendingOp> send_recv_async(const at::Tensor& send, int dst, at::Tensor& recv, int src) override;
  void broadcast(at::Tensor&, int) override {}
  void all_reduce_max(at::Tensor&) override {}
  void all_reduce_sum(at::Tensor&) override {}
  void barrier() override {}
  std::unique_ptr<Communicator> split(int color, int key) override;
};

}  // namespace uspdit::parallel
