// Writes named tensors as one .safetensors file, atomically: the bytes go to a temporary file
// beside the target, which is renamed over it only once complete, so a reader never sees half
// a file (and a crash leaves the old file, or none).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace uspdit::io {

// Tensors are written in the given order, on the CPU, contiguous, in their own dtype.
// Throws std::runtime_error naming the path when the file cannot be written.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors);

}  // namespace uspdit::io
