#include "models/wan/wan_model.h"

#include <ATen/ATen.h>

#include <vector>

#include "attention/local_attention.h"
#include "attention/usp.h"
#include "cache/step_cache.h"
#include "core/error.h"
#include "core/where.h"
#include "nn/rope3d.h"
#include "parallel/sequence_gather.h"
#include "parallel/sequence_split.h"

namespace uspdit::models::wan {
namespace {

// [B, S, dim] -> [B, S, heads, head_dim]
at::Tensor split_heads(const at::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads});
}

at::Tensor merge_heads(const at::Tensor& x) {
  return x.reshape({x.size(0), x.size(1), x.size(2) * x.size(3)});
}

}  // namespace

WanModel::WanModel(WanConfig config, WanWeights weights) : config_(config), w_(std::move(weights)) {}

at::Tensor WanModel::block(const WanBlockWeights& blk, at::Tensor x, const at::Tensor& e0,
                           const at::Tensor& context, parallel::ProcessMesh& mesh, const nn::RopeTable& rope,
                           const parallel::SequenceSplit& split) const {
  const auto& c = config_;
  const auto dtype = w_.patch_weight.scalar_type();
  const int64_t heads = c.num_heads;
  auto mod = (blk.modulation.to(at::kFloat) + e0).chunk(6, 1);  // each [B, 1, dim]
  const auto &shift = mod[0], &scale = mod[1], &gate = mod[2], &c_shift = mod[3], &c_scale = mod[4],
             &c_gate = mod[5];

  // Self-attention over the whole (sharded) video sequence.
  auto y = nn::modulate(nn::layer_norm_fp32(x, c.eps), shift, scale).to(dtype);
  const auto& sa = blk.self_attn;
  auto q = split_heads(nn::rms_norm(nn::linear(y, sa.q), sa.norm_q, c.eps), heads);
  auto k = split_heads(nn::rms_norm(nn::linear(y, sa.k), sa.norm_k, c.eps), heads);
  auto v = split_heads(nn::linear(y, sa.v), heads);
  q = nn::apply_rope_interleaved(q, rope);
  k = nn::apply_rope_interleaved(k, rope);
  auto attn = attention::usp_attention(mesh, q.contiguous(), k.contiguous(), v.contiguous(), split, nullptr);
  x = x + nn::linear(merge_heads(attn.out), sa.o).to(at::kFloat) * gate;

  // Cross-attention to the replicated text: local, no communication.
  const auto& ca = blk.cross_attn;
  auto yc = nn::layer_norm_fp32(x, c.eps, blk.norm3_weight, blk.norm3_bias).to(dtype);
  auto cq = split_heads(nn::rms_norm(nn::linear(yc, ca.q), ca.norm_q, c.eps), heads);
  auto ck = split_heads(nn::rms_norm(nn::linear(context, ca.k), ca.norm_k, c.eps), heads);
  auto cv = split_heads(nn::linear(context, ca.v), heads);
  auto cross = attention::attention(cq, ck, cv);
  x = x + nn::linear(merge_heads(cross), ca.o).to(at::kFloat);

  // Feed-forward.
  auto yf = nn::modulate(nn::layer_norm_fp32(x, c.eps), c_shift, c_scale).to(dtype);
  auto ff = nn::linear(nn::gelu_tanh(nn::linear(yf, blk.ffn_in)), blk.ffn_out);
  x = x + ff.to(at::kFloat) * c_gate;
  return x;
}

at::Tensor WanModel::forward(parallel::ProcessMesh& mesh, const WanInputs& in) const {
  const auto& c = config_;
  const auto& x_in = in.hidden_states;
  require(
      x_in.dim() == 5 && x_in.size(1) == c.in_dim,
      "hidden_states must be [B, " + std::to_string(c.in_dim) + ", F, H, W], got " + c10::str(x_in.sizes()));
  require(x_in.size(2) % c.patch[0] == 0 && x_in.size(3) % c.patch[1] == 0 && x_in.size(4) % c.patch[2] == 0,
          "hidden_states " + c10::str(x_in.sizes()) + " is not divisible by the patch size");
  const int64_t B = x_in.size(0);
  require(in.timestep.numel() == B, "timestep must have one value per batch row");
  require(in.encoder_hidden_states.dim() == 3 && in.encoder_hidden_states.size(0) == B &&
              in.encoder_hidden_states.size(2) == c.text_dim,
          "encoder_hidden_states must be [B, L, " + std::to_string(c.text_dim) + "], got " +
              c10::str(in.encoder_hidden_states.sizes()));
  const auto dtype = w_.patch_weight.scalar_type();
  const int64_t f = x_in.size(2) / c.patch[0], h = x_in.size(3) / c.patch[1], w = x_in.size(4) / c.patch[2];
  const int64_t tokens = f * h * w;

  // Patch embedding on the whole latent, then this rank's chunk of the t-h-w ordered tokens.
  auto patches =
      at::conv3d(x_in.to(dtype), w_.patch_weight, w_.patch_bias, {c.patch[0], c.patch[1], c.patch[2]});
  auto all_tokens = patches.flatten(2).transpose(1, 2);  // [B, S, dim]
  const int sp = mesh.degrees().sequence_parallel();
  const auto split = parallel::SequenceSplit::even(tokens, sp);
  const int chunk = mesh.sequence_chunk();
  auto x = parallel::take_chunk(all_tokens, 1, split, chunk).to(at::kFloat).contiguous();
  const auto rope = nn::make_rope_3d(f, h, w, nn::wan_rope_split(c.head_dim()), c.rope_theta, x_in.device())
                        .rows(split.offsets[chunk], split.lengths[chunk]);

  // Conditioning (fp32): e for the head, e0 = six modulation vectors per block.
  auto t_emb = nn::timestep_embedding(in.timestep.reshape({B}), c.freq_dim);
  auto e = nn::linear(at::silu(nn::linear(t_emb, w_.time_in)), w_.time_out);
  auto e0 = nn::linear(at::silu(e), w_.time_projection).view({B, 6, c.dim});
  auto context = nn::linear(nn::gelu_tanh(nn::linear(in.encoder_hidden_states, w_.text_in)), w_.text_out);

  // Blocks [first, last) on the batch rows `rows` of x (all rows: the inputs as they are).
  const auto run_blocks = [&](const at::Tensor& x_rows, const std::vector<int64_t>& rows, int first,
                              int last) {
    const bool all = static_cast<int64_t>(rows.size()) == B;
    const auto index = all ? at::Tensor() : at::tensor(rows, at::kLong).to(x_rows.device());
    const auto e0_rows = all ? e0 : e0.index_select(0, index);
    const auto context_rows = all ? context : context.index_select(0, index);
    auto y = x_rows;
    for (int b = first; b < last; ++b) {
      where::set_block(b);  // for the watchdog's line (parallel/watchdog.h)
      y = block(w_.blocks[static_cast<size_t>(b)], y, e0_rows, context_rows, mesh, rope, split);
    }
    return y;
  };
  const int layers = static_cast<int>(w_.blocks.size());
  if (in.cache) {
    const bool projection = in.cache->config().indicator == cache::TeaIndicator::timestep_projection;
    x = in.cache->run(x, {layers, run_blocks, [&] { return projection ? e0 : e; }, false}, mesh.sequence());
  } else {
    std::vector<int64_t> rows(static_cast<size_t>(B));
    for (int64_t r = 0; r < B; ++r) rows[static_cast<size_t>(r)] = r;
    x = run_blocks(x, rows, 0, layers);
  }

  auto head_mod = (w_.head_modulation.to(at::kFloat) + e.unsqueeze(1)).chunk(2, 1);
  auto out =
      nn::linear(nn::modulate(nn::layer_norm_fp32(x, c.eps), head_mod[0], head_mod[1]).to(dtype), w_.head);
  auto all_out = parallel::gather_sequence(mesh.sequence(), out.to(at::kFloat).contiguous(),
                                           split);  // [B, S, pt·ph·pw·C]

  // Unpatchify: token (f, h, w) holds (pt, ph, pw, C) with channel innermost.
  const auto [pt, ph, pw] = c.patch;
  return all_out.view({B, f, h, w, pt, ph, pw, c.out_dim})
      .permute({0, 7, 1, 4, 2, 5, 3, 6})
      .reshape({B, c.out_dim, f * pt, h * ph, w * pw});
}

}  // namespace uspdit::models::wan
