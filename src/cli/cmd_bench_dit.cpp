// `uspdit bench dit` (also `bench-dit`): times one DiT forward step at a given size with random
// weights in the real layout, on any mesh. Layer count is settable so that a 1.3B-shaped block
// fits a small machine; the per-layer time is what scales.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cstdio>

#include "cli/commands.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/timer.h"
#include "dist/mesh.h"
#include "dist/runtime.h"
#include "models/wan/wan_model.h"
#include "models/wan/wan_tensors.h"

namespace uspdit::cli {

int run_bench_dit(Args& args) {
  const std::string model_name = args.get_string("model", "wan2.1-t2v-1.3b");
  const int64_t layers = args.get_int("layers", 2);
  const std::string dtype_name = args.get_string("dtype", "fp32");
  const int64_t height = args.get_int("height", 128);
  const int64_t width = args.get_int("width", 128);
  const int64_t frames = args.get_int_any({"num-frames", "frame-num"}, 9);
  const int64_t text_len = args.get_int("text-len", 512);
  const int64_t batch = args.get_int("batch", 1);
  dist::ParallelDegrees degrees;
  degrees.ulysses = static_cast<int>(args.get_int_any({"ulysses-degree", "ulysses-size"}, 1));
  degrees.ring = static_cast<int>(args.get_int_any({"ring-degree", "ring-size"}, 1));
  const int iters = static_cast<int>(args.get_int("iters", 3));
  const int warmup = static_cast<int>(args.get_int("warmup", 1));
  const int threads = static_cast<int>(args.get_int("threads", 0));
  args.finish();

  auto config = models::wan::wan_preset(model_name);
  config.num_layers = layers;
  const auto dtype = parse_dtype(dtype_name);
  require(layers >= 1 && iters >= 1 && warmup >= 0 && batch >= 1 && text_len >= 1,
          "--layers, --iters, --batch and --text-len must be >= 1");
  require(height % 16 == 0 && width % 16 == 0,
          "--height and --width must be multiples of 16 (VAE 8× then patch 2×)");
  require(frames % 4 == 1, "--num-frames must be 4n+1 (the VAE compresses time 4×)");

  auto rt = dist::Runtime::start(dist::DeviceKind::kCpu);
  dist::validate_degrees(degrees, rt->world_size(), static_cast<int>(config.num_heads), model_name, false);
  if (threads > 0) at::set_num_threads(threads);
  dist::ProcessMesh mesh(rt->world(), degrees);

  const models::wan::WanModel model(config, models::wan::random_wan_weights(config, dtype, 0));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  models::wan::WanInputs in;
  in.hidden_states = at::randn({batch, config.in_dim, (frames - 1) / 4 + 1, height / 8, width / 8}, gen);
  in.timestep = at::full({batch}, 500.0f);
  in.encoder_hidden_states = at::randn({batch, text_len, config.text_dim}, gen);
  const int64_t tokens = in.hidden_states.size(2) * (height / 16) * (width / 16);

  for (int i = 0; i < warmup; ++i) model.forward(mesh, in);
  rt->world().barrier();
  rt->world().reset_stats();
  Stopwatch sw;
  for (int i = 0; i < iters; ++i) model.forward(mesh, in);
  auto seconds = at::full({1}, sw.seconds() / iters, at::kDouble);
  auto bytes = at::full({1}, static_cast<double>(rt->world().stats().bytes_sent) / iters, at::kDouble);
  rt->world().all_reduce_max(seconds);
  rt->world().all_reduce_max(bytes);
  if (rt->rank() == 0) {
    std::printf("bench dit: %s, %lld layers, %lldx%lld, %lld frames -> %lld video tokens, text %lld, batch %lld, %s, "
                "ranks %d (%s), threads/rank %d\n",
                model_name.c_str(), (long long)layers, (long long)width, (long long)height, (long long)frames,
                (long long)tokens, (long long)text_len, (long long)batch, dtype_name.c_str(), rt->world_size(),
                dist::describe(degrees).c_str(), at::get_num_threads());
    std::printf("step time: %.3f ms (%.3f ms per layer), bytes sent per rank per step: %.0f\n",
                seconds.item<double>() * 1e3, seconds.item<double>() * 1e3 / layers, bytes.item<double>());
  }
  return 0;
}

}  // namespace uspdit::cli
