// The lifetime rule of a transfer that runs on a communication stream while compute continues
// on another (the ring's next K/V block), written once against a stream API so that the CPU
// tests can check it with a fake one and the NCCL communicator uses it with CUDA/HIP's.
//
// The rule (gpu.md §3, PyTorch's own ProcessGroupNCCL does the same): the caching allocator knows
// only the stream a tensor was allocated on, so a tensor freed while another stream still reads
// or writes it can be handed out again under the running transfer. The op therefore holds its
// send and recv tensors until the consumer stream has been ordered after the transfer's `done`
// event; from then on any reuse of their memory is stream-ordered after the transfer. wait()
// does not block the host. Dropping the op without wait() orders and releases the same way.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

#include "parallel/communicator.h"

namespace uspdit::parallel {

// Api: types Event, Stream, Error; static Error wait_event(Stream, Event) (the stream waits,
// not the host); static void destroy_event(Event); static void check(Error, const char* call).
template <typename Api>
class StreamOrderedTransfer final : public PendingOp {
 public:
  using Event = typename Api::Event;
  using Stream = typename Api::Stream;

  StreamOrderedTransfer(Event done, Stream consumer, at::Tensor send, at::Tensor recv)
      : done_(done), consumer_(consumer), send_(std::move(send)), recv_(std::move(recv)) {}
  ~StreamOrderedTransfer() override {
    if (done_ == Event{}) return;
    Api::wait_event(consumer_, done_);
    Api::destroy_event(done_);
    // send_ and recv_ are released after this body, i.e. after the wait is enqueued.
  }
  StreamOrderedTransfer(const StreamOrderedTransfer&) = delete;
  StreamOrderedTransfer& operator=(const StreamOrderedTransfer&) = delete;

  void wait() override {
    if (done_ == Event{}) return;
    Event done = std::exchange(done_, Event{});
    const auto waited = Api::wait_event(consumer_, done);
    Api::destroy_event(done);  // released once the event completes; the wait above holds it
    Api::check(waited, "cudaStreamWaitEvent");
    send_.reset();
    recv_.reset();  // the caller's own handle to recv keeps the result
  }

  // Whether the op still keeps its tensors alive (for tests).
  bool holds_tensors() const { return send_.defined() || recv_.defined(); }

 private:
  Event done_;
  Stream consumer_;
  at::Tensor send_;
  at::Tensor recv_;
};

}  // namespace uspdit::parallel
