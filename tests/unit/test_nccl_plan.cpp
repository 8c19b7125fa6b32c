// The GPU-free parts of the NCCL communicator: dtype mapping, which peer gets which slice, error
// messages, and that creating a world without a GPU fails with a clear error rather than a crash.
// Everything that moves data needs a GPU and is not tested here. Compiled only in NCCL builds.
#ifdef USPDIT_HAVE_NCCL

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "parallel/nccl/cuda_check.h"
#include "parallel/nccl/nccl_plan.h"
#include "parallel/nccl/nccl_world.h"

namespace uspdit::parallel {
namespace {

TEST(NcclPlan, DtypeMapping) {
  EXPECT_EQ(nccl_dtype(at::kFloat), ncclFloat32);
  EXPECT_EQ(nccl_dtype(at::kDouble), ncclFloat64);
  EXPECT_EQ(nccl_dtype(at::kHalf), ncclFloat16);
  EXPECT_EQ(nccl_dtype(at::kBFloat16), ncclBfloat16);
  EXPECT_EQ(nccl_dtype(at::kLong), ncclInt64);
  EXPECT_EQ(nccl_dtype(at::kInt), ncclInt32);
  EXPECT_EQ(nccl_dtype(at::kChar), ncclInt8);
  EXPECT_EQ(nccl_dtype(at::kByte), ncclUint8);
  EXPECT_EQ(nccl_dtype(at::kBool), ncclUint8);
  EXPECT_THROW(nccl_dtype(at::kComplexFloat), std::invalid_argument);
}

TEST(NcclPlan, BlockOffsetsArePrefixSums) {
  const std::vector<int64_t> counts = {3, 0, 5, 2};
  EXPECT_EQ(block_offsets(counts), (std::vector<int64_t>{0, 3, 3, 8}));
  const std::vector<int64_t> negative = {1, -1};
  EXPECT_THROW(block_offsets(negative), std::invalid_argument);
}

TEST(NcclPlan, AllToAllSkipsIdlePeersAndKeepsOffsets) {
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

TEST(NcclPlan, AllGatherSendsWholeBufferToEveryone) {
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

TEST(NcclErrors, MessagesNameTheCallAndTheReason) {
  try {
    check_nccl(ncclInvalidArgument, "ncclSend");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("ncclSend"), std::string::npos) << what;
    EXPECT_NE(what.find(ncclGetErrorString(ncclInvalidArgument)), std::string::npos) << what;
  }
  try {
    check_cuda(cudaErrorInvalidValue, "cudaMemcpyAsync");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cudaMemcpyAsync"), std::string::npos) << what;
    EXPECT_NE(what.find(cudaGetErrorString(cudaErrorInvalidValue)), std::string::npos) << what;
  }
  EXPECT_NO_THROW(check_nccl(ncclSuccess, "ncclGroupEnd"));
  EXPECT_NO_THROW(check_cuda(cudaSuccess, "cudaStreamSynchronize"));
}

class OneRankBootstrap final : public Bootstrap {
 public:
  std::vector<uint8_t> broadcast(const std::string&, const std::vector<uint8_t>& bytes, int) override {
    return bytes;
  }
};

TEST(NcclWorld, WithoutGpuFailsClearly) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0) GTEST_SKIP() << "a GPU is present";
  OneRankBootstrap bootstrap;
  try {
    make_nccl_world(LaunchEnv{}, bootstrap);
    FAIL() << "no exception without a GPU";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cudaGetDeviceCount"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace uspdit::parallel

#endif  // USPDIT_HAVE_NCCL
