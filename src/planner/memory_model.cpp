#include "planner/memory_model.h"

#include <algorithm>
#include <cstdio>

namespace uspdit::planner {
namespace {

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

int64_t bytes(double value) {
  return static_cast<int64_t>(value);
}

// Rank 0 holds one more token than the last rank when the split is uneven: the estimate is for
// the fullest rank.
int64_t share(int64_t total, int64_t parts) {
  return ceil_div(total, std::max<int64_t>(parts, 1));
}

}  // namespace

int64_t tokens_per_rank(const ModelProfile& model, const RunShape& run,
                        const parallel::ParallelDegrees& mesh) {
  const int64_t sp = mesh.sequence_parallel();
  const int64_t batch = run.guided && mesh.cfg == 1 ? 2 : 1;
  int64_t tokens = share(run.video_tokens(model.dit), sp);
  if (model.dit.text_attention == TextAttention::joint) tokens += share(model.dit.text_len, sp);
  return tokens * batch;
}

MemoryEstimate estimate_memory(const ModelProfile& model, const RunShape& run,
                               const parallel::ParallelDegrees& mesh, int64_t runtime_bytes,
                               const ActivationFactors& f) {
  const DitShape& d = model.dit;
  MemoryEstimate m;
  m.runtime_bytes = runtime_bytes;
  m.vae_weights = model.vae.params * run.vae_bytes;
  m.dit_weights = d.params * run.dit_bytes;
  for (const auto& t : model.text_encoders) m.text_weights += t.params * run.text_bytes;
  // Loading: the first encoder's largest tensor (its embedding, first in the file) is resident
  // twice while it is read (the file's pages and the copy), before the rest arrives.
  const int64_t text_loading =
      model.text_encoders.empty() ? 0 : 2 * model.text_encoders.front().largest_tensor * run.text_bytes;

  // Text encoding: every prompt one at a time (the pipeline's loop), so one prompt's hidden
  // states, attention and gated MLP; the encoded states (fp32) of both prompts stay.
  const int64_t prompts = run.guided ? 2 : 1;
  int64_t text_peak_act = 0;
  for (const auto& t : model.text_encoders) {
    text_peak_act = std::max(text_peak_act, t.tokens * (3 * t.ffn + 8 * t.hidden) * run.text_bytes);
  }
  const int64_t embeddings = prompts * d.text_len * d.text_dim * 4;
  m.text_activations = text_peak_act + embeddings;

  // The DiT step, one block at its peak: the attention (Q, K, V, the all-to-all's buffers, the
  // output and its return exchange) or the MLP (its hidden width, the activation, and for a
  // single-stream block the fused input), never both; the fp32 residual stream around them.
  // Text conditioning: the broadcast states (fp32) and, for cross-attention, its K and V.
  const int64_t n = tokens_per_rank(model, run, mesh);
  const int64_t batch = run.guided && mesh.cfg == 1 ? 2 : 1;
  const double attention = static_cast<double>(n) * d.hidden * f.dit_attention * run.dit_bytes;
  const double mlp = static_cast<double>(n) * d.ffn * f.dit_mlp_hidden * run.dit_bytes;
  const double residual = static_cast<double>(n) * d.hidden * f.dit_residual_fp32 * 4;
  double text_in_dit = static_cast<double>(batch) * d.text_len * d.text_dim * 4;
  if (d.text_attention == TextAttention::cross)
    text_in_dit += 3.0 * batch * d.text_len * d.hidden * run.dit_bytes;
  // The sampler's fp32 latents, noise, prediction and its state.
  const double latents =
      6.0 * batch * d.latent_channels * run.latent_frames(d) * run.latent_height(d) * run.latent_width(d) * 4;
  m.dit_activations = bytes(std::max(attention, mlp) + residual + text_in_dit + latents);

  // The decode: Wan's causal decoder runs one latent frame (4 video frames) over this rank's
  // band of rows; HunyuanVideo's decodes one tile (256 px, 65 frames in the release) at a time,
  // or the whole video in one call untiled. Every rank ends with the whole fp32 video and its
  // received parts.
  double pixels = 0;
  if (model.vae.decode == VaeDecode::causal_frames && !run.vae_tiled) {
    // Each band also holds its neighbours' halo rows: 16 output rows a side (the 3×3
    // convolutions of every resolution stage, in output pixels), measured in bench/plan_model.md.
    const int64_t ranks =
        run.parallel_vae ? std::min<int64_t>(mesh.world(), std::max<int64_t>(1, run.latent_height(d))) : 1;
    const int64_t halo = ranks > 2 ? 32 : ranks == 2 ? 16 : 0;
    const int64_t rows = std::min(run.height, share(run.height, ranks) + halo);
    pixels = static_cast<double>(d.vae_time) * rows * run.width;
  } else if (run.vae_tiled) {
    const int64_t frames =
        model.vae.tile_frames > 0 ? std::min(model.vae.tile_frames, run.frames) : d.vae_time;
    pixels =
        static_cast<double>(std::min(run.vae_tile, run.height)) * std::min(run.vae_tile, run.width) * frames;
  } else {
    pixels = static_cast<double>(run.frames) * run.height * run.width;
  }
  m.decode_activations = bytes(pixels * model.vae.full_res_channels * run.vae_bytes * model.vae.live_tensors);
  m.video_bytes = 2 * 3 * run.frames * run.height * run.width * 4;

  const bool all_encode = run.text_encoder_on_every_rank || mesh.world() == 1;
  const int64_t text_stage =
      run.text_encoder_on_host ? 0 : std::max(m.text_weights + m.text_activations, text_loading);
  const int64_t dit_in_decode = run.offload_dit_for_decode ? 0 : m.dit_weights;
  m.stages = {
      {"load_vae", m.vae_weights, m.vae_weights},
      {"encode_text", m.vae_weights + text_stage, m.vae_weights + (all_encode ? text_stage : embeddings)},
      {"load_dit", m.vae_weights + m.dit_weights + embeddings, m.vae_weights + m.dit_weights + embeddings},
      {"denoise", m.vae_weights + m.dit_weights + m.dit_activations,
       m.vae_weights + m.dit_weights + m.dit_activations},
      {"decode", m.vae_weights + dit_in_decode + m.decode_activations + m.video_bytes,
       m.vae_weights + dit_in_decode + m.decode_activations + m.video_bytes},
  };
  const StageMemory* top0 = &m.stages[0];
  const StageMemory* top_other = &m.stages[0];
  for (const auto& s : m.stages) {
    if (s.rank0 > top0->rank0) top0 = &s;
    if (s.other > top_other->other) top_other = &s;
  }
  m.peak_rank0 = runtime_bytes + top0->rank0;
  m.peak_other = mesh.world() > 1 ? runtime_bytes + top_other->other : 0;
  m.peak_stage = m.peak_rank0 >= m.peak_other ? top0->stage : top_other->stage;
  return m;
}

std::string gib(int64_t value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GiB", static_cast<double>(value) / (1LL << 30));
  return text;
}

}  // namespace uspdit::planner
