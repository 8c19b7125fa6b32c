// The hyper-parameters of a Llama language model (HunyuanVideo's text encoder: the Llama-3-8B
// inside LLaVA-LLaMA-3-8B), read from the config.json transformers' save_pretrained writes.
#pragma once

#include <cstdint>
#include <string>

#include "nn/activation.h"

namespace uspdit::models::llama {

// Defaults are transformers' LlamaConfig defaults, used for fields a config.json leaves out.
struct LlamaConfig {
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_layers = 32;
  int64_t num_heads = 32;
  int64_t num_kv_heads = 32;  // = num_heads unless the config says otherwise (GQA)
  int64_t head_dim = 128;     // hidden_size / num_heads unless the config says otherwise
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  nn::Activation act = nn::Activation::kSilu;

  int64_t q_dim() const { return num_heads * head_dim; }
  int64_t kv_dim() const { return num_kv_heads * head_dim; }
};

// Llama-3-8B as LLaVA-LLaMA-3-8B v1.1 ships it (vocab 128320, see hunyuanvideo_pipeline.md §0).
LlamaConfig llava_llama3_8b_config();

// Both spellings of the RoPE base: transformers 4.x `rope_theta` (+ `rope_scaling`) and 5.x
// `rope_parameters`. Refuses what this encoder does not implement, naming the field: any RoPE
// scaling, attention/MLP biases, a non-Llama model_type (a LLaVA config gets a hint to use the
// language model folder HunyuanVideo's preprocessing writes).
LlamaConfig read_llama_config_json(const std::string& path);

// Positive sizes, heads divisible by KV heads; `where` names the source in the message.
void validate(const LlamaConfig& config, const std::string& where);

// "hidden 4096, 32 layers, 32 heads (8 KV) x 128, ffn 14336, vocab 128320".
std::string describe(const LlamaConfig& config);

}  // namespace uspdit::models::llama
