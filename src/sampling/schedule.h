// Flow-matching noise schedules as Wan 2.1 lays them out (wan/text2video.py), and solver names.
// No tensors here: a schedule is a few dozen numbers every rank computes identically.
#pragma once

#include <string_view>
#include <vector>

namespace uspdit::sampling {

enum class Solver { unipc, euler, dpmpp };

// "unipc" | "euler" | "dpm++" (also "dpmpp"); anything else throws UsageError listing them.
Solver parse_solver(std::string_view name);
const char* solver_name(Solver solver);  // "unipc", "euler", "dpm++"

// Whose sampling a run reproduces: Wan's generate.py (the original release's schedules, below) or
// diffusers' WanPipeline with the scheduler a -Diffusers folder carries (diffusers_schedule.h).
enum class ScheduleReference { original, diffusers };

// "original" | "diffusers"; anything else throws UsageError listing them.
ScheduleReference parse_schedule_reference(std::string_view name);
const char* schedule_reference_name(ScheduleReference reference);

struct FlowSchedule {
  // N + 1 noise levels, decreasing, last 0. Each is the fp32 value the solver computes with
  // (Wan casts its schedule to float32), held in a double.
  std::vector<double> sigmas;
  // N model timesteps exactly as the model receives them: int64(σ · num_train_timesteps), σ the
  // float64 value before the fp32 cast (truncation, not rounding), held in a double.
  std::vector<double> timesteps;
};

// Wan's UniPC schedule (FlowUniPCMultistepScheduler(shift=1).set_timesteps(N, shift)):
// σ = linspace(σ_max, 0, N+1)[:-1] with σ_max = fp32(1 − 1/num_train_timesteps) = 0.99900001,
// shifted s·σ/(1 + (s−1)·σ) in float64, then a final 0. Used by unipc and euler.
// Throws UsageError for num_steps < 1, shift ≤ 0 (or not finite), num_train_timesteps < 2.
FlowSchedule wan_flow_schedule(int num_steps, double shift, int num_train_timesteps = 1000);

// Wan's dpm++ schedule (fm_solvers.get_sampling_sigmas): the same but σ = linspace(1, 0, N+1)[:N],
// so it starts at exactly σ = 1 (timestep 1000). Same errors.
FlowSchedule wan_dpmpp_schedule(int num_steps, double shift, int num_train_timesteps = 1000);

// The schedule `solver` samples with in Wan (dpmpp: wan_dpmpp_schedule, else wan_flow_schedule).
FlowSchedule schedule_for(Solver solver, int num_steps, double shift, int num_train_timesteps = 1000);

}  // namespace uspdit::sampling
