// The NCCL type of a tensor dtype.
#pragma once

#include <c10/core/ScalarType.h>

#include "parallel/nccl/gpu_runtime.h"

namespace uspdit::parallel {

// Unlike MPI, NCCL reduces bf16 and fp16 natively. Throws std::invalid_argument for dtypes NCCL
// cannot carry (complex, quantised, ...).
ncclDataType_t nccl_dtype(at::ScalarType type);

}  // namespace uspdit::parallel
