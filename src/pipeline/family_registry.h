// One descriptor per DiT model family, in one table (family_registry.cpp): what `uspdit
// generate`, `forward`, `bench dit` and `plan` need to know about a family, so that none of them
// switches on the family and a new model is one family file plus one line in the table.
//
// A struct of data and std::functions (not a class hierarchy): a descriptor is a stateless table
// row, read in one look where it is defined. It lives in pipeline/, not models/, because it makes
// the family's text-to-video job and plug-in, and tiers only look down.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/args.h"
#include "core/device.h"
#include "io/tensor_source.h"
#include "parallel/mesh.h"
#include "parallel/plan.h"
#include "pipeline/t2v_job.h"

namespace uspdit::pipeline {

struct DitLoadOptions {
  at::ScalarType dtype = at::kFloat;
  c10::Device device = core::host_device();
  bool ema = false;                     // the EMA weights (families with has_ema)
  std::string joint_strategy = "auto";  // joint text attention: auto|split|front|rear (joint-attention DiTs)
};

// A loaded DiT, whatever its family: its head count (for the mesh checks) and one forward on
// inputs named as diffusers names its arguments (hidden_states, timestep, encoder_hidden_states,
// ...), fp32 on the device.
struct LoadedDit {
  int heads = 0;
  std::string description;
  std::function<at::Tensor(parallel::ProcessMesh&, const io::TensorSource& inputs, const c10::Device&)>
      forward;
};

// `uspdit bench dit`: a DiT of the family's real widths with random weights and few layers.
struct BenchDitShape {
  std::string model;  // --model (a variant name, e.g. wan2.1-t2v-1.3b)
  int64_t layers = 2;
  int64_t single_layers = 0;  // single-stream blocks (families with them)
  int64_t height = 128, width = 128, frames = 9, text_len = 512, batch = 1, text_padding = 0;
  std::string joint_strategy = "auto";
  at::ScalarType dtype = at::kFloat;
  c10::Device device = core::host_device();
};

struct BenchDit {
  int64_t heads = 0, head_dim = 0;
  int64_t attention_calls = 0;  // attention calls with sequence-parallel traffic per step
  int64_t joint_text = 0;       // text tokens in the joint attention (0: cross-attention only)
  std::function<at::Tensor(parallel::ProcessMesh&)> step;
};

// What the family's own generate flags default to, where the command reads them.
struct T2vDefaults {
  int fps = 16;  // the mp4's frame rate
  int crf = 10;  // libx264 quality of the reference's writer
};

struct ModelFamily {
  std::string id;                                // "wan2.1", "hunyuanvideo": what --model names
  std::string display_name;                      // "Wan 2.1", for messages
  std::vector<std::string> model_prefixes;       // --model values starting with one of these name the family
  std::vector<parallel::ModelSpec> plan_models;  // `uspdit plan`'s entries (published sizes)
  std::vector<std::string> config_classes;       // config.json _class_name values (both layouts)
  // Recognises the family's files when no config.json names a class (e.g. HunyuanVideo's .pt).
  std::function<bool(const std::filesystem::path&)> holds_files;
  std::string text_encoders;         // for help and logs: "umt5-xxl"
  std::string vae;                   // "Wan-VAE"
  bool has_ema = false;              // checkpoints carry EMA weights (--ema)
  bool bench_single_layers = false;  // bench dit: --single-layers defaults to --layers
  T2vDefaults t2v;

  std::function<LoadedDit(const std::string& path, const DitLoadOptions&)> load_dit;
  std::function<BenchDit(const BenchDitShape&)> bench_dit;
  // Reads the family's generate flags (request, files, dtypes) from `args`, the checkpoint found
  // at `location`. Its make_family() is the pipeline plug-in's factory (nullptr while the family
  // has no text-to-video pipeline).
  std::function<std::unique_ptr<T2vJob>(core::Args& args, const std::string& location)> read_t2v_job;
};

// Every family, in the order `plan` lists their models.
const std::vector<ModelFamily>& model_families();

// From --model when given (a family id, one of its prefixes or variant names; "auto" = detect),
// else from the files at `path`: a config.json's _class_name (in the path or its transformer/
// folder), then each family's holds_files. Throws UsageError asking for --model when it cannot
// tell.
const ModelFamily& detect_family(const std::string& path, const std::string& model_flag);

// The family whose name, prefix or variant `model` is (bench dit's --model); nullptr if none.
const ModelFamily* family_named(const std::string& model);

// `uspdit plan`'s catalogue: every family's plan_models.
const std::vector<parallel::ModelSpec>& plan_models();
// The entry for a name or alias (case-insensitive, '_' same as '-'); nullptr if none.
const parallel::ModelSpec* find_plan_model(const std::string& name);
std::string known_plan_model_names();  // "hunyuanvideo, wan2.1-t2v-14b, wan2.1-t2v-1.3b"

}  // namespace uspdit::pipeline
