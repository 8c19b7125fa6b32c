#include "parallel/self_communicator.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace uspdit::parallel {
namespace {

void copy_prefix(const at::Tensor& from, at::Tensor& to, int64_t count) {
  if (count > from.numel() || count > to.numel()) throw std::invalid_argument("self communicator: count out of range");
  to.view({-1}).narrow(0, 0, count).copy_(from.reshape({-1}).narrow(0, 0, count));
}

class Done final : public PendingOp {
 public:
  void wait() override {}
};

}  // namespace

void SelfCommunicator::all_to_all_v(const at::Tensor& send, std::span<const int64_t> send_counts, at::Tensor& recv,
                                    std::span<const int64_t> recv_counts) {
  if (send_counts.size() != 1 || recv_counts.size() != 1 || send_counts[0] != recv_counts[0]) {
    throw std::invalid_argument("self communicator: all_to_all_v needs one equal count");
  }
  copy_prefix(send, recv, send_counts[0]);
}

void SelfCommunicator::all_gather_v(const at::Tensor& send, at::Tensor& recv, std::span<const int64_t> counts) {
  if (counts.size() != 1 || counts[0] != send.numel()) throw std::invalid_argument("self communicator: bad count");
  copy_prefix(send, recv, counts[0]);
}

std::unique_ptr<PendingOp> SelfCommunicator::send_recv_async(const at::Tensor& send, int dst, at::Tensor& recv,
                                                              int src) {
  if (dst != 0 || src != 0 || send.numel() != recv.numel()) {
    throw std::invalid_argument("self communicator: send_recv to another rank");
  }
  recv.copy_(send.view(recv.sizes()));
  return std::make_unique<Done>();
}

std::unique_ptr<Communicator> SelfCommunicator::split(int, int) { return std::make_unique<SelfCommunicator>(); }

}  // namespace uspdit::parallel
