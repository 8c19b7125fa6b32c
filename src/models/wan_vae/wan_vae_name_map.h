// Checkpoint key layouts of the Wan-VAE. The engine uses the original release's names
// (Wan2.1_VAE.pth, wan/modules/vae.py's WanVAE_); diffusers' AutoencoderKLWan keys are renamed
// into them. R = num_res_blocks; the original decoder keeps its up path as ONE flat list
// `decoder.upsamples.K` of R+1 residual blocks then a resample per stage, so K = i·(R+2) + j.
//
//   diffusers                                        original (engine)
//   post_quant_conv.{weight,bias}                    conv2.{weight,bias}
//   decoder.conv_in.*                                decoder.conv1.*
//   decoder.mid_block.resnets.0.<res>                decoder.middle.0.<res>
//   decoder.mid_block.attentions.0.{norm.gamma,to_qkv.*,proj.*}   decoder.middle.1.{same}
//   decoder.mid_block.resnets.1.<res>                decoder.middle.2.<res>
//   decoder.up_blocks.i.resnets.j.<res>              decoder.upsamples.{i·(R+2)+j}.<res>
//   decoder.up_blocks.i.upsamplers.0.{resample.1,time_conv}.*   decoder.upsamples.{i·(R+2)+R+1}.{same}
//   decoder.norm_out.gamma                           decoder.head.0.gamma
//   decoder.conv_out.*                               decoder.head.2.*
//   <res> = norm1.gamma | conv1.* | norm2.gamma | conv2.* | conv_shortcut.*
//         ↔ residual.0.gamma | residual.2.* | residual.3.gamma | residual.6.* | shortcut.*
//   encoder.*, quant_conv.* (original: encoder.*, conv1.*): not used by the decoder.
//
// Checked against Wan2.1's own module (strict load_state_dict, identical decode) by
// tools/make_wan_vae_fixtures.py --wan-vae-py.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace uspdit::models::wan_vae {

enum class WanVaeLayout { kOriginal, kDiffusers };

const char* layout_name(WanVaeLayout layout);

// Diffusers checkpoints have `post_quant_conv.*` / `decoder.conv_in.*`, the original `conv2.*` /
// `decoder.conv1.*`.
WanVaeLayout detect_layout(const std::vector<std::string>& names);

// Whether a key belongs to the encoder side (ignored when decoding) in that layout.
bool is_encoder_key(const std::string& name, WanVaeLayout layout);

// The engine (original) name of a diffusers decoder key; the key unchanged if no rule applies.
std::string diffusers_to_engine_name(const std::string& name, int64_t num_res_blocks);

}  // namespace uspdit::models::wan_vae
