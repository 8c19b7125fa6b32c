// Opening weights from whatever path the user gives, and the checks model loaders report
// through. Every problem is a one-line UsageError naming the checkpoint (and tensor).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/tensor_source.h"

namespace uspdit::io {

// `path` is one of:
//   - a .safetensors file;
//   - a *.safetensors.index.json (sharded safetensors; shards opened lazily);
//   - a directory holding one *.safetensors.index.json, or else exactly one .safetensors file
//     (a diffusers folder such as transformer/);
//   - a torch.save zip file (.pt, .pth, .bin: recognised by content), whose state dict is the
//     top-level dict, or the dict under `key` (e.g. "module" for HunyuanVideo's
//     mp_rank_00_model_states.pt).
// `key` is only meaningful for torch files.
std::shared_ptr<const TensorSource> open_checkpoint(const std::string& path, const std::string& key = "");

// Checks for model loaders. `context` says why the expectation holds and is appended in
// parentheses, e.g. "config says dim=256":
//   checkpoint <path>: tensor 'blocks.3.attn1.to_q.weight' has shape [256, 128], expected
//   [256, 256] (config says dim=256)
void expect_tensor(const TensorSource& source, const std::string& name, const std::string& context = "");
void expect_shape(const TensorSource& source, const std::string& name, const std::vector<int64_t>& expected,
                  const std::string& context = "");
void expect_dtype(const TensorSource& source, const std::string& name, at::ScalarType expected,
                  const std::string& context = "");
// The checkpoint holds exactly `expected` (any order): names what is missing and what is
// unexpected (the first few of each, and how many).
void expect_names(const TensorSource& source, const std::vector<std::string>& expected,
                  const std::string& context = "");

// For loaders that rename a layout's tensors to engine names first. `file_name_of` maps each
// engine name the file provides to its name in the file.
struct NameMatch {
  std::vector<std::string> missing;     // wanted engine names the file lacks
  std::vector<std::string> unexpected;  // file names of tensors no wanted name uses
};
NameMatch match_names(const std::vector<std::string>& wanted, const std::map<std::string, std::string>& file_name_of);

// "'a', 'b', 'c' and 4 more": the first few names of a list for a one-line error.
std::string quote_first_few(const std::vector<std::string>& names);

}  // namespace uspdit::io
