// Where the parts of a Wan 2.1 text-to-video checkpoint are, in either published layout:
//
//   original (Wan-AI/Wan2.1-T2V-*)        diffusers (Wan-AI/Wan2.1-T2V-*-Diffusers)
//   config.json + diffusion_pytorch_model* transformer/
//   models_t5_umt5-xxl-enc-bf16.pth       text_encoder/
//   google/umt5-xxl/ (spiece.model)       tokenizer/
//   Wan2.1_VAE.pth                        vae/
//
// Each part can also be named explicitly (flags), e.g. to share one text encoder between the
// 1.3B and 14B directories.
#pragma once

#include <string>

namespace uspdit::pipeline {

struct WanT2vFiles {
  std::string dit;           // what models::wan::locate_wan_checkpoint accepts
  std::string text_encoder;  // .pth or a UMT5EncoderModel folder
  std::string tokenizer;     // spiece.model or its folder
  std::string vae;           // .pth or an AutoencoderKLWan folder
  std::string layout;        // "original" or "diffusers", for logs
};

struct WanT2vFileOverrides {
  std::string text_encoder, tokenizer, vae;  // empty: found under the checkpoint directory
};

// Throws UsageError listing every part that is missing, with the file name expected.
WanT2vFiles locate_wan_t2v_files(const std::string& ckpt_dir, const WanT2vFileOverrides& overrides = {});

}  // namespace uspdit::pipeline
