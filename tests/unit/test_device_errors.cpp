// The out-of-memory line and the loaded-library version check (core/device_errors.h).
#include <gtest/gtest.h>

#include "core/device_errors.h"

namespace uspdit::core {
namespace {

TEST(OutOfMemory, ReadsWhatTheAllocatorAskedFor) {
  // libtorch's CUDA caching allocator and its CPU allocator, as they word it.
  EXPECT_EQ(requested_bytes(
                "CUDA out of memory. Tried to allocate 2.50 GiB. GPU 0 has a total capacity of 79.1 GiB"),
            int64_t{5} << 29);
  EXPECT_EQ(requested_bytes("Tried to allocate 20.00 MiB (GPU 3; 80 GiB total capacity)"), int64_t{20} << 20);
  EXPECT_EQ(
      requested_bytes("DefaultCPUAllocator: can't allocate memory: you tried to allocate 123456 bytes."),
      123456);
  EXPECT_EQ(requested_bytes("something else went wrong"), -1);
}

TEST(OutOfMemory, OneLineWithStageMemoryAndTheWayOut) {
  DeviceMemory m;
  m.free = int64_t{3} << 29;    // 1.5 GiB
  m.total = int64_t{80} << 30;  // 80 GiB
  m.reserved = int64_t{70} << 30;
  const auto line =
      out_of_memory_line("denoise", "CUDA out of memory. Tried to allocate 2.50 GiB.\nmore text",
                         c10::Device(c10::DeviceType::CUDA, 3), m, "more ranks");
  EXPECT_EQ(line,
            "out of memory on cuda:3 in stage 'denoise': asked for 2.5 GiB with 1.5 GiB free of 80.0 GiB "
            "(70.0 GiB reserved by this process's caching allocator); to fit: more ranks");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto host = out_of_memory_line("decode", "no size here", host_device(), DeviceMemory{}, "");
  EXPECT_EQ(host, "out of memory on cpu in stage 'decode': an allocation failed");
}

TEST(LibraryVersions, AnOlderLoadedLibraryIsNamedWithTheFix) {
  // NCCL 2.28.9 loaded (the CUDA 13.0 toolkit's) where the build needs 2.30.7 (torch 2.15's wheel).
  const auto problems = version_problems({{"NCCL", 22809, 23007, "use the wheel's NCCL"},
                                          {"CUDA driver", 13000, 13000, "update"},
                                          {"cuDNN", 92600, 0, ""}});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0],
            "NCCL 2.28.9 is loaded, but this build needs NCCL 2.30.7 or newer; use the wheel's NCCL");
  EXPECT_TRUE(version_problems({{"NCCL", 23007, 23007, ""}, {"NCCL", 23100, 23007, ""}}).empty());
  const auto driver = version_problems({{"CUDA driver", 12040, 13000, "update the NVIDIA driver"}});
  ASSERT_EQ(driver.size(), 1u);
  EXPECT_EQ(driver[0],
            "CUDA driver 12.4 is loaded, but this build needs CUDA driver 13.0 or newer; update the "
            "NVIDIA driver");
  EXPECT_EQ(version_string("NCCL", 2708), "NCCL 2.7.8");  // the pre-2.9 encoding
  EXPECT_EQ(version_string("cuDNN", 92600), "cuDNN 9.26.0");
}

}  // namespace
}  // namespace uspdit::core
