// Where the parts of a HunyuanVideo text-to-video checkpoint are, and the checks on them that run
// on every rank before any weight is read. Two layouts:
//   original   the release's ckpts/ as its download instructions leave it:
//              hunyuan-video-t2v-720p/transformers/mp_rank_00_model_states.pt (or _fp8.pt + its
//              _fp8_map.pt), hunyuan-video-t2v-720p/vae/, text_encoder/ (the preprocessed
//              llava-llama-3-8b language model + its tokenizer.json), text_encoder_2/ (CLIP-L +
//              vocab.json, merges.txt);
//   diffusers  a HunyuanVideoPipeline folder: transformer/, vae/, text_encoder/, text_encoder_2/,
//              tokenizer/, tokenizer_2/ (scheduler/ is not read: the schedule is the flags').
#pragma once

#include <cstdint>
#include <string>

#include "models/hunyuan_video/hv_config.h"
#include "pipeline/hv_t2v_request.h"

namespace uspdit::pipeline {

struct HvT2vFiles {
  std::string dit;             // what locate_hv_checkpoint takes
  std::string vae;             // the VAE folder
  std::string text_encoder;    // the Llama folder
  std::string tokenizer;       // the folder holding tokenizer.json
  std::string text_encoder_2;  // the CLIP text folder
  std::string tokenizer_2;     // the folder holding vocab.json and merges.txt
  std::string layout;          // "original" or "diffusers"
};

// Every missing part named in one UsageError with the fix.
HvT2vFiles locate_hv_t2v_files(const HvT2vLoadSettings& load);

// The release's DiT file under a directory (itself, transformers/, or hunyuan-video-t2v-720p/
// transformers/), or "".
std::string release_dit_under(const std::string& dir, bool fp8);

// The VAE folder's weight file (the release's pytorch_model.pt, else diffusers' safetensors);
// UsageError when it holds neither.
std::string hv_vae_weights_file(const std::string& vae_dir);

// Reads the text encoders' and the VAE's config.json and opens every weight file's index (zip
// directory, safetensors header): a text encoder whose width is not the DiT's text_dim /
// pooled_dim, a tokenizer that does not parse or a truncated weight file is a UsageError naming
// the file and the fix, before anything heavy runs.
void check_hv_t2v_files(const HvT2vFiles& files, const models::hunyuan_video::HvConfig& dit);

}  // namespace uspdit::pipeline
