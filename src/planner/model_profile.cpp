#include "planner/model_profile.h"

#include <algorithm>
#include <cctype>

namespace uspdit::planner {

int64_t RunShape::video_tokens(const DitShape& d) const {
  return ((latent_frames(d) + d.patch_t - 1) / d.patch_t) * (latent_height(d) / d.patch_s) *
         (latent_width(d) / d.patch_s);
}

// Wan 2.1's WanModel: patch/text/time embeddings, then per block self- and cross-attention
// (q, k, v, o with biases, RMS norms on q and k), an FFN and a 6-vector modulation, then the head.
int64_t wan_dit_params(int64_t d, int64_t f, int64_t layers, int64_t text_dim) {
  const int64_t embed =
      (64 * d + d) + (text_dim * d + d + d * d + d) + (256 * d + d + d * d + d) + (6 * d * d + 6 * d);
  const int64_t block = 2 * (4 * (d * d + d) + 2 * d) + 2 * d + (2 * d * f + f + d) + 6 * d;
  const int64_t head = 2 * d + 64 * d + 64;
  return embed + layers * block + head;
}

// diffusers' HunyuanVideoTransformer3DModel: double blocks (two AdaLN-zero modulations, joint
// attention with separate q/k/v/out per stream, two MLPs), single blocks (modulation, fused
// q/k/v + MLP in, one projection out), the 2-block token refiner and the embedders.
int64_t hunyuan_dit_params(int64_t d, int64_t f, int64_t double_blocks, int64_t single_blocks,
                           int64_t text_dim) {
  const int64_t mlp = 2 * d * f + f + d;
  const int64_t double_block = 2 * (6 * d * d + 6 * d) + 8 * (d * d + d) + 2 * mlp;
  const int64_t single_block = (3 * d * d + 3 * d) + (d * f + f) + 3 * (d * d + d) + ((d + f) * d + d);
  const int64_t refiner_block = 4 * (d * d + d) + 4 * d + mlp + (2 * d * d + 2 * d);
  const int64_t embedders = (64 * d + d) + (text_dim * d + d) + 2 * refiner_block +
                            3 * (256 * d + 2 * d + d * d) + (768 * d + d + d * d + d) + (2 * d * d + 2 * d) +
                            (64 * d + 64);
  return embedders + double_blocks * double_block + single_blocks * single_block;
}

namespace {

std::string canonical(std::string name) {
  for (char& ch : name)
    ch = ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}

// umt5-xxl's encoder (Wan 2.1's text encoder): 256,384 × 4096 embedding and 24 blocks of
// attention (4 × 4096²) and a gated FFN (3 × 4096 × 10240).
TextEncoderShape umt5_xxl() {
  const int64_t d = 4096, f = 10240, layers = 24;
  return {"umt5-xxl", 256384 * d + layers * (4 * d * d + 3 * d * f), d, f, layers, 512, 256384 * d};
}

// llava-llama-3-8b as HunyuanVideo reads it: the embedding and the 30 of 32 layers up to
// hidden_states[-3] (GQA: k, v 1024 wide), no lm_head; 256 prompt tokens plus the template (95).
TextEncoderShape llava_llama3() {
  const int64_t d = 4096, f = 14336, layers = 30;
  return {"llava-llama-3-8b", 128320 * d + layers * (2 * d * d + 2 * d * 1024 + 3 * d * f), d, f, layers, 351,
          128320 * d};
}

TextEncoderShape clip_l() {
  return {"clip-l", 123060480, 768, 3072, 12, 77, 49408 * 768};
}

std::vector<ModelProfile> make_published() {
  std::vector<ModelProfile> out;
  // Wan 2.1 VAE decoder: 73.3M parameters (decoder.* + conv2.* of Wan2.1_VAE.pth), 96 channels
  // at full resolution.
  const VaeShape wan_vae{VaeDecode::causal_frames, 73'295'603, 96, 0, kWanVaeLiveTensors};
  struct WanSize {
    const char* name;
    int64_t dim, ffn, heads, layers;
  };
  for (const WanSize& w :
       {WanSize{"wan2.1-t2v-1.3b", 1536, 8960, 12, 30}, WanSize{"wan2.1-t2v-14b", 5120, 13824, 40, 40}}) {
    const int64_t dim = w.dim, ffn = w.ffn, heads = w.heads, layers = w.layers;
    const char* name = w.name;
    ModelProfile m;
    m.name = name;
    m.dit = {
        TextAttention::cross, dim, heads, ffn, layers, 0, 4096, 512, wan_dit_params(dim, ffn, layers, 4096)};
    m.text_encoders = {umt5_xxl()};
    m.vae = wan_vae;
    out.push_back(m);
  }
  ModelProfile hv;
  hv.name = "hunyuanvideo";
  hv.dit = {TextAttention::joint,
            3072,
            24,
            12288,
            20,
            40,
            4096,
            256,
            hunyuan_dit_params(3072, 12288, 20, 40, 4096)};
  hv.text_encoders = {llava_llama3(), clip_l()};
  // 884-16c-hy VAE decoder: 146.1M parameters, 128 channels at full resolution; the release
  // tiles 256-px squares and 64 + 1 frames (16 latent frames).
  hv.vae = {VaeDecode::tiles, 146'136'339, 128, 65, kHunyuanVaeLiveTensors};
  out.push_back(hv);
  return out;
}

}  // namespace

const ModelProfile* published_profile(const std::string& plan_model_name) {
  static const std::vector<ModelProfile> models = make_published();
  const std::string want = canonical(plan_model_name);
  for (const auto& m : models) {
    if (m.name == want) return &m;
  }
  return nullptr;
}

ModelProfile with_layers(const ModelProfile& model, int64_t layers) {
  ModelProfile m = model;
  DitShape& d = m.dit;
  if (d.text_attention == TextAttention::joint) {
    d.blocks = layers / 2;
    d.single_blocks = layers - d.blocks;
    d.params = hunyuan_dit_params(d.hidden, d.ffn, d.blocks, d.single_blocks, d.text_dim);
  } else {
    d.blocks = layers;
    d.params = wan_dit_params(d.hidden, d.ffn, layers, d.text_dim);
  }
  return m;
}

RunShape default_run(const ModelProfile& model) {
  RunShape r;
  if (model.dit.text_attention == TextAttention::joint) {
    r.height = 720, r.width = 1280, r.frames = 129;
    r.vae_tiled = true;
    r.text_bytes = 2, r.vae_bytes = 2;  // the release: fp16 text encoders and VAE
  } else {
    // Wan trained the 1.3B at 480p (832x480), the 14B at 720p too; both 81 frames.
    r.height = model.name == "wan2.1-t2v-1.3b" ? 480 : 720;
    r.width = model.name == "wan2.1-t2v-1.3b" ? 832 : 1280;
    r.frames = 81;
    r.guided = true;
    r.vae_bytes = 4;  // Wan's VAE runs in fp32
  }
  return r;
}

}  // namespace uspdit::planner
