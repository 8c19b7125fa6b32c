// The flow-matching schedules diffusers (0.42.1) lays out for a Wan -Diffusers folder's
// scheduler: set_timesteps(N) of UniPCMultistepScheduler / DPMSolverMultistepScheduler with
// use_flow_sigmas, and FlowMatchEulerDiscreteScheduler. They differ from Wan's own (schedule.h):
// diffusers spaces the unshifted sigmas from 1 down to 1/num_train_timesteps, Wan from 0.999 to 0,
// so the model sees other timesteps (999/857/600 against 999/856/599 for 3 steps at shift 3).
// The solvers' arithmetic is the same in both (scheduler.h); only the points differ.
#pragma once

#include "sampling/schedule.h"

namespace uspdit::sampling {

// unipc  σ_k = linspace(1, 1/T, N+1)[k] for k < N, shifted s·σ/(1 + (s−1)·σ) in float64; a first
//        σ within 1e-6 of 1 is lowered by 1e-6 (diffusers avoids log(0) so); timesteps
//        int64(σ·T); last σ 0 (final_sigma_zero) or the last shifted σ (final_sigmas_type
//        "sigma_min"); sigmas cast to float32.
// dpmpp  σ = flip(shift(1 − linspace(1, 1/T, N+1)))[:-1] (from shift(1 − 1/T) down); timesteps
//        int64(σ·T); last σ 0. final_sigma_zero must be true.
// euler  FlowMatchEulerDiscreteScheduler(shift): its float32 training sigmas, shifted, give
//        σ_max and σ_min; linspace(σ_max·T, σ_min·T, N) / T shifted again (diffusers applies the
//        shift in both places), cast to float32; timesteps = σ_f32·T in float32 (not integers);
//        last σ 0. final_sigma_zero must be true.
// Throws UsageError for num_steps < 1, shift ≤ 0, num_train_timesteps < 2.
FlowSchedule diffusers_schedule(Solver solver, int num_steps, double shift, int num_train_timesteps = 1000,
                                bool final_sigma_zero = true);

}  // namespace uspdit::sampling
