// `uspdit forward`: one DiT forward on inputs read from a safetensors file (diffusers' argument
// names), output `sample` written to a safetensors file — on any launch and mesh, for Wan 2.1
// and HunyuanVideo. This is how users (and our tests) compare the engine with their reference.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/timer.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "parallel/agreement.h"
#include "parallel/mesh.h"
#include "parallel/runtime.h"
#include "pipeline/family_registry.h"

namespace uspdit::cli {

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
  read_collective_timeout(args);
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

  const pipeline::ModelFamily* family = nullptr;
  parallel::run_agreed(world, [&] { family = &pipeline::detect_family(*ckpt, model_flag); });
  if (ema && !family->has_ema) {
    std::string with_ema;
    for (const auto& f : pipeline::model_families()) {
      if (f.has_ema) with_ema += (with_ema.empty() ? "" : " and ") + f.display_name;
    }
    throw UsageError("--ema: only " + with_ema + " checkpoints carry EMA weights");
  }

  Stopwatch load_time;
  pipeline::LoadedDit dit;
  parallel::run_agreed(world, [&] {
    dit = family->load_dit(
        *ckpt, {.dtype = dtype, .device = rt->device(), .ema = ema, .joint_strategy = joint_strategy});
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
  std::snprintf(line, sizeof(line),
                "forward: %s, %s, %s; load %.2f s (peak RSS %lld MiB), forward %.2f s -> %s",
                dit.description.c_str(), parallel::describe(degrees).c_str(), dtype_name.c_str(),
                load_seconds, static_cast<long long>(load_peak >> 20), forward_seconds, output_path->c_str());
  log::info(line);
  return 0;
}

}  // namespace uspdit::cli
