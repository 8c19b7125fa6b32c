// Run dtypes by their command-line names.
#pragma once

#include <c10/core/ScalarType.h>

#include <string>

namespace uspdit {

// "fp32"/"float32", "bf16"/"bfloat16", "fp16"/"float16". Throws UsageError otherwise.
at::ScalarType parse_dtype(const std::string& name);

}  // namespace uspdit
