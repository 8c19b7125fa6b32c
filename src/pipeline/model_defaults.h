// A model folder's own generation defaults: `generate_defaults.json` beside the weights says at
// which size, length, steps, guidance and shift the model was trained to sample, so that
// `uspdit generate --prompt "..."` alone draws what the model can draw. Wan-AI's releases carry
// no such file (generate.py's defaults apply to them); the project's demo model does
// (models/demo-shapes-t2v). A flag always wins over the folder.
//
//   {"name": "demo-shapes-t2v", "size": "64*64", "frame_num": 17, "sample_steps": 20,
//    "sample_shift": 3.0, "sample_guide_scale": 5.0, "sample_solver": "unipc", "dtype": "fp32",
//    "trained_sizes": ["64*64"]}
//
// Keys are the generate.py flag names (Wan's config files use the same words); every key is
// optional, an unknown key is an error (a misspelt default would silently not apply).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace uspdit::pipeline {

inline constexpr const char* kModelDefaultsFile = "generate_defaults.json";

struct ModelDefaults {
  std::string file;                 // the path read; empty when the folder has none
  std::optional<std::string> name;  // what the model is called in logs and file names
  std::optional<int64_t> width, height;
  std::optional<int64_t> frames;
  std::optional<int> steps;
  std::optional<double> shift, guide_scale;
  std::optional<std::string> solver, negative_prompt;
  std::optional<std::string> dtype;  // what --dtype defaults to (fp32 for a model trained in fp32)
  std::vector<std::pair<int64_t, int64_t>> trained_sizes;  // (width, height)

  bool present() const { return !file.empty(); }
  // "folder: generate_defaults.json" — how the start-up log names where a setting came from.
  std::string source() const;
};

// ckpt_dir/generate_defaults.json, or an empty ModelDefaults when there is none. Throws
// UsageError naming the file and the key for bad JSON, an unknown key or a value of the wrong
// type or range.
ModelDefaults read_model_defaults(const std::string& ckpt_dir);

// The model folder `uspdit generate` uses without --ckpt_dir: $USPDIT_DEFAULT_MODEL when set,
// else models/demo-shapes-t2v found next to the binary or above it (a build tree, an install
// prefix's share/uspdit), else the source tree the binary was built from. Empty when none
// exists.
std::string default_model_dir(const std::string& executable);

}  // namespace uspdit::pipeline
