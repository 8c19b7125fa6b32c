// HunyuanVideo's flow-matching sampler: the schedule of the original repository's
// FlowMatchDiscreteScheduler (hyvideo/diffusion/schedulers/scheduling_flow_match_discrete.py) or of
// diffusers' FlowMatchEulerDiscreteScheduler as HunyuanVideoPipeline drives it, and the Euler step.
//
//   original   s = torch.linspace(1, 0, N+1) in fp32; σ = shift·s / (1 + (shift−1)·s) in fp32;
//              σ = 1 − σ unless flow_reverse; timesteps = σ[:-1]·1000 in fp32 (not truncated).
//   diffusers  s = numpy.linspace(1, 0, N+1)[:-1] in float64, cast to fp32; the same shift in fp32;
//              timesteps = σ·1000; then σ_N = 0 appended. It has no flow_reverse (its σ always runs
//              1 → 0), and where the two linspaces round differently the sigmas differ by 1-2 ulps
//              (N = 30, 50; identical for N = 1, 2; tests/data/sampling/hunyuan/meta.json).
//              diffusers also casts each step's result to the model output's dtype and its
//              pipeline feeds the DiT `t.to(latents.dtype)`: with a bf16 DiT the latents are bf16
//              from the first step on and so are the timesteps from the second on
//              (HvScheduleOptions::model_dtype).
//
// Step, original: x + v·(σ[i+1] − σ[i]) with x and v upcast to fp32 and the result kept fp32 (the
// reference's first sample is fp16 noise and its DiT outputs bf16). Step, diffusers: the same in
// fp32 (model_dtype fp32), else its `sample.float() + dt * model_output` (the product in the
// output's dtype: dt is a 0-dim tensor) rounded to model_dtype, returned as fp32 holding those
// model_dtype values.
#pragma once

#include <memory>
#include <string_view>

#include "sampling/schedule.h"
#include "sampling/scheduler.h"

namespace uspdit::sampling {

enum class HvScheduleKind { original, diffusers };

// "original" | "diffusers"; anything else throws UsageError naming both.
HvScheduleKind parse_hv_schedule(std::string_view name);
const char* hv_schedule_name(HvScheduleKind kind);

struct HvScheduleOptions {
  HvScheduleKind kind = HvScheduleKind::original;
  double shift = 7.0;   // --flow-shift
  bool reverse = true;  // --flow-reverse: σ runs 1 (noise) → 0 (data), as every official script runs it
  int num_train_timesteps = 1000;
  // diffusers only: the DiT's output dtype (its run dtype). Ignored by the original schedule.
  at::ScalarType model_dtype = at::kFloat;
};

// N + 1 sigmas and N timesteps, each the fp32 value the reference computes (held in doubles);
// the timesteps are what the DiT is fed (diffusers, model_dtype not fp32: the second on rounded
// to model_dtype).
// Throws UsageError for num_steps < 1, shift <= 0 or not finite, and for the diffusers schedule
// without reverse (diffusers has no flow_reverse=False).
FlowSchedule hv_flow_schedule(int num_steps, const HvScheduleOptions& options);

// Euler on hv_flow_schedule: x_{i+1} = fp32(x_i) + fp32(v_i)·(σ_{i+1} − σ_i), fp32 out. Same call
// contract as the other schedulers (steps in order, once each, one shape).
std::unique_ptr<Scheduler> make_hv_euler_scheduler(int num_steps, const HvScheduleOptions& options);

}  // namespace uspdit::sampling
