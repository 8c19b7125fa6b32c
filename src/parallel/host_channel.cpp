// The host channel of Communicator (communicator.h): bookkeeping on CPU tensors over any backend.
#include <ATen/ATen.h>

#include "parallel/communicator.h"

namespace uspdit::parallel {
namespace {

// Runs `op` on a copy of `tensor` on the communicator's device when the backend does not take
// host tensors, and copies the result back (a blocking copy: the host reads it next).
template <typename Op>
void staged(Communicator& comm, at::Tensor& tensor, Op&& op) {
  if (comm.accepts(tensor)) {
    op(tensor);
    return;
  }
  at::Tensor on_device = tensor.to(comm.device());
  op(on_device);
  tensor.copy_(on_device);
}

}  // namespace

void Communicator::host_broadcast(at::Tensor& tensor, int root) {
  staged(*this, tensor, [&](at::Tensor& t) { broadcast(t, root); });
}

void Communicator::host_all_reduce_max(at::Tensor& tensor) {
  staged(*this, tensor, [&](at::Tensor& t) { all_reduce_max(t); });
}

void Communicator::host_all_gather_v(const at::Tensor& send, at::Tensor& recv,
                                     std::span<const int64_t> counts) {
  if (accepts(send) && accepts(recv)) {
    all_gather_v(send, recv, counts);
    return;
  }
  const at::Tensor send_on_device = send.to(device());
  at::Tensor recv_on_device = recv.to(device());
  all_gather_v(send_on_device, recv_on_device, counts);
  recv.copy_(recv_on_device);
}

}  // namespace uspdit::parallel
