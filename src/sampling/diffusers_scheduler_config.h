// A diffusers folder's scheduler/scheduler_config.json, read for what changes the numbers: which
// of the three flow schedulers a Wan -Diffusers folder can carry, its shift and the fields that
// select one sampling rule or another. What uspdit cannot reproduce exactly is refused.
#pragma once

#include <string>

#include "sampling/schedule.h"

namespace uspdit::sampling {

struct DiffusersSchedulerConfig {
  std::string class_name;         // "UniPCMultistepScheduler", ...
  Solver solver = Solver::unipc;  // unipc | dpmpp | euler
  double shift = 1.0;             // flow_shift (UniPC, DPM) or shift (Euler); the class default 1.0 if absent
  int num_train_timesteps = 1000;
  bool final_sigma_zero = true;  // final_sigmas_type "zero" (else UniPC's "sigma_min")
};

// Reads `path`. Every field that would make diffusers sample otherwise than diffusers_schedule() +
// the solvers of scheduler.h must hold a supported value, else UsageError "<path>: <class>
// <field> is <value>; uspdit reproduces ... (fix the field, or ... --schedule original)"; so must
// the class. Python's bare Infinity/NaN (diffusers writes them) are read as null.
DiffusersSchedulerConfig read_diffusers_scheduler_config(const std::string& path);

}  // namespace uspdit::sampling
