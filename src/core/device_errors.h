// What a user reads when the device fails them: one line for an out-of-memory error that says
// where, how much was asked, what the device had and what would fit; and the check, at start,
// that the GPU libraries actually loaded are as new as the ones the build was made against (an
// older NCCL found first on the library path loads silently and crashes later, inside a step).
// Pure functions of their inputs, unit-tested on the CPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/device.h"

namespace uspdit::core {

// The bytes libtorch's allocator message says it tried to allocate ("Tried to allocate 2.50 GiB"
// on CUDA, "can't allocate memory: you tried to allocate 123 bytes" on the CPU); -1 if absent.
int64_t requested_bytes(const std::string& allocator_message);

// "1.5 GiB", "512 MiB".
std::string human_bytes(int64_t bytes);

// One line: "out of memory on cuda:3 in stage 'denoise': asked for 2.5 GiB with 1.2 GiB free of
// 80 GiB (71 GiB reserved by this process's caching allocator); to fit: <ways_out>".
std::string out_of_memory_line(const std::string& stage, const std::string& allocator_message,
                               const c10::Device& device, const DeviceMemory& memory,
                               const std::string& ways_out);

// A library version found at run time against the one the build needs.
struct LibraryVersion {
  std::string library;  // "NCCL", "CUDA driver", "cuDNN"
  int64_t found = 0;    // as the library encodes it (NCCL 22307 = 2.23.7, CUDA 12040 = 12.4)
  int64_t needed = 0;   // 0: nothing to check
  std::string fix;      // how to get a good one
};

// "NCCL 2.23.7" style rendering of an encoded version.
std::string version_string(const std::string& library, int64_t encoded);

// One message per library older than needed (empty when all are fine).
std::vector<std::string> version_problems(const std::vector<LibraryVersion>& versions);

}  // namespace uspdit::core
