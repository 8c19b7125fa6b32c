// Run dtypes by their command-line names.
#pragma once

#include <c10/core/ScalarType.h>

#include <string>

namespace uspdit {

// "fp32"/"float32", "bf16"/"bfloat16", "fp16"/"float16". Throws UsageError otherwise.
at::ScalarType parse_dtype(const std::string& name);

// The command-line name of a run dtype ("fp32", "bf16", "fp16"); other types by c10's name.
std::string dtype_name(at::ScalarType dtype);

}  // namespace uspdit
