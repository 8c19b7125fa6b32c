// Every tensor of a Wan 2.1 DiT: its engine name, its shape for a config, and whether it stays
// fp32 whatever the run's dtype (norms, modulation, time embedding — the reference's rules).
// The loader checks checkpoints against this list; the random initialiser fills it; both then
// assemble WanWeights from the same name → tensor map.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "models/common/tensor_spec.h"
#include "models/wan/wan_config.h"
#include "models/wan/wan_weights.h"

namespace uspdit::models::wan {

using models::TensorSpec;

std::vector<TensorSpec> wan_tensor_specs(const WanConfig& config);

// Builds WanWeights from a complete map (every spec present, right shape and dtype).
WanWeights assemble_wan_weights(const WanConfig& config, std::map<std::string, at::Tensor> tensors);

// Seeded random weights in the real layout (for benchmarks and parallel-invariance tests).
WanWeights random_wan_weights(const WanConfig& config, at::ScalarType dtype, uint64_t seed, c10::Device device);

}  // namespace uspdit::models::wan
