// The ring transfer's buffer lifetime (parallel/stream_transfer.h), checked with a fake stream
// API: the op keeps send and recv alive until the consumer stream has been ordered after the
// transfer, in wait() and when dropped without one, and the host never blocks on it.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "parallel/stream_transfer.h"

namespace uspdit::parallel {
namespace {

// Records every call; at each stream wait it notes how many owners the watched storage has, so
// the test can see whether the op still held the tensor at that moment.
struct FakeStreams {
  using Event = int*;
  using Stream = int;
  using Error = int;
  static inline std::vector<std::string> calls;
  static inline const at::Tensor* watched = nullptr;
  static inline long owners_at_wait = -1;
  static inline Error next_error = 0;

  static Error wait_event(Stream stream, Event event) {
    calls.push_back("wait stream " + std::to_string(stream) + " on event " + std::to_string(*event));
    if (watched != nullptr) owners_at_wait = watched->use_count();
    return std::exchange(next_error, 0);
  }
  static void destroy_event(Event event) { calls.push_back("destroy event " + std::to_string(*event)); }
  static void check(Error error, const char* call) {
    if (error != 0) throw std::runtime_error(std::string(call) + " failed");
  }
  static void reset(const at::Tensor* tensor) {
    calls.clear();
    watched = tensor;
    owners_at_wait = -1;
    next_error = 0;
  }
};
using Transfer = StreamOrderedTransfer<FakeStreams>;

TEST(StreamTransfer, HoldsBuffersUntilTheConsumerStreamWaited) {
  int event = 7;
  at::Tensor recv = at::zeros({4});
  FakeStreams::reset(&recv);
  {
    Transfer op(&event, /*consumer=*/3, at::ones({4}), recv);
    EXPECT_TRUE(op.holds_tensors());
    EXPECT_EQ(recv.use_count(), 2);  // the caller's handle and the op's
    op.wait();
    EXPECT_EQ(FakeStreams::owners_at_wait, 2) << "the op must still hold recv when the wait is enqueued";
    EXPECT_FALSE(op.holds_tensors());
    EXPECT_EQ(recv.use_count(), 1);
    op.wait();  // a second wait does nothing
  }
  EXPECT_EQ(FakeStreams::calls, (std::vector<std::string>{"wait stream 3 on event 7", "destroy event 7"}));
}

TEST(StreamTransfer, DroppedWithoutWaitOrdersThenReleases) {
  int event = 9;
  at::Tensor send = at::ones({8});
  FakeStreams::reset(&send);
  {
    Transfer op(&event, /*consumer=*/5, send, at::zeros({8}));
    EXPECT_EQ(send.use_count(), 2);
  }
  EXPECT_EQ(FakeStreams::owners_at_wait, 2) << "released before the consumer stream was ordered after it";
  EXPECT_EQ(send.use_count(), 1);
  EXPECT_EQ(FakeStreams::calls, (std::vector<std::string>{"wait stream 5 on event 9", "destroy event 9"}));
}

TEST(StreamTransfer, AFailedWaitStillDestroysTheEventOnce) {
  int event = 4;
  at::Tensor recv = at::zeros({2});
  FakeStreams::reset(&recv);
  FakeStreams::next_error = 1;
  {
    Transfer op(&event, 1, at::ones({2}), recv);
    EXPECT_THROW(op.wait(), std::runtime_error);
  }
  EXPECT_EQ(FakeStreams::calls, (std::vector<std::string>{"wait stream 1 on event 4", "destroy event 4"}));
  EXPECT_EQ(recv.use_count(), 1);
}

}  // namespace
}  // namespace uspdit::parallel
