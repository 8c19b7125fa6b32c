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
// --timeout SECONDS (default parallel::kDefaultCollectiveTimeoutSeconds, 300; 0: off): how long
// one collective may wait for the other ranks before the watchdog aborts the job
// (parallel/watchdog.h). Read by every multi-rank command before Runtime::start.
void read_collective_timeout(Args& args);

}  // namespace uspdit::cli
