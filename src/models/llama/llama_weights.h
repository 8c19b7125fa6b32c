// The Llama text encoder's tensors: engine names (transformers' LlamaModel names, no prefix),
// which of them a given hidden_state_skip_layer needs, and the file-name map for both layouts
// HunyuanVideo's checkpoints come in (LlamaForCausalLM: `model.` prefix + lm_head; LlamaModel).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/common/checked_load.h"
#include "models/common/tensor_spec.h"
#include "models/llama/llama_config.h"

namespace uspdit::models::llama {

struct LlamaLayer {
  at::Tensor input_norm;  // [hidden]
  at::Tensor q, k, v, o;  // q [q_dim, hidden], k/v [kv_dim, hidden], o [hidden, q_dim]
  at::Tensor post_norm;   // [hidden]
  at::Tensor gate, up, down;
};

struct LlamaWeights {
  at::Tensor embed;                // [vocab, hidden]
  std::vector<LlamaLayer> layers;  // the first layers only, as many as the skip needs
  at::Tensor final_norm;           // undefined unless hidden_state_skip_layer 0 was asked for
};

// How many decoder layers produce hidden_states[-(skip+1)]: transformers' tuple holds the
// embeddings, the outputs of layers 0..n-2 and norm(output of layer n-1), so skip >= 1 is the
// raw output of layer n-skip-1 and skip 0 is the final norm's. Throws UsageError outside [0, n].
int64_t layers_for_skip(const LlamaConfig& config, int64_t skip);

// The tensors the encoder reads for `skip`: embedding, the first layers_for_skip layers, and the
// final norm only for skip 0. Norm weights are held in the run dtype, as transformers does.
std::vector<TensorSpec> llama_tensor_specs(const LlamaConfig& config, int64_t skip);

// Tensor names in a checkpoint, sorted into what the encoder may read and what it never does.
// prefix: "model." (LlamaForCausalLM) or ""; unexpected: names no rule explains.
struct LlamaNameIndex : MappedNames {
  std::vector<std::string> ignored;  // lm_head.weight, rotary inv_freq buffers
};
LlamaNameIndex index_llama_names(const std::vector<std::string>& file_names, const LlamaConfig& config);

LlamaWeights assemble_llama_weights(const LlamaConfig& config, int64_t skip,
                                    std::map<std::string, at::Tensor> tensors);

}  // namespace uspdit::models::llama
