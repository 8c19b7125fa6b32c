#include "parallel/staged_communicator.h"

#include <ATen/ATen.h>

#include <stdexcept>

#include "core/device.h"

namespace uspdit::parallel {
namespace {

// A host copy of `t` (always a new buffer: the host communicator writes into it, and the
// caller's tensor is written back only once the call has completed).
at::Tensor host_copy(const at::Tensor& t) {
  at::Tensor host = at::empty(t.sizes(), t.options().device(core::host_device()));
  host.copy_(t);
  return host;
}

at::Tensor host_buffer(const at::Tensor& t) {
  return at::empty(t.sizes(), t.options().device(core::host_device()));
}

class StagedTransfer final : public PendingOp {
 public:
  StagedTransfer(std::unique_ptr<PendingOp> host_op, at::Tensor send_host, at::Tensor recv_host,
                 at::Tensor recv)
      : host_op_(std::move(host_op)),
        send_host_(std::move(send_host)),
        recv_host_(std::move(recv_host)),
        recv_(std::move(recv)) {}
  ~StagedTransfer() override {
    try {
      wait();
    } catch (...) {
      // The failure is reported by whoever waits; a dropped op must still not leave MPI writing
      // into freed buffers, which the host op's own destructor ensures.
    }
  }
  void wait() override {
    if (!host_op_) return;
    auto op = std::move(host_op_);
    op->wait();
    recv_.copy_(recv_host_);
    send_host_.reset();
    recv_host_.reset();
  }

 private:
  std::unique_ptr<PendingOp> host_op_;
  at::Tensor send_host_, recv_host_, recv_;
};

}  // namespace

StagedCommunicator::StagedCommunicator(std::unique_ptr<Communicator> host, c10::Device device)
    : StagedCommunicator(std::move(host), device, nullptr) {}

StagedCommunicator::StagedCommunicator(std::unique_ptr<Communicator> host, c10::Device device,
                                       std::shared_ptr<CommStats> stats)
    : Communicator(stats ? std::move(stats) : std::make_shared<CommStats>()),
      host_(std::move(host)),
      device_(device) {
  if (!host_) throw std::invalid_argument("StagedCommunicator: no host communicator");
}

bool StagedCommunicator::accepts(const at::Tensor& tensor) const {
  return tensor.device() == device_;
}

void StagedCommunicator::account(int64_t before_bytes) {
  count_sent(host_->stats().bytes_sent - before_bytes);
}

void StagedCommunicator::all_to_all_v(const at::Tensor& send, std::span<const int64_t> send_counts,
                                      at::Tensor& recv, std::span<const int64_t> recv_counts) {
  const int64_t before = host_->stats().bytes_sent;
  auto send_host = host_copy(send);
  auto recv_host = host_buffer(recv);
  host_->all_to_all_v(send_host, send_counts, recv_host, recv_counts);
  recv.copy_(recv_host);
  account(before);
}

void StagedCommunicator::all_gather_v(const at::Tensor& send, at::Tensor& recv,
                                      std::span<const int64_t> counts) {
  const int64_t before = host_->stats().bytes_sent;
  auto send_host = host_copy(send);
  auto recv_host = host_buffer(recv);
  host_->all_gather_v(send_host, recv_host, counts);
  recv.copy_(recv_host);
  account(before);
}

std::unique_ptr<PendingOp> StagedCommunicator::send_recv_async(const at::Tensor& send, int dst,
                                                               at::Tensor& recv, int src) {
  const int64_t before = host_->stats().bytes_sent;
  auto send_host = host_copy(send);  // the device-to-host copy completes before MPI reads it
  auto recv_host = host_buffer(recv);
  auto op = host_->send_recv_async(send_host, dst, recv_host, src);
  account(before);
  return std::make_unique<StagedTransfer>(std::move(op), std::move(send_host), std::move(recv_host), recv);
}

void StagedCommunicator::in_place_on_host(at::Tensor& tensor, const std::function<void(at::Tensor&)>& op) {
  const int64_t before = host_->stats().bytes_sent;
  auto host = host_copy(tensor);
  op(host);
  tensor.copy_(host);
  account(before);
}

void StagedCommunicator::broadcast(at::Tensor& tensor, int root) {
  in_place_on_host(tensor, [&](at::Tensor& host) { host_->broadcast(host, root); });
}

void StagedCommunicator::all_reduce_max(at::Tensor& tensor) {
  in_place_on_host(tensor, [&](at::Tensor& host) { host_->all_reduce_max(host); });
}

void StagedCommunicator::all_reduce_sum(at::Tensor& tensor) {
  in_place_on_host(tensor, [&](at::Tensor& host) { host_->all_reduce_sum(host); });
}

std::unique_ptr<Communicator> StagedCommunicator::split(int color, int key) {
  return std::unique_ptr<Communicator>(
      new StagedCommunicator(host_->split(color, key), device_, shared_stats()));
}

}  // namespace uspdit::parallel
