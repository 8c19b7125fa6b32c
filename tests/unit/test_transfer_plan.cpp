// Which peer gets which slice in the NCCL communicator's grouped send/recv calls: pure planning
// code, tested without a GPU (the GPU-variant parts are in tests/gpu/test_nccl.cpp).
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "parallel/transfer_plan.h"

namespace uspdit::parallel {
namespace {

TEST(TransferPlan, BlockOffsetsArePrefixSums) {
  const std::vector<int64_t> counts = {3, 0, 5, 2};
  EXPECT_EQ(block_offsets(counts), (std::vector<int64_t>{0, 3, 3, 8}));
  const std::vector<int64_t> negative = {1, -1};
  EXPECT_THROW(block_offsets(negative), std::invalid_argument);
}

TEST(TransferPlan, AllToAllSkipsIdlePeersAndKeepsOffsets) {
  // Rank 1 of 4: sends 2,0,3,0 and receives 1,4,0,0.
  const std::vector<int64_t> send = {2, 0, 3, 0}, recv = {1, 4, 0, 0};
  const auto plan = all_to_all_plan(send, recv);
  ASSERT_EQ(plan.size(), 3u);  // rank 3: nothing either way, no message
  EXPECT_EQ(plan[0].peer, 0);
  EXPECT_EQ(plan[0].send_offset, 0);
  EXPECT_EQ(plan[0].send_count, 2);
  EXPECT_EQ(plan[0].recv_offset, 0);
  EXPECT_EQ(plan[0].recv_count, 1);
  EXPECT_EQ(plan[1].peer, 1);  // own block: receives 4, sends none
  EXPECT_EQ(plan[1].send_offset, 2);
  EXPECT_EQ(plan[1].send_count, 0);
  EXPECT_EQ(plan[1].recv_offset, 1);
  EXPECT_EQ(plan[1].recv_count, 4);
  EXPECT_EQ(plan[2].peer, 2);
  EXPECT_EQ(plan[2].send_offset, 2);
  EXPECT_EQ(plan[2].send_count, 3);
  EXPECT_EQ(plan[2].recv_offset, 5);
  EXPECT_EQ(plan[2].recv_count, 0);
  const std::vector<int64_t> short_recv = {1, 4};
  EXPECT_THROW(all_to_all_plan(send, short_recv), std::invalid_argument);
}

TEST(TransferPlan, AllGatherSendsWholeBufferToEveryone) {
  const std::vector<int64_t> counts = {4, 0, 6};
  const auto plan = all_gather_plan(counts, /*self=*/2);
  ASSERT_EQ(plan.size(), 3u);
  for (const auto& t : plan) {
    EXPECT_EQ(t.send_offset, 0);
    EXPECT_EQ(t.send_count, 6);
  }
  EXPECT_EQ(plan[1].recv_count, 0);
  EXPECT_EQ(plan[2].recv_offset, 4);
  EXPECT_EQ(plan[2].recv_count, 6);
  // A rank with nothing to give only receives: the peer that also has nothing is left out.
  const auto empty_self = all_gather_plan(counts, /*self=*/1);
  ASSERT_EQ(empty_self.size(), 2u);
  EXPECT_EQ(empty_self[0].peer, 0);
  EXPECT_EQ(empty_self[1].peer, 2);
  EXPECT_THROW(all_gather_plan(counts, 3), std::invalid_argument);
}

}  // namespace
}  // namespace uspdit::parallel
