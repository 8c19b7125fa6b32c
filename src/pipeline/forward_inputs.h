// `uspdit forward`'s inputs: a DiT argument read from a safetensors file by its diffusers name.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "io/tensor_source.h"

namespace uspdit::pipeline {

// The tensor `name` as fp32 on `device`; undefined when optional and absent. A required one
// missing is a UsageError listing the names the families take.
at::Tensor forward_input(const io::TensorSource& source, const c10::Device& device, const std::string& name,
                         bool required = true);

}  // namespace uspdit::pipeline
