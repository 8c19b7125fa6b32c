// `uspdit forward`: one DiT forward on inputs read from a safetensors file (diffusers' argument
// names), output `sample` written to a safetensors file — on any launch and mesh. This is how
// users (and our tests) compare the engine with their reference.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/commands.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/timer.h"
#include "dist/agreement.h"
#include "dist/mesh.h"
#include "dist/runtime.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "models/wan/wan_loader.h"
#include "models/wan/wan_model.h"

namespace uspdit::cli {
namespace {

// An input tensor by its diffusers argument name, as fp32.
at::Tensor input(const io::TensorSource& source, const std::string& name) {
  require(source.contains(name), "inputs " + source.label() + ": no tensor '" + name +
                                     "' (expected diffusers' argument names: hidden_states, timestep, "
                                     "encoder_hidden_states)");
  return source.load(name, at::kFloat);
}

}  // namespace

int run_forward(Args& args) {
  const auto ckpt_dir = args.get("ckpt-dir");
  const auto inputs_path = args.get("inputs");
  const auto output_path = args.get("output");
  const std::string model = args.get_string("model", "auto");
  const std::string dtype_name = args.get_string("dtype", "fp32");
  dist::ParallelDegrees degrees;
  degrees.ulysses = static_cast<int>(args.get_int_any({"ulysses-degree", "ulysses-size"}, 1));
  degrees.ring = static_cast<int>(args.get_int_any({"ring-degree", "ring-size"}, 1));
  const int threads = static_cast<int>(args.get_int("threads", 0));
  args.finish();

  require(ckpt_dir && inputs_path && output_path,
          "usage: uspdit forward --ckpt-dir DIR --inputs IN.safetensors --output OUT.safetensors "
          "[--dtype fp32|bf16|fp16] [--ulysses-degree U --ring-degree R] [--model wan2.1]");
  require(model == "auto" || model.rfind("wan", 0) == 0,
          "--model " + model + ": only the Wan 2.1 DiT is supported by `forward` so far (use auto or wan2.1)");
  const auto dtype = parse_dtype(dtype_name);
  const auto out_dir = std::filesystem::path(*output_path).parent_path();
  require(out_dir.empty() || std::filesystem::is_directory(out_dir),
          "--output " + *output_path + ": directory " + out_dir.string() + " does not exist");

  auto rt = dist::Runtime::start(dist::DeviceKind::kCpu);
  if (threads > 0) at::set_num_threads(threads);
  auto& world = rt->world();

  models::wan::WanCheckpoint ckpt;
  dist::run_agreed(world, [&] { ckpt = models::wan::locate_wan_checkpoint(*ckpt_dir); });
  dist::validate_degrees(degrees, rt->world_size(), static_cast<int>(ckpt.config.num_heads),
                         "this Wan model", false);

  Stopwatch load_time;
  std::optional<models::wan::WanModel> dit;
  dist::run_agreed(world, [&] {
    auto source = io::open_checkpoint(ckpt.weights_dir);
    dit.emplace(ckpt.config, models::wan::load_wan_weights(*source, ckpt.config, dtype));
  });
  const double load_seconds = load_time.seconds();
  const int64_t load_peak = peak_rss_bytes();

  models::wan::WanInputs in;
  dist::run_agreed(world, [&] {
    auto source = io::open_checkpoint(*inputs_path);
    in.hidden_states = input(*source, "hidden_states");
    in.timestep = input(*source, "timestep");
    in.encoder_hidden_states = input(*source, "encoder_hidden_states");
  });

  dist::ProcessMesh mesh(world, degrees);
  at::Tensor sample;
  Stopwatch forward_time;
  dist::run_agreed(world, [&] { sample = dit->forward(mesh, in); });
  const double forward_seconds = forward_time.seconds();
  if (rt->rank() == 0) io::write_safetensors(*output_path, {{"sample", sample}});
  world.barrier();  // the file exists once any rank returns
  log::info("forward: " + std::string(ckpt.weights_dir) + " (" + std::to_string(ckpt.config.num_layers) +
            " layers), " + dist::describe(degrees) + ", " + dtype_name + "; load " +
            std::to_string(load_seconds) + " s (peak RSS " + std::to_string(load_peak >> 20) + " MiB), forward " +
            std::to_string(forward_seconds) + " s -> " + *output_path);
  return 0;
}

}  // namespace uspdit::cli
