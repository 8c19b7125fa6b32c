// The HunyuanVideo DiT config from a config.json of either layout — the original release's
// argument names (`HYVideoDiffusionTransformer`: hidden_size, heads_num, mm_double_blocks_depth,
// rope_dim_list, text_states_dim, ...) or diffusers (`HunyuanVideoTransformer3DModel`:
// num_attention_heads × attention_head_dim, num_layers, rope_axes_dim, text_embed_dim, ...) —
// or, since the release ships no config.json, from the tensor shapes of an original checkpoint.
#pragma once

#include <string>

#include "io/json.h"
#include "io/tensor_source.h"
#include "models/hunyuan_video/hv_config.h"

namespace uspdit::models::hunyuan_video {

// `source` names the file in error messages. Missing fields take HYVideo-T/2-cfgdistill's
// values (hv_preset). Throws UsageError naming the file and the field for a config that is not
// a HunyuanVideo text-to-video DiT (image_condition_type set: image-to-video) or is inconsistent.
HvConfig hv_config_from_json(const io::Json& json, const std::string& source);

// Reads and parses `path`.
HvConfig read_hv_config(const std::string& path);

// Derives the config from an original-layout checkpoint's shapes: hidden, in_channels and patch
// from img_in.proj.weight, head_dim from a q_norm weight (128 when there are no blocks), depths
// by counting block indices, text/pooled dims from txt_in.input_embedder / vector_in.in_layer,
// guidance from guidance_in.*, out_channels from final_layer.linear, mlp ratio from an MLP's
// rows. The RoPE split is the release's 16/56/56 for head_dim 128; any other head_dim is a
// UsageError asking for a config.json. rope_theta and eps keep the preset's values.
HvConfig config_from_shapes(const io::TensorSource& source);

}  // namespace uspdit::models::hunyuan_video
