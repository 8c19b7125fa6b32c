// Which sampling a Wan run reproduces, and why: the checkpoint folder decides (a -Diffusers
// folder samples as diffusers' WanPipeline does with its scheduler/scheduler_config.json, an
// original folder as Wan's generate.py does), --schedule picks the other, --sample_solver /
// --sample_shift / --sample_steps override, and the start-up log says where each came from.
#pragma once

#include <optional>
#include <string>

#include "pipeline/model_defaults.h"
#include "pipeline/wan_t2v_request.h"
#include "sampling/schedule.h"

namespace uspdit::pipeline {

// What the user gave on the command line (nullopt: not given).
struct WanSamplingFlags {
  std::optional<std::string> schedule;  // --schedule diffusers|original
  std::optional<std::string> solver;    // --sample_solver
  std::optional<double> shift;          // --sample_shift
  std::optional<int> steps;             // --sample_steps
};

struct WanSamplingChoice {
  sampling::ScheduleReference reference = sampling::ScheduleReference::original;
  sampling::Solver solver = sampling::Solver::unipc;
  double shift = 5.0;
  int steps = 50;
  int num_train_timesteps = 1000;
  bool final_sigma_zero = true;
  // "flag", "folder" or "default" (with what in the folder, e.g. "folder: flow_shift" or
  // "folder: generate_defaults.json").
  std::string reference_from, solver_from, shift_from, steps_from;

  // "sampling: reference diffusers (folder: diffusers layout), solver unipc (folder:
  // UniPCMultistepScheduler), shift 3 (folder: flow_shift), 50 steps (default)"
  std::string log_line() const;
  void apply(WanT2vRequest& request) const;
};

// `ckpt_dir` of `layout`. Following diffusers, ckpt_dir/scheduler/scheduler_config.json (when it
// exists) gives solver and shift; following the original, generate.py's defaults do. Defaults
// where neither folder nor flag says: unipc, shift 5 (generate.py's), 50 steps.
// The folder's generate_defaults.json (model_defaults.h), when it has one, comes between the
// scheduler config and the flags.
// Throws UsageError for a bad flag value or a scheduler config diffusers' reference cannot follow.
WanSamplingChoice choose_wan_sampling(const std::string& ckpt_dir, const std::string& layout,
                                      const WanSamplingFlags& flags, const ModelDefaults& defaults = {});

}  // namespace uspdit::pipeline
