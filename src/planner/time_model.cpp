#include "planner/time_model.h"

#include <algorithm>
#include <cmath>

#include "parallel/plan.h"

namespace uspdit::planner {
namespace {

double ceil_div(double a, double b) {
  return std::ceil(a / b);
}

}  // namespace

double dit_output_bytes(const DitShape& dit, int64_t video_tokens) {
  return 4.0 * static_cast<double>(video_tokens) * static_cast<double>(dit.output_elements_per_token());
}

double vae_flops_per_pixel(const ModelProfile& model, const RunShape& run) {
  // 3×3×3 convolutions, 2·27·C² FLOPs per voxel each, about 7 per resolution stage (3 ResNet
  // blocks of 2 and the upsampler's): C at full resolution, 2C at 1/2, 4C at 1/4 and 1/8 (Wan
  // 2.1: 96/192/384/384; HunyuanVideo: 128/256/512/512), the low stages on 4× fewer pixels and,
  // below 1/2, half the frames.
  const double c = static_cast<double>(model.vae.full_res_channels);
  const double conv = 7 * 2 * 27.0;
  double flops =
      conv * c * c + conv * 4 * c * c / 4 + conv * 16 * c * c / 16 / 2 + conv * 16 * c * c / 64 / 4;
  if (run.vae_tiled) {
    // Overlapping tiles decode (tile / stride)² of the picture (and the release's temporal
    // overlap, 16 + 1 latents per 12).
    const double spatial = static_cast<double>(run.vae_tile) / run.vae_tile_stride;
    flops *=
        spatial * spatial * (model.vae.tile_frames > 0 && run.frames > model.vae.tile_frames ? 17.0 / 12 : 1);
  }
  return flops;
}

TimeEstimate estimate_time(const ModelProfile& model, const RunShape& run,
                           const parallel::ParallelDegrees& mesh, const Cluster& cluster,
                           const HardwareProfile& hw) {
  const DitShape& d = model.dit;
  const double P = mesh.sequence_parallel();
  const double batch = run.guided && mesh.cfg == 1 ? 2 : 1;
  const double video = static_cast<double>(run.video_tokens(d));
  const bool joint = d.text_attention == TextAttention::joint;
  const double attended = video + (joint ? d.text_len : 0);  // the sequence every attention sees
  const double tokens = batch * std::ceil(attended / P);     // this rank's share, per block
  const double h = static_cast<double>(d.hidden), f = static_cast<double>(d.ffn);
  const double text = static_cast<double>(d.text_len);
  const double layers = static_cast<double>(d.attention_layers());

  TimeEstimate t;
  double gemm = 0, attention = 0;
  if (joint) {
    // Double and single blocks: 4h² (q, k, v, out) + 2hf (MLP) weights per token; the token
    // refiner (2 blocks on the text) and the text projection, replicated on every rank.
    gemm = 2 * tokens * layers * (4 * h * h + 2 * h * f);
    gemm += 2 * batch * text * (2 * (4 * h * h + 2 * h * f) + d.text_dim * h);
    attention = 4 * batch * attended * attended * h / P * layers;
  } else {
    // Self-attention 4h², cross-attention q and out 2h², FFN 2hf per token; the cross-attention's
    // k and v of the text (2h² per text token) and the text embedding, replicated.
    gemm = 2 * tokens * layers * (6 * h * h + 2 * h * f);
    gemm += 2 * batch * text * (layers * 2 * h * h + d.text_dim * h + h * h);
    attention = 4 * batch * (video * video / P + tokens / batch * text) * h * layers;
  }
  t.gemm_flops_per_step = gemm;
  t.attention_flops_per_step = attention;
  const double attention_seconds = attention / hw.attention_rate();
  t.compute_seconds = gemm / hw.gemm_rate() + attention_seconds;
  // A block's elementwise passes per token: norms, modulation, gated residuals, q/k norms, RoPE,
  // casts around the GEMMs (about 37 of the hidden width) and the MLP's bias and GELU (2 of its
  // width), as counted in Wan's and HunyuanVideo's blocks. Timed where the profile measures their
  // rate (the CPU); GPU profiles fold them into the achieved fraction.
  t.elementwise_elements_per_step = tokens * layers * (37 * h + 2 * f);
  if (hw.elementwise_per_s > 0) t.compute_seconds += t.elementwise_elements_per_step / hw.elementwise_per_s;

  if (mesh.world() > 1) {
    parallel::PlanRequest q;
    q.heads = static_cast<int>(d.heads);
    q.head_dim = static_cast<int>(d.head_dim());
    q.layers = static_cast<int>(layers);
    q.seq_len = static_cast<int64_t>(attended);
    q.dtype_bytes = run.dit_bytes;
    q.gpus_per_node = cluster.gpus_per_node;
    q.nodes = cluster.nodes;
    q.cfg = run.guided;
    q.output_bytes = dit_output_bytes(d, run.video_tokens(d));
    const auto e = parallel::estimate_traffic(q, mesh);
    const double seconds = (e.per_step.intra_node / hw.intra_node_bytes_per_s +
                            e.per_step.inter_node / hw.inter_node_bytes_per_s) /
                           hw.link_efficiency;
    // Split the step's link time by bytes: the attention's Ulysses and Ring shares, and the
    // prediction's gather and exchange after the last block (nothing to hide behind).
    const double step_bytes = e.per_step.total();
    const double output_bytes = e.gather_bytes_per_step + e.cfg_exchange_bytes_per_step;
    const double attention_bytes = step_bytes - output_bytes;
    const double attention_link = step_bytes > 0 ? seconds * attention_bytes / step_bytes : 0;
    t.output_seconds = seconds - attention_link;
    const double per_call = e.ulysses_bytes_per_call + e.ring_bytes_per_call;
    const double ulysses_share = per_call > 0 ? e.ulysses_bytes_per_call / per_call : 0;
    t.ulysses_seconds = attention_link * ulysses_share;
    t.ring_seconds = attention_link - t.ulysses_seconds;
    t.ring_exposed_seconds = std::max(0.0, t.ring_seconds - attention_seconds);
  }
  t.step_seconds = t.compute_seconds + t.ulysses_seconds + t.ring_exposed_seconds + t.output_seconds;

  // Text: every prompt through every encoder on one rank (2 FLOPs per parameter and token).
  const double prompts = run.guided ? 2 : 1;
  for (const auto& e : model.text_encoders)
    t.text_seconds += 2.0 * e.params * e.tokens * prompts / hw.gemm_rate();
  // Decode: Wan's rows split across every rank; tiles dealt to the ranks (whole tiles); with
  // --serial-vae every rank decodes the whole video.
  const double pixels = static_cast<double>(run.frames) * run.height * run.width;
  double share = run.parallel_vae ? 1.0 / mesh.world() : 1.0;
  if (run.vae_tiled && run.parallel_vae) {
    const double stride_lat = static_cast<double>(run.vae_tile_stride) / d.vae_space;
    const double tiles = ceil_div(run.latent_height(d), stride_lat) *
                         ceil_div(run.latent_width(d), stride_lat) *
                         (model.vae.tile_frames > 0 ? ceil_div(run.frames, model.vae.tile_frames - 17) : 1);
    share = ceil_div(tiles, mesh.world()) / tiles;
  }
  t.decode_seconds = vae_flops_per_pixel(model, run) * pixels * share / hw.vae_rate();
  t.total_seconds = t.text_seconds + run.steps * t.step_seconds + t.decode_seconds;
  return t;
}

}  // namespace uspdit::planner
