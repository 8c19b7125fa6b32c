// `uspdit forward`: one DiT forward on inputs read from a safetensors file (diffusers' argument
// names), output `sample` written to a safetensors file — on any launch and mesh, for Wan 2.1
// and HunyuanVideo. This is how users (and our tests) compare the engine with their reference.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>
#include <functional>

#include "cli/commands.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/timer.h"
#include "parallel/agreement.h"
#include "parallel/mesh.h"
#include "parallel/runtime.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "models/dit_family.h"
#include "models/hunyuan_video/hv_loader.h"
#include "models/hunyuan_video/hv_model.h"
#include "models/wan/wan_loader.h"
#include "models/wan/wan_model.h"

namespace uspdit::cli {
namespace {

// An input tensor by its diffusers argument name, as fp32 on `device`; undefined when optional
// and absent.
at::Tensor input(const io::TensorSource& source, const c10::Device& device, const std::string& name,
                 bool required = true) {
  if (!source.contains(name)) {
    require(!required, "inputs " + source.label() + ": no tensor '" + name +
                           "' (inputs use diffusers' argument names: hidden_states, timestep, encoder_hidden_states"
                           ", and for HunyuanVideo encoder_attention_mask, pooled_projections, guidance)");
    return {};
  }
  return source.load(name, at::kFloat).to(device);
}

// A loaded DiT, whatever its family: its head count (for the mesh checks) and its forward.
struct LoadedDit {
  int heads = 0;
  std::string description;
  std::function<at::Tensor(parallel::ProcessMesh&, const io::TensorSource&, const c10::Device&)> forward;
};

LoadedDit load_wan(const std::string& path, at::ScalarType dtype, c10::Device device) {
  auto ckpt = models::wan::locate_wan_checkpoint(path);
  auto source = io::open_checkpoint(ckpt.weights_dir);
  auto model = std::make_shared<models::wan::WanModel>(ckpt.config,
                                                       models::wan::load_wan_weights(*source, ckpt.config, dtype, device));
  LoadedDit dit;
  dit.heads = static_cast<int>(ckpt.config.num_heads);
  dit.description = "Wan 2.1 DiT " + ckpt.weights_dir + " (" + std::to_string(ckpt.config.num_layers) + " layers)";
  dit.forward = [model](parallel::ProcessMesh& mesh, const io::TensorSource& in, const c10::Device& on) {
    return model->forward(mesh, {input(in, on, "hidden_states"), input(in, on, "timestep"),
                                 input(in, on, "encoder_hidden_states")});
  };
  return dit;
}

LoadedDit load_hunyuan(const std::string& path, at::ScalarType dtype, c10::Device device, const std::string& key,
                       const std::string& joint_strategy) {
  auto ckpt = models::hunyuan_video::locate_hv_checkpoint(path);
  auto model = std::make_shared<models::hunyuan_video::HvModel>(
      ckpt.config, models::hunyuan_video::load_hv_weights(ckpt, ckpt.config, dtype, device, key));
  LoadedDit dit;
  dit.heads = static_cast<int>(ckpt.config.heads);
  dit.description = "HunyuanVideo DiT " + ckpt.weights + " (" + std::to_string(ckpt.config.double_blocks) + "+" +
                    std::to_string(ckpt.config.single_blocks) + " blocks, '" + key + "')";
  dit.forward = [model, joint_strategy](parallel::ProcessMesh& mesh, const io::TensorSource& in,
                                        const c10::Device& on) {
    models::hunyuan_video::HvInputs x{input(in, on, "hidden_states"),
                                      input(in, on, "timestep"),
                                      input(in, on, "encoder_hidden_states"),
                                      input(in, on, "encoder_attention_mask", false),
                                      input(in, on, "pooled_projections"),
                                      input(in, on, "guidance", false)};
    return model->forward(mesh, x, joint_strategy);
  };
  return dit;
}

}  // namespace

int run_forward(Args& args) {
  const auto ckpt = args.get("ckpt-dir");
  const auto inputs_path = args.get("inputs");
  const auto output_path = args.get("output");
  const std::string model_flag = args.get_string("model", "auto");
  const std::string dtype_name = args.get_string("dtype", "fp32");
  const std::string joint_strategy = args.get_string("joint-strategy", "auto");
  const bool ema = args.flag("ema");
  parallel::ParallelDegrees degrees;
  degrees.ulysses = static_cast<int>(args.get_int_any({"ulysses-degree", "ulysses-size"}, 1));
  degrees.ring = static_cast<int>(args.get_int_any({"ring-degree", "ring-size"}, 1));
  const int threads = static_cast<int>(args.get_int("threads", 0));
  const auto device = device_request(args);
  const auto comm = comm_backend(args);
  args.finish();

  require(ckpt && inputs_path && output_path,
          "usage: uspdit forward --ckpt-dir DIR --inputs IN.safetensors --output OUT.safetensors "
          "[--dtype fp32|bf16|fp16] [--ulysses-degree U --ring-degree R] [--model auto|wan2.1|hunyuanvideo] "
          "[--ema] [--joint-strategy auto|split|front|rear]");
  const auto dtype = parse_dtype(dtype_name);
  const auto out_dir = std::filesystem::path(*output_path).parent_path();
  require(out_dir.empty() || std::filesystem::is_directory(out_dir),
          "--output " + *output_path + ": directory " + out_dir.string() + " does not exist");

  auto rt = parallel::Runtime::start(device, comm);
  if (threads > 0) at::set_num_threads(threads);
  auto& world = rt->world();

  models::DitFamily family{};
  parallel::run_agreed(world, [&] { family = models::detect_family(*ckpt, model_flag); });
  require(!ema || family == models::DitFamily::kHunyuanVideo, "--ema: only HunyuanVideo checkpoints carry EMA weights");

  Stopwatch load_time;
  LoadedDit dit;
  parallel::run_agreed(world, [&] {
    dit = family == models::DitFamily::kWan21
              ? load_wan(*ckpt, dtype, rt->device())
              : load_hunyuan(*ckpt, dtype, rt->device(), ema ? "ema" : "module", joint_strategy);
  });
  const double load_seconds = load_time.seconds();
  const int64_t load_peak = peak_rss_bytes();
  parallel::validate_degrees(degrees, rt->world_size(), dit.heads, "this model", false);

  std::shared_ptr<const io::TensorSource> inputs;
  parallel::run_agreed(world, [&] { inputs = io::open_checkpoint(*inputs_path); });
  parallel::ProcessMesh mesh(world, degrees);
  at::Tensor sample;
  Stopwatch forward_time;
  parallel::run_agreed(world, [&] { sample = core::to_host(dit.forward(mesh, *inputs, rt->device())); });
  const double forward_seconds = forward_time.seconds();
  if (rt->rank() == 0) io::write_safetensors(*output_path, {{"sample", sample}});
  world.barrier();  // the file exists once any rank returns
  char line[512];
  std::snprintf(line, sizeof(line), "forward: %s, %s, %s; load %.2f s (peak RSS %lld MiB), forward %.2f s -> %s",
                dit.description.c_str(), parallel::describe(degrees).c_str(), dtype_name.c_str(), load_seconds,
                static_cast<long long>(load_peak >> 20), forward_seconds, output_path->c_str());
  log::info(line);
  return 0;
}

}  // namespace uspdit::cli
