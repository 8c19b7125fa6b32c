#include "models/hunyuan_video/hv_model.h"

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

namespace uspdit::models::hunyuan_video {
namespace {

struct Qkv {
  at::Tensor q, k, v;  // [B, S, heads, head_dim]
};

// A fused projection's output [B, S, 3·heads·head_dim], laid out (q|k|v) × heads × head_dim.
Qkv split_qkv(const at::Tensor& fused, int64_t heads) {
  const int64_t B = fused.size(0), S = fused.size(1), hd = fused.size(2) / (3 * heads);
  auto parts = fused.view({B, S, 3, heads, hd}).unbind(2);
  return {parts[0], parts[1], parts[2]};
}

at::Tensor merge_heads(const at::Tensor& x) {
  return x.reshape({x.size(0), x.size(1), x.size(2) * x.size(3)});
}

at::Tensor mlp_silu(const at::Tensor& x, const MlpWeights& m) {
  return nn::linear(at::silu(nn::linear(x, m.in)), m.out);
}

at::Tensor mlp_gelu(const at::Tensor& x, const MlpWeights& m) {
  return nn::linear(nn::gelu_tanh(nn::linear(x, m.in)), m.out);
}

// Linear(256 → h) · SiLU · Linear(h → h) on a sinusoidal embedding of `values` (fp32 arguments,
// as the reference computes them).
at::Tensor embed_scalar(const at::Tensor& values, const nn::Linear& in, const nn::Linear& out) {
  return nn::linear(at::silu(nn::linear(nn::timestep_embedding(values, 256, 10000.0, at::kFloat), in)), out);
}

}  // namespace

HvModel::HvModel(HvConfig config, HvWeights weights) : config_(config), w_(std::move(weights)) {}

at::Tensor HvModel::conditioning(const HvInputs& in) const {
  auto vec =
      embed_scalar(in.timestep, w_.time_in, w_.time_out).to(at::kFloat) +
      nn::linear(at::silu(nn::linear(in.pooled_projections, w_.vector_in)), w_.vector_out).to(at::kFloat);
  if (config_.guidance_embed) {
    require(in.guidance.defined(),
            "this HunyuanVideo model embeds guidance: the inputs need `guidance` (scale · 1000)");
    vec = vec + embed_scalar(in.guidance, w_.guidance_in, w_.guidance_out).to(at::kFloat);
  }
  return vec;  // [B, hidden]
}

at::Tensor HvModel::refine_text(const at::Tensor& text, const at::Tensor& valid, const at::Tensor& timestep,
                                parallel::Communicator& group) const {
  const auto& c = config_;
  const auto dtype = w_.txt_input.weight.scalar_type();
  // Conditioning of the refiner: its own timestep MLP plus the masked mean of the text (fp32).
  auto validf = valid.to(at::kFloat).unsqueeze(-1);
  auto mean = (text.to(at::kFloat) * validf).sum(1) / validf.sum(1).clamp_min(1.0);
  auto cond = embed_scalar(timestep, w_.txt_t_in, w_.txt_t_out).to(at::kFloat) +
              nn::linear(at::silu(nn::linear(mean, w_.txt_c_in)), w_.txt_c_out).to(at::kFloat);
  auto cond_act = at::silu(cond);
  // This rank's rows of the text; every row-wise step below runs on them only.
  const auto rows = parallel::SequenceSplit::even(text.size(1), group.size());
  const int mine = group.rank();
  auto x = nn::linear(parallel::take_chunk(text, 1, rows, mine), w_.txt_input).to(at::kFloat);
  const auto row_valid =
      parallel::take_chunk(valid, 1, rows, mine).unsqueeze(-1).unsqueeze(-1);  // [B, Lc, 1, 1]
  for (const auto& r : w_.refiner) {
    auto gates = nn::linear(cond_act, r.modulation).to(at::kFloat).unsqueeze(1).chunk(2, -1);
    auto qkv = split_qkv(
        nn::linear(nn::layer_norm_fp32(x, c.eps, r.norm1_weight, r.norm1_bias).to(dtype), r.qkv), c.heads);
    at::Tensor k = qkv.k, v = qkv.v;
    if (group.size() > 1) {
      k = parallel::gather_sequence(group, qkv.k.contiguous(), rows);
      v = parallel::gather_sequence(group, qkv.v.contiguous(), rows);
    }
    // Real rows attend to the real keys; padded rows attend to key 0 only (the reference's
    // mask: row-valid × key-valid, with key 0 always allowed), i.e. they take v[0].
    auto attn = attention::attention(qkv.q, k, v, valid);
    attn = at::where(row_valid, attn, v.narrow(1, 0, 1).expand_as(attn));
    x = x + gates[0] * nn::linear(merge_heads(attn), r.proj).to(at::kFloat);
    x = x + gates[1] * mlp_silu(nn::layer_norm_fp32(x, c.eps, r.norm2_weight, r.norm2_bias).to(dtype), r.mlp)
                           .to(at::kFloat);
  }
  return group.size() > 1 ? parallel::gather_sequence(group, x.contiguous(), rows)
                          : x;  // [B, L, hidden] fp32
}

at::Tensor HvModel::forward(parallel::ProcessMesh& mesh, const HvInputs& in,
                            const std::string& joint_strategy) const {
  const auto& c = config_;
  const auto& x_in = in.hidden_states;
  require(x_in.dim() == 5 && x_in.size(1) == c.in_channels, "hidden_states must be [B, " +
                                                                std::to_string(c.in_channels) +
                                                                ", F, H, W], got " + c10::str(x_in.sizes()));
  require(x_in.size(2) % c.patch[0] == 0 && x_in.size(3) % c.patch[1] == 0 && x_in.size(4) % c.patch[2] == 0,
          "hidden_states " + c10::str(x_in.sizes()) + " is not divisible by the patch size");
  const int64_t B = x_in.size(0);
  const auto& text = in.encoder_hidden_states;
  require(text.dim() == 3 && text.size(0) == B && text.size(2) == c.text_dim,
          "encoder_hidden_states must be [B, L, " + std::to_string(c.text_dim) + "], got " +
              c10::str(text.sizes()));
  require(in.timestep.numel() == B, "timestep must have one value per batch row");
  require(in.pooled_projections.defined() && in.pooled_projections.dim() == 2 &&
              in.pooled_projections.size(0) == B && in.pooled_projections.size(1) == c.pooled_dim,
          "pooled_projections must be [B, " + std::to_string(c.pooled_dim) + "]");
  const int64_t L = text.size(1);
  const auto text_valid = in.encoder_attention_mask.defined()
                              ? (in.encoder_attention_mask.to(at::kFloat) > 0.5)
                              : at::ones({B, L}, text.options().dtype(at::kBool));
  require(text_valid.sizes() == at::IntArrayRef({B, L}), "encoder_attention_mask must be [B, L]");
  const auto dtype = w_.img_in_weight.scalar_type();
  const int64_t heads = c.heads;

  // Conditioning and the text stream: replicated on every rank.
  auto vec_act = at::silu(conditioning(in));
  auto txt_all = refine_text(text, text_valid, in.timestep, mesh.sequence());

  // Video tokens: patch embedding on the whole latent, then this rank's chunk.
  const int64_t f = x_in.size(2) / c.patch[0], h = x_in.size(3) / c.patch[1], w = x_in.size(4) / c.patch[2];
  auto tokens =
      at::conv3d(x_in.to(dtype), w_.img_in_weight, w_.img_in_bias, {c.patch[0], c.patch[1], c.patch[2]})
          .flatten(2)
          .transpose(1, 2);
  const int sp = mesh.degrees().sequence_parallel();
  const int chunk = mesh.sequence_chunk();
  const auto split = parallel::SequenceSplit::even(f * h * w, sp);
  auto img = parallel::take_chunk(tokens, 1, split, chunk).to(at::kFloat).contiguous();
  const auto rope = nn::make_rope_3d(f, h, w, c.rope_axes, c.rope_theta, x_in.device())
                        .rows(split.offsets[chunk], split.lengths[chunk]);

  const auto strategy = attention::parse_joint_strategy(joint_strategy, L, sp);
  const bool split_text = strategy == attention::JointStrategy::kSplit;
  auto txt = split_text
                 ? parallel::take_chunk(txt_all, 1, parallel::SequenceSplit::even(L, sp), chunk).contiguous()
                 : txt_all;

  // Joint attention of (img, txt) queries/keys/values through USP; returns (img_out, txt_out).
  auto joint_attention = [&](Qkv img_qkv, Qkv txt_qkv, const at::Tensor& valid) {
    img_qkv.q = nn::apply_rope_interleaved(img_qkv.q, rope);
    img_qkv.k = nn::apply_rope_interleaved(img_qkv.k, rope);
    attention::JointText jt{
        txt_qkv.q.contiguous(), txt_qkv.k.contiguous(), txt_qkv.v.contiguous(), valid, L, strategy};
    auto out = attention::usp_attention(mesh, img_qkv.q.contiguous(), img_qkv.k.contiguous(),
                                        img_qkv.v.contiguous(), split, &jt);
    return std::make_pair(merge_heads(out.out), merge_heads(out.text_out));
  };
  auto norm_qk = [&](Qkv x, const at::Tensor& q_norm, const at::Tensor& k_norm) {
    x.q = nn::rms_norm(x.q, q_norm, c.eps);
    x.k = nn::rms_norm(x.k, k_norm, c.eps);
    return x;
  };

  const auto double_block = [&](const DoubleBlockWeights& blk, at::Tensor& xi, at::Tensor& xt,
                                const at::Tensor& vec, const at::Tensor& valid) {
    auto im = nn::linear(vec, blk.img.modulation).to(at::kFloat).unsqueeze(1).chunk(6, -1);
    auto tm = nn::linear(vec, blk.txt.modulation).to(at::kFloat).unsqueeze(1).chunk(6, -1);
    auto img_qkv = norm_qk(
        split_qkv(
            nn::linear(nn::modulate(nn::layer_norm_fp32(xi, c.eps), im[0], im[1]).to(dtype), blk.img.qkv),
            heads),
        blk.img.q_norm, blk.img.k_norm);
    auto txt_qkv = norm_qk(
        split_qkv(
            nn::linear(nn::modulate(nn::layer_norm_fp32(xt, c.eps), tm[0], tm[1]).to(dtype), blk.txt.qkv),
            heads),
        blk.txt.q_norm, blk.txt.k_norm);
    auto [img_attn, txt_attn] = joint_attention(img_qkv, txt_qkv, valid);
    xi = xi + im[2] * nn::linear(img_attn, blk.img.proj).to(at::kFloat);
    xi = xi +
         im[5] * mlp_gelu(nn::modulate(nn::layer_norm_fp32(xi, c.eps), im[3], im[4]).to(dtype), blk.img.mlp)
                     .to(at::kFloat);
    xt = xt + tm[2] * nn::linear(txt_attn, blk.txt.proj).to(at::kFloat);
    xt = xt +
         tm[5] * mlp_gelu(nn::modulate(nn::layer_norm_fp32(xt, c.eps), tm[3], tm[4]).to(dtype), blk.txt.mlp)
                     .to(at::kFloat);
  };

  const int64_t h3 = 3 * c.hidden;
  const auto single_block = [&](const SingleBlockWeights& blk, at::Tensor& xi, at::Tensor& xt,
                                const at::Tensor& vec, const at::Tensor& valid) {
    auto m = nn::linear(vec, blk.modulation).to(at::kFloat).unsqueeze(1).chunk(3, -1);  // shift, scale, gate
    // linear1 acts row-wise, so the video and text rows go through it separately.
    auto img_y = nn::linear(nn::modulate(nn::layer_norm_fp32(xi, c.eps), m[0], m[1]).to(dtype), blk.linear1);
    auto txt_y = nn::linear(nn::modulate(nn::layer_norm_fp32(xt, c.eps), m[0], m[1]).to(dtype), blk.linear1);
    auto [img_attn, txt_attn] =
        joint_attention(norm_qk(split_qkv(img_y.narrow(-1, 0, h3), heads), blk.q_norm, blk.k_norm),
                        norm_qk(split_qkv(txt_y.narrow(-1, 0, h3), heads), blk.q_norm, blk.k_norm), valid);
    auto img_mlp = nn::gelu_tanh(img_y.narrow(-1, h3, img_y.size(-1) - h3));
    auto txt_mlp = nn::gelu_tanh(txt_y.narrow(-1, h3, txt_y.size(-1) - h3));
    xi = xi + m[2] * nn::linear(at::cat({img_attn.to(dtype), img_mlp}, -1), blk.linear2).to(at::kFloat);
    xt = xt + m[2] * nn::linear(at::cat({txt_attn.to(dtype), txt_mlp}, -1), blk.linear2).to(at::kFloat);
  };

  // Blocks [first, last) — the double blocks, then the single ones — on the batch rows `rows` of
  // the image tokens. The text stream is carried between calls (First-Block Cache runs block 0
  // alone, then the rest), row by row.
  const int num_double = static_cast<int>(w_.double_blocks.size());
  const int num_blocks = num_double + static_cast<int>(w_.single_blocks.size());
  const auto run_blocks = [&](const at::Tensor& img_rows, const std::vector<int64_t>& rows, int first,
                              int last) {
    const bool all = static_cast<int64_t>(rows.size()) == B;
    const auto index = all ? at::Tensor() : at::tensor(rows, at::kLong).to(img_rows.device());
    const auto pick = [&](const at::Tensor& t) { return all ? t : t.index_select(0, index); };
    auto x = img_rows;
    auto t = pick(txt);
    const auto vec_rows = pick(vec_act), valid_rows = pick(text_valid);
    for (int b = first; b < last; ++b) {
      where::set_block(b);  // double blocks, then single blocks, numbered on: the watchdog's "block"
      if (b < num_double)
        double_block(w_.double_blocks[static_cast<size_t>(b)], x, t, vec_rows, valid_rows);
      else
        single_block(w_.single_blocks[static_cast<size_t>(b - num_double)], x, t, vec_rows, valid_rows);
    }
    if (all)
      txt = t;
    else
      txt = txt.index_copy(0, index, t);
    return x;
  };
  if (in.cache) {
    // TeaCache's indicator: the modulated image tokens entering double block 0 (the reference's).
    const auto indicator = [&] {
      auto im =
          nn::linear(vec_act, w_.double_blocks.at(0).img.modulation).to(at::kFloat).unsqueeze(1).chunk(6, -1);
      return nn::modulate(nn::layer_norm_fp32(img, c.eps), im[0], im[1]);
    };
    img = in.cache->run(img, {num_blocks, run_blocks, indicator, true}, mesh.sequence());
  } else {
    std::vector<int64_t> rows(static_cast<size_t>(B));
    for (int64_t r = 0; r < B; ++r) rows[static_cast<size_t>(r)] = r;
    img = run_blocks(img, rows, 0, num_blocks);
  }

  auto fm =
      nn::linear(vec_act, w_.final_modulation).to(at::kFloat).unsqueeze(1).chunk(2, -1);  // shift, scale
  auto out =
      nn::linear(nn::modulate(nn::layer_norm_fp32(img, c.eps), fm[0], fm[1]).to(dtype), w_.final_linear);
  auto all = parallel::gather_sequence(mesh.sequence(), out.to(at::kFloat).contiguous(),
                                       split);  // [B, S, C·pt·ph·pw]

  // Unpatchify: a token's features are (C, pt, ph, pw) — channel before the patch offsets.
  const auto [pt, ph, pw] = c.patch;
  return all.view({B, f, h, w, c.out_channels, pt, ph, pw})
      .permute({0, 4, 1, 5, 2, 6, 3, 7})
      .reshape({B, c.out_channels, f * pt, h * ph, w * pw});
}

}  // namespace uspdit::models::hunyuan_video
