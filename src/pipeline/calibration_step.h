// The CPU calibration's real block (planner/cpu_calibration.h): a random-weight Wan 2.1 model of
// the calibration's widths and shape, built by the Wan family as `uspdit bench dit` builds it, and
// one denoising step of it timed on this process alone (a one-rank mesh, no MPI).
#pragma once

#include "planner/cpu_calibration.h"

namespace uspdit::pipeline {

// dtype_bytes: 2 (bf16) or 4 (fp32), the dtype being calibrated.
planner::StepTimer calibration_step_timer(int dtype_bytes);

}  // namespace uspdit::pipeline
