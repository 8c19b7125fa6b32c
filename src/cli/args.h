// Command-line flags (core/args.h) and the flags every tensor-running command shares.
#pragma once

#include "core/args.h"
#include "core/device.h"
#include "parallel/runtime.h"

namespace uspdit::cli {

using Args = core::Args;

// --device auto|cuda|cpu (default auto: the GPU when one is visible), read by every command
// that runs tensors.
core::DeviceRequest device_request(Args& args);
// --comm auto|nccl|host-staged (default: $USPDIT_COMM, else auto).
parallel::CommBackend comm_backend(Args& args);

}  // namespace uspdit::cli
