// The watched world (parallel/watched_communicator.h) under a running watchdog, on every world
// size: collectives, groups split from it and ring transfers give the results of the plain
// communicator and count into the same traffic total; the watchdog's side channel starts and
// stops with it. (A stall is tested through the binary: tests/unit/test_cli_robustness.cpp.)
#include <gtest/gtest.h>
#include <mpi.h>

#include <ATen/ATen.h>

#include "parallel/mpi_communicator.h"
#include "parallel/watchdog.h"
#include "parallel/watched_communicator.h"

namespace uspdit::parallel {
namespace {

TEST(WatchedCommunicator, GroupsAndRingTransfersWorkUnderTheWatchdog) {
  auto inner = std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, false);
  const int n = inner->size();
  const int me = inner->rank();
  Watchdog dog(*inner, 60);
  std::vector<int> everyone(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) everyone[static_cast<size_t>(r)] = r;
  WatchedCommunicator world(std::move(inner), 0, everyone);
  world.reset_stats();

  auto group = world.split(me % 2, me);
  auto value = at::full({1}, me + 1, at::kLong);
  group->all_reduce_sum(value);
  int64_t expected = 0;
  for (int r = me % 2; r < n; r += 2) expected += r + 1;
  EXPECT_EQ(value.item<int64_t>(), expected);

  auto send = at::full({3}, me, at::kInt);
  auto recv = at::full({3}, -1, at::kInt);
  auto op = world.send_recv_async(send, (me + 1) % n, recv, (me + n - 1) % n);
  op->wait();
  EXPECT_TRUE(recv.equal(at::full({3}, (me + n - 1) % n, at::kInt)));
  if (n > 1) {
    EXPECT_GT(world.stats().bytes_sent, 0);
  }
  world.barrier();
}

}  // namespace
}  // namespace uspdit::parallel
