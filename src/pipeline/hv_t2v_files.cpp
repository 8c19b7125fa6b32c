#include "pipeline/hv_t2v_files.h"

#include <filesystem>
#include <vector>

#include "core/error.h"
#include "io/checkpoint.h"
#include "models/clip/clip_config.h"
#include "models/clip/clip_tokenizer.h"
#include "models/common/hf_model_dir.h"
#include "models/llama/llama_config.h"
#include "models/llama/llama_tokenizer.h"

namespace uspdit::pipeline {

namespace fs = std::filesystem;

std::string release_dit_under(const std::string& dir_name, bool fp8) {
  const fs::path dir(dir_name);
  const std::string name = fp8 ? "mp_rank_00_model_states_fp8.pt" : "mp_rank_00_model_states.pt";
  for (const fs::path& d : {dir, dir / "transformers", dir / "hunyuan-video-t2v-720p" / "transformers"}) {
    if (fs::exists(d / name)) return (d / name).string();
  }
  return "";
}

HvT2vFiles locate_hv_t2v_files(const HvT2vLoadSettings& load) {
  const fs::path base(load.model_base);
  require(fs::is_directory(base), "--model-base " + load.model_base +
                                      " is not a directory: give the release's ckpts/ folder (or a diffusers "
                                      "HunyuanVideo folder)");
  HvT2vFiles f;
  std::vector<std::string> missing;
  const auto need = [&](const fs::path& p, const std::string& what) {
    if (!fs::exists(p)) missing.push_back(p.string() + " (" + what + ")");
    return p.string();
  };
  if (fs::is_directory(base / "transformer")) {
    f.layout = "diffusers";
    f.dit = load.dit_weight.empty() ? need(base / "transformer", "the DiT")
                                    : need(load.dit_weight, "--dit-weight");
    f.vae = need(base / "vae", "the VAE");
    f.text_encoder = need(base / "text_encoder", "llava-llama-3-8b text encoder");
    f.text_encoder_2 = need(base / "text_encoder_2", "CLIP-L text encoder");
    f.tokenizer = (base / "tokenizer").string();
    f.tokenizer_2 = (base / "tokenizer_2").string();
    need(base / "tokenizer" / "tokenizer.json", "Llama 3 tokenizer");
    need(base / "tokenizer_2" / "vocab.json", "CLIP tokenizer");
    need(base / "tokenizer_2" / "merges.txt", "CLIP tokenizer");
  } else {
    f.layout = "original";
    const std::string found = release_dit_under(load.model_base, load.use_fp8);
    f.dit = !load.dit_weight.empty() ? need(load.dit_weight, "--dit-weight")
            : !found.empty()
                ? found
                : need(base / "hunyuan-video-t2v-720p" / "transformers" /
                           (load.use_fp8 ? "mp_rank_00_model_states_fp8.pt" : "mp_rank_00_model_states.pt"),
                       "the DiT");
    f.vae = need(base / "hunyuan-video-t2v-720p" / "vae", "the VAE");
    f.text_encoder = need(base / "text_encoder", "llava-llama-3-8b text encoder, preprocessed");
    f.text_encoder_2 = need(base / "text_encoder_2", "CLIP-L text encoder");
    f.tokenizer = f.text_encoder;
    f.tokenizer_2 = f.text_encoder_2;
    if (fs::is_directory(base / "text_encoder"))
      need(base / "text_encoder" / "tokenizer.json", "Llama 3 tokenizer");
    if (fs::is_directory(base / "text_encoder_2")) {
      need(base / "text_encoder_2" / "vocab.json", "CLIP tokenizer");
      need(base / "text_encoder_2" / "merges.txt", "CLIP tokenizer");
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : "; ") + m;
    throw UsageError(
        "HunyuanVideo checkpoint " + load.model_base + " (" + f.layout + " layout) is missing: " + list +
        " — download them as the HunyuanVideo repository's ckpts/README says, or point --model-base "
        "at the folder that holds them");
  }
  return f;
}

std::string hv_vae_weights_file(const std::string& vae_dir) {
  const fs::path dir(vae_dir);
  for (const char* name : {"pytorch_model.pt", "diffusion_pytorch_model.safetensors"}) {
    if (fs::exists(dir / name)) return (dir / name).string();
  }
  throw UsageError("VAE folder " + vae_dir +
                   " holds neither pytorch_model.pt (the release) nor diffusion_pytorch_model.safetensors "
                   "(diffusers): download hunyuan-video-t2v-720p/vae/ again");
}

void check_hv_t2v_files(const HvT2vFiles& files, const models::hunyuan_video::HvConfig& dit) {
  const auto llama_dir =
      models::locate_hf_model_dir(files.text_encoder, "text_encoder", "llama text encoder");
  const auto llama = models::llama::read_llama_config_json(llama_dir.config_json);
  require(llama.hidden_size == dit.text_dim,
          "text encoder " + llama_dir.config_json + " is " + std::to_string(llama.hidden_size) +
              " wide, but the DiT expects text_states_dim " + std::to_string(dit.text_dim) +
              ": text_encoder/ must hold the llava-llama-3-8b language model that "
              "preprocess_text_encoder_tokenizer_utils.py writes (hidden 4096), not another model");
  const auto clip_dir =
      models::locate_hf_model_dir(files.text_encoder_2, "text_encoder_2", "clip text encoder");
  const auto clip = models::clip::read_clip_text_config_json(clip_dir.config_json);
  require(clip.hidden_size == dit.pooled_dim,
          "text encoder " + clip_dir.config_json + " is " + std::to_string(clip.hidden_size) +
              " wide, but the DiT expects text_states_dim_2 " + std::to_string(dit.pooled_dim) +
              ": text_encoder_2/ must hold openai/clip-vit-large-patch14 (hidden 768)");
  // Both tokenizers parse (a fraction of a second): a broken tokenizer.json fails every rank now.
  (void)models::llama::LlamaTokenizer::load(files.tokenizer);
  (void)models::clip::ClipTokenizer::load(files.tokenizer_2);
  // The indexes only: a truncated download fails now, not after the text encoders ran.
  io::open_checkpoint(llama_dir.weights);
  io::open_checkpoint(clip_dir.weights);
  const std::string vae = hv_vae_weights_file(files.vae);
  try {
    io::open_checkpoint(vae);
  } catch (const UsageError&) {
    io::open_checkpoint(vae, "state_dict");  // some copies wrap the release's dict
  }
}

}  // namespace uspdit::pipeline
