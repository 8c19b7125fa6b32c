// `uspdit bench dit` (also `bench-dit`): times one DiT forward step at a given size with random
// weights in the real layout, on any mesh: Wan 2.1 (1.3B/14B shapes) or HunyuanVideo. Layer
// count is settable so that a full-width block fits a small machine; the per-layer time is what
// scales. Reports the bytes each rank sent per step next to the USP formula.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdio>

#include "attention/usp_problem.h"
#include "cli/commands.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/memory_budget.h"
#include "core/timer.h"
#include "parallel/mesh.h"
#include "parallel/runtime.h"
#include "pipeline/family_registry.h"

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
  parallel::ParallelDegrees degrees;
  degrees.ulysses = static_cast<int>(args.get_int_any({"ulysses-degree", "ulysses-size"}, 1));
  degrees.ring = static_cast<int>(args.get_int_any({"ring-degree", "ring-size"}, 1));
  const int iters = static_cast<int>(args.get_int("iters", 3));
  const int warmup = static_cast<int>(args.get_int("warmup", 1));
  const int threads = static_cast<int>(args.get_int("threads", 0));

  const pipeline::ModelFamily* family = pipeline::family_named(model_name);
  require(family != nullptr,
          "--model " + model_name + ": bench dit knows " + pipeline::known_plan_model_names());
  const int64_t single_layers = args.get_int("single-layers", family->bench_single_layers ? layers : 0);
  const int64_t text_padding = args.get_int("text-padding", 0);
  const std::string joint = args.get_string("joint-strategy", "auto");
  const auto device = device_request(args);
  const auto comm = comm_backend(args);
  read_collective_timeout(args);
  args.finish();
  const auto dtype = parse_dtype(dtype_name);
  require(layers >= 0 && single_layers >= 0 && layers + single_layers >= 1 && iters >= 1 && warmup >= 0 &&
              batch >= 1 && text_len >= 1 && text_padding >= 0 && text_padding < text_len,
          "--layers, --iters, --batch and --text-len must be >= 1, --text-padding below --text-len");
  require(height % 16 == 0 && width % 16 == 0,
          "--height and --width must be multiples of 16 (VAE 8× then patch 2×)");
  require(frames % 4 == 1, "--num-frames must be 4n+1 (the VAE compresses time 4×)");
  // In doubles: an absurd size must be refused, not overflow the token count below.
  const double latent_elements = static_cast<double>(batch) * 16 * static_cast<double>((frames - 1) / 4 + 1) *
                                 static_cast<double>(height / 8) * static_cast<double>(width / 8);
  core::require_fits_in_memory(latent_elements * 4 * 2,
                               "bench dit at " + std::to_string(height) + "x" + std::to_string(width) + ", " +
                                   std::to_string(frames) + " frames, batch " + std::to_string(batch),
                               "its fp32 latent input and output alone",
                               "use a smaller --height/--width/--num-frames/--batch");

  // The device first: the random weights are drawn on the CPU and placed there.
  auto rt = parallel::Runtime::start(device, comm);
  const auto& on = rt->device();
  // The model under test, as a forward function of the mesh, plus its attention shape.
  const int64_t tokens = ((frames - 1) / 4 + 1) * (height / 16) * (width / 16);
  pipeline::BenchDitShape shape;
  shape.model = model_name;
  shape.layers = layers;
  shape.single_layers = single_layers;
  shape.height = height, shape.width = width, shape.frames = frames;
  shape.text_len = text_len, shape.batch = batch, shape.text_padding = text_padding;
  shape.joint_strategy = joint;
  shape.dtype = dtype;
  shape.device = on;
  const auto dit = family->bench_dit(shape);
  const auto& step = dit.step;
  const int64_t heads = dit.heads, head_dim = dit.head_dim, attention_calls = dit.attention_calls;
  const int64_t joint_text = dit.joint_text;

  parallel::validate_degrees(degrees, rt->world_size(), static_cast<int>(heads), model_name, false);
  if (threads > 0) at::set_num_threads(threads);
  parallel::ProcessMesh mesh(rt->world(), degrees);

  for (int i = 0; i < warmup; ++i) step(mesh);
  rt->world().barrier();
  rt->world().reset_stats();
  Stopwatch sw;
  for (int i = 0; i < iters; ++i) step(mesh);
  core::synchronize(on);  // GPU kernels run asynchronously: time them to completion
  auto seconds = at::full({1}, sw.seconds() / iters, at::kDouble);
  auto bytes = at::full({1}, static_cast<double>(rt->world().stats().bytes_sent) / iters, at::kDouble);
  rt->world().host_all_reduce_max(seconds);
  rt->world().host_all_reduce_max(bytes);
  // The USP formula per attention call over the joint sequence (video + text when the text
  // travels split), in the run dtype, times the attention calls of a step. The output gather
  // after the head is extra (not attention traffic).
  const int64_t joint_len =
      tokens + (joint_text > 0 && joint_text % degrees.sequence_parallel() == 0 ? joint_text : 0);
  const auto formula =
      attention::traffic_formula(batch, joint_len, heads, head_dim, degrees.ulysses, degrees.ring);
  const double formula_bytes = (formula.ulysses_elements + formula.ring_elements) * c10::elementSize(dtype) *
                               static_cast<double>(attention_calls);
  if (rt->rank() == 0) {
    std::printf(
        "bench dit: %s, %lld+%lld layers, %lldx%lld, %lld frames -> %lld video tokens, text %lld, batch "
        "%lld, "
        "%s, ranks %d (%s), threads/rank %d\n",
        model_name.c_str(), (long long)layers, (long long)single_layers, (long long)width, (long long)height,
        (long long)frames, (long long)tokens, (long long)text_len, (long long)batch, dtype_name.c_str(),
        rt->world_size(), parallel::describe(degrees).c_str(), at::get_num_threads());
    std::printf("step time: %.3f ms (%.3f ms per layer)\n", seconds.item<double>() * 1e3,
                seconds.item<double>() * 1e3 / static_cast<double>(layers + single_layers));
    std::printf(
        "bytes sent per rank per step: %.0f measured, %.0f by the USP formula for %lld attention calls "
        "(+ output gather)\n",
        bytes.item<double>(), formula_bytes, (long long)attention_calls);
  }
  return 0;
}

}  // namespace uspdit::cli
