// Per-step and per-run time of a text-to-video run on a hardware profile, before running it:
// the DiT's GEMM and attention FLOPs counted from its shapes over the profile's achieved rates,
// the Ulysses all-to-all bytes (parallel/plan.h's formulas) over the links, exposed, and the Ring
// bytes overlapped with the attention they hide behind; the prediction's all-gather and CFG
// exchange, exposed; the text encoder (one rank) and the VAE
// decode (split across ranks) once per run. Weight loading is not counted (it depends on the
// disk, not the mesh).
#pragma once

#include <cstdint>

#include "parallel/mesh.h"
#include "planner/hardware_profiles.h"
#include "planner/model_profile.h"

namespace uspdit::planner {

struct Cluster {
  int gpus_per_node = 8;
  int nodes = 1;
};

struct TimeEstimate {
  double gemm_flops_per_step = 0;            // one rank
  double attention_flops_per_step = 0;       // one rank
  double elementwise_elements_per_step = 0;  // one rank (timed where the profile has a rate: the CPU)
  double compute_seconds = 0;                // per step
  double ulysses_seconds = 0;                // per step, exposed
  double ring_seconds = 0;                   // per step, before overlap
  double ring_exposed_seconds = 0;           // per step, what the attention does not hide
  double output_seconds = 0;  // per step, exposed: the prediction's all-gather and CFG exchange
  double step_seconds = 0;
  double text_seconds = 0;    // once per run
  double decode_seconds = 0;  // once per run
  double total_seconds = 0;   // text + steps × step + decode
};

TimeEstimate estimate_time(const ModelProfile& model, const RunShape& run,
                           const parallel::ParallelDegrees& mesh, const Cluster& cluster,
                           const HardwareProfile& hw);

// Bytes of the DiT's prediction for one sample of `video_tokens` as ranks exchange it (fp32),
// for PlanRequest.output_bytes.
double dit_output_bytes(const DitShape& dit, int64_t video_tokens);

// FLOPs to decode one output pixel with the model's VAE (its convolutions; tiled: the overlaps).
double vae_flops_per_pixel(const ModelProfile& model, const RunShape& run);

}  // namespace uspdit::planner
