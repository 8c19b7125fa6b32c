// The GPU variant's communicator parts that need no GPU: dtype mapping, error messages, and that
// creating a world without a GPU fails with a clear error rather than a crash. Everything that
// moves data needs a GPU and is not tested here. Built only in the GPU variant.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "parallel/nccl/cuda_check.h"
#include "parallel/nccl/nccl_dtype.h"
#include "parallel/nccl/nccl_world.h"

namespace uspdit::parallel {
namespace {

TEST(NcclDtype, DtypeMapping) {
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
    check_cuda(gpu::kErrorInvalidValue, "cudaStreamWaitEvent");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cudaStreamWaitEvent"), std::string::npos) << what;
    EXPECT_NE(what.find(gpu::error_string(gpu::kErrorInvalidValue)), std::string::npos) << what;
  }
  EXPECT_NO_THROW(check_nccl(ncclSuccess, "ncclGroupEnd"));
  EXPECT_NO_THROW(check_cuda(gpu::kSuccess, "cudaStreamSynchronize"));
}

TEST(NcclWorld, WithoutGpuFailsClearly) {
  int devices = 0;
  if (gpu::get_device_count(&devices) == gpu::kSuccess && devices > 0) GTEST_SKIP() << "a GPU is present";
  auto bootstrap = make_single_rank_bootstrap();
  try {
    make_nccl_world(LaunchEnv{}, *bootstrap);
    FAIL() << "no exception without a GPU";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cudaGetDeviceCount"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace uspdit::parallel
