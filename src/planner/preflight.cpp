#include "planner/preflight.h"

#include <vector>

namespace uspdit::planner {
namespace {

int64_t peak_for(const PreflightRequest& q, const RunShape& run, const parallel::ParallelDegrees& mesh) {
  return estimate_memory(q.model, run, mesh, q.runtime_bytes).peak();
}

std::string mesh_flags(const parallel::ParallelDegrees& d) {
  return "--ulysses-degree " + std::to_string(d.ulysses) + " --ring-degree " + std::to_string(d.ring) +
         (d.cfg == 2 ? " --use_cfg_parallel" : "");
}

// The cheapest way to fit first: another mesh on the same ranks, then options, then more ranks.
std::vector<std::string> ways_to_fit(const PreflightRequest& q) {
  std::vector<std::string> ways;
  const int world = q.mesh.world();
  const int heads = static_cast<int>(q.model.dit.heads);
  for (const auto& d : parallel::valid_degrees(world, heads, q.run.guided)) {
    if (d.ulysses == q.mesh.ulysses && d.ring == q.mesh.ring && d.cfg == q.mesh.cfg) continue;
    const int64_t peak = peak_for(q, q.run, d);
    if (peak <= q.limit_bytes) {
      ways.push_back(mesh_flags(d) + " (" + gib(peak) + ")");
      break;
    }
  }
  auto option = [&](bool applies, const std::string& flags, auto&& change) {
    if (!applies) return;
    RunShape run = q.run;
    change(run);
    const int64_t peak = peak_for(q, run, q.mesh);
    if (peak <= q.limit_bytes) ways.push_back(flags + " (" + gib(peak) + ")");
  };
  option(q.run.dit_bytes > 2, "bf16 DiT (--dtype bf16 / --precision bf16)",
         [](RunShape& r) { r.dit_bytes = 2; });
  option(q.run.text_bytes > 2, "bf16 text encoder (--text-dtype bf16 / --text-encoder-precision fp16)",
         [](RunShape& r) { r.text_bytes = 2; });
  option(!q.run.offload_dit_for_decode, "--offload_model True (HunyuanVideo: --use-cpu-offload)",
         [](RunShape& r) { r.offload_dit_for_decode = true; });
  option(!q.run.vae_tiled, "a tiled VAE decode (--enable_tiling / --vae-tiling true)",
         [](RunShape& r) { r.vae_tiled = true; });
  option(!q.on_host && !q.run.text_encoder_on_host, "--t5_cpu (the text encoder in host memory)",
         [](RunShape& r) { r.text_encoder_on_host = true; });
  option(q.run.text_encoder_on_every_rank, "without --text-encoder-on-every-rank",
         [](RunShape& r) { r.text_encoder_on_every_rank = false; });
  // More ranks: the smallest multiple of this job whose best mesh fits.
  for (int more = world * 2; more <= world * 64; more *= 2) {
    int64_t best = -1;
    parallel::ParallelDegrees best_mesh;
    for (const auto& d : parallel::valid_degrees(more, heads, q.run.guided)) {
      const int64_t peak = peak_for(q, q.run, d);
      if (best < 0 || peak < best) best = peak, best_mesh = d;
    }
    if (best >= 0 && best <= q.limit_bytes) {
      ways.push_back(std::to_string(more) + " ranks with " + mesh_flags(best_mesh) + " (" + gib(best) + ")");
      break;
    }
  }
  return ways;
}

}  // namespace

PreflightResult preflight(const PreflightRequest& q) {
  PreflightResult r;
  r.estimate = estimate_memory(q.model, q.run, q.mesh, q.runtime_bytes);
  const auto& e = r.estimate;
  const bool rank0 = e.peak_rank0 >= e.peak_other;
  const std::string others = q.mesh.world() > 1 ? ", other ranks " + gib(e.peak_other) : "";
  r.summary = "predicted peak " + gib(e.peak()) + " per rank (" + (rank0 ? "rank 0" : "ranks > 0") + ", " +
              e.peak_stage + others + "; weights: DiT " + gib(e.dit_weights) + ", text " +
              gib(e.text_weights) + ", VAE " + gib(e.vae_weights) + "; runtime " + gib(e.runtime_bytes) +
              ") of " + gib(q.limit_bytes) + " (" + q.limit_from + ")";
  r.fits = e.peak() <= q.limit_bytes;
  if (r.fits) return r;
  std::string fits;
  for (const auto& way : ways_to_fit(q)) fits += (fits.empty() ? "" : "; ") + way;
  r.refusal =
      "not enough memory for this run: " + r.summary + ". Would fit: " +
      (fits.empty() ? "nothing this planner knows of (a smaller --height/--width/frame count)" : fits) +
      ". --max-memory-gib X sets what a rank may use; --skip-memory-check runs anyway";
  return r;
}

}  // namespace uspdit::planner
