// `uspdit generate`: Wan 2.1 text-to-video, prompt in, mp4 out, on any launch and mesh.
//
// Flags: our spelling and the ones Wan's generate.py and xDiT users already type, e.g.
//   --ckpt_dir DIR --task t2v-1.3B --size 832*480 --frame_num 81 --sample_steps 50
//   --sample_shift 5 --sample_guide_scale 5 --base_seed 42 --ulysses_size 2 --ring_size 2
//   --save_file out.mp4          (Wan)
//   --height 480 --width 832 --num_frames 81 --num_inference_steps 50 --guidance_scale 5
//   --seed 42 --ulysses_degree 2 --ring_degree 2 --use_cfg_parallel   (xDiT)
// Every check that can fail runs before any weight is read.
#include <ATen/Parallel.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <unistd.h>

#include "cli/commands.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/log.h"
#include "parallel/agreement.h"
#include "parallel/mesh.h"
#include "parallel/runtime.h"
#include "io/checkpoint.h"
#include "models/wan/wan_loader.h"
#include "pipeline/bench_report.h"
#include "pipeline/wan_t2v.h"
#include "video/video_writer.h"

namespace uspdit::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: uspdit generate --ckpt_dir DIR --prompt TEXT [--task t2v-1.3B|t2v-14B] [--size W*H | --width W "
    "--height H] [--frame_num 81] [--sample_steps 50] [--sample_shift 5] [--sample_guide_scale 5] "
    "[--sample_solver unipc|dpm++|euler] [--base_seed 0] [--ulysses_size U] [--ring_size R] [--use_cfg_parallel] "
    "[--save_file out.mp4] [--save_frames DIR] [--dtype bf16|fp32] [--warmup_steps N] [--n_repeats N] "
    "[--bench_output DIR] [--enable_tiling [--vae-tile-size 256 --vae-tile-stride 192]] [--device auto|cuda|cpu] "
    "[--comm auto|nccl|host-staged] [--t5_cpu] [--offload_model True]";

void require_writable_dir(const fs::path& dir, const std::string& flag) {
  const fs::path d = dir.empty() ? fs::path(".") : dir;
  require(fs::is_directory(d), flag + ": directory " + d.string() + " does not exist; create it first");
  require(access(d.c_str(), W_OK) == 0, flag + ": directory " + d.string() + " is not writable");
}

// Wan names its tasks by model size; the DiT's config tells which one a directory holds.
std::string task_of(const models::wan::WanConfig& config) { return config.dim >= 5120 ? "t2v-14B" : "t2v-1.3B"; }

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&now));
  return buf;
}

}  // namespace

int run_generate(Args& args) {
  const auto ckpt_dir = args.get_any({"ckpt-dir", "model"});
  pipeline::WanT2vRequest request;
  const auto task = args.get("task");
  request.prompt = args.get_string("prompt", "");
  request.negative_prompt = args.get_string("negative-prompt", "");
  if (const auto size = args.get("size")) pipeline::parse_wan_size(*size, request.width, request.height);
  request.width = args.get_int("width", request.width);
  request.height = args.get_int("height", request.height);
  request.frames = args.get_int_any({"frame-num", "num-frames"}, 81);
  request.steps = static_cast<int>(args.get_int_any({"sample-steps", "num-inference-steps"}, 50));
  request.shift = args.get_double_any({"sample-shift", "shift", "flow-shift"}, 5.0);
  request.guide_scale = args.get_double_any({"sample-guide-scale", "guidance-scale"}, 5.0);
  request.seed = args.get_int_any({"base-seed", "seed"}, 0);
  request.solver = sampling::parse_solver(args.get_any({"sample-solver", "solver"}).value_or("unipc"));
  request.text_len = args.get_int_any({"text-len", "max-sequence-length"}, 0);
  parallel::ParallelDegrees degrees;
  degrees.ulysses = static_cast<int>(args.get_int_any({"ulysses-degree", "ulysses-size"}, 1));
  degrees.ring = static_cast<int>(args.get_int_any({"ring-degree", "ring-size"}, 1));
  degrees.cfg = args.flag("use-cfg-parallel") ? 2 : 1;
  const std::string save_file = args.get_string("save-file", "");
  const std::string frames_dir = args.get_string("save-frames", "");
  const std::string bench_dir = args.get_string("bench-output", "");
  pipeline::WanT2vSettings settings;
  settings.dit_dtype = parse_dtype(args.get_string("dtype", "bf16"));
  settings.text_dtype = parse_dtype(args.get_any({"text-dtype", "t5-dtype"}).value_or("bf16"));
  settings.warmup_steps = static_cast<int>(args.get_int("warmup-steps", 0));
  settings.n_repeats = static_cast<int>(args.get_int("n-repeats", 1));
  settings.parallel_vae = !args.flag("serial-vae");
  // xDiT's --enable_tiling: diffusers-style tiles (approximate, less memory); sizes in pixels.
  const pipeline::VaeTiling tiling{args.get_int("vae-tile-size", 256), args.get_int("vae-tile-stride", 192)};
  if (args.flag("enable-tiling")) settings.vae_tiling = tiling;
  // xDiT's --enable_slicing decodes a batch one sample at a time; generate always decodes one.
  (void)args.flag("enable-slicing");
  settings.text_encoder_on_every_rank = args.flag("text-encoder-on-every-rank");
  settings.show_progress = !args.flag("no-progress");
  // Wan's --t5_cpu: the text encoder runs on the host (no GPU memory for umt5-xxl's 11 GB).
  const bool t5_cpu = args.flag("t5-cpu");
  settings.offload_model = args.flag("offload-model");
  pipeline::WanT2vFileOverrides overrides;
  overrides.text_encoder = args.get_string("t5-checkpoint", "");
  overrides.tokenizer = args.get_string("tokenizer", "");
  overrides.vae = args.get_string("vae-checkpoint", "");
  const int fps = static_cast<int>(args.get_int("fps", 16));
  // Wan's cache_video writes through imageio at quality 8, which is libx264 crf 10.
  const int crf = static_cast<int>(args.get_int("crf", 10));
  const int threads = static_cast<int>(args.get_int("threads", 0));
  const auto device = device_request(args);
  const auto comm = comm_backend(args);
  args.finish();

  require(ckpt_dir.has_value(), std::string("--ckpt_dir is required. ") + kUsage);
  require(settings.warmup_steps >= 0 && settings.n_repeats >= 1, "--warmup_steps must be >= 0 and --n_repeats >= 1");
  require(fps >= 1 && fps <= 240, "--fps must be 1..240");
  require(tiling.stride > 0 && tiling.tile >= tiling.stride && tiling.tile % 8 == 0 && tiling.stride % 8 == 0,
          "--vae-tile-size and --vae-tile-stride must be multiples of 8 pixels with size >= stride > 0");

  // Everything below that can fail on bad input runs on every rank before any weight is read.
  auto rt = parallel::Runtime::start(device, comm);
  settings.device = rt->device();
  settings.text_device = t5_cpu ? core::host_device() : rt->device();
  if (threads > 0) at::set_num_threads(threads);
  auto& world = rt->world();
  pipeline::WanT2vFiles files;
  models::wan::WanConfig dit_config;
  parallel::run_agreed(world, [&] {
    files = pipeline::locate_wan_t2v_files(*ckpt_dir, overrides);
    const auto dit = models::wan::locate_wan_checkpoint(files.dit);
    dit_config = dit.config;
    // Opening a checkpoint reads only its index (safetensors header, zip directory): cheap, and
    // it catches truncated or corrupt weight files now rather than after the text encoder ran.
    io::open_checkpoint(dit.weights_dir);
    io::open_checkpoint(files.text_encoder);
  });
  request.task = task.value_or(task_of(dit_config));
  pipeline::validate(request);
  parallel::validate_degrees(degrees, rt->world_size(), static_cast<int>(dit_config.num_heads), "Wan 2.1 " + request.task,
                         true);
  require(degrees.cfg == 1 || request.uses_cfg(),
          "--use_cfg_parallel needs classifier-free guidance: --sample_guide_scale 1 has a single branch");
  const std::string output = !save_file.empty()
                                 ? save_file
                                 : "wan_" + request.task + "_" + std::to_string(request.width) + "x" +
                                       std::to_string(request.height) + "x" + std::to_string(request.frames) +
                                       "_seed" + std::to_string(request.seed) + ".mp4";
  require(fs::path(output).extension() == ".mp4", "--save_file " + output + ": the video is written as .mp4");
  // Before any work: a build without FFmpeg would compute the whole video and then fail to save it.
  require(video::mp4_supported(), "--save_file " + output +
                                      ": this uspdit is built without FFmpeg (CMake USPDIT_WITH_VIDEO), so it "
                                      "cannot write mp4; rebuild with FFmpeg's -dev packages installed");
  require_writable_dir(fs::path(output).parent_path(), "--save_file " + output);
  if (const auto warning = pipeline::untrained_size_warning(request); !warning.empty()) log::info("note: " + warning);

  log::info("generate: Wan 2.1 " + request.task + " from " + *ckpt_dir + " (" + files.layout + " layout), " +
            std::to_string(request.width) + "x" + std::to_string(request.height) + ", " +
            std::to_string(request.frames) + " frames, " + std::to_string(request.steps) + " steps, " +
            std::to_string(rt->world_size()) + " rank(s) on " + core::device_label(rt->device()) + ": " +
            parallel::describe(degrees));
  parallel::ProcessMesh mesh(world, degrees);
  pipeline::WanT2vPipeline pipe(mesh, files, settings);
  const auto video = core::to_host(pipe.generate(request));

  // Rank 0 writes; every rank learns whether that worked, so none exits 0 after a failed write.
  parallel::run_agreed(world, [&] {
    if (rt->rank() != 0) return;
    const auto rgb = video::to_rgb8(video);
    video::Mp4Options mp4;
    mp4.fps = fps;
    mp4.crf = crf;
    video::write_mp4(output, rgb, mp4);
    if (!frames_dir.empty()) video::write_png_frames(frames_dir, rgb);
  });
  log::info("wrote " + output + (frames_dir.empty() ? "" : " and PNG frames in " + frames_dir));

  const auto ranks = pipeline::gather_stage_records(world, pipe.record());
  if (!bench_dir.empty()) {
    parallel::run_agreed(world, [&] {
      if (rt->rank() != 0) return;
      pipeline::BenchConfig config;
      config.text = {{"model", "wan2.1-" + request.task},
                     {"ckpt_dir", *ckpt_dir},
                     {"layout", files.layout},
                     {"prompt", request.prompt},
                     {"solver", std::string(sampling::solver_name(request.solver))},
                     {"dtype", dtype_name(settings.dit_dtype)},
                     {"mesh", parallel::describe(degrees)},
                     {"output", output}};
      config.numbers = {{"width", static_cast<double>(request.width)},
                        {"height", static_cast<double>(request.height)},
                        {"num_frames", static_cast<double>(request.frames)},
                        {"num_inference_steps", request.steps},
                        {"shift", request.shift},
                        {"guidance_scale", request.guide_scale},
                        {"seed", static_cast<double>(request.seed)},
                        {"world_size", rt->world_size()},
                        {"nodes", rt->nodes().num_nodes},
                        {"ulysses_degree", degrees.ulysses},
                        {"ring_degree", degrees.ring},
                        {"cfg_degree", degrees.cfg},
                        {"threads_per_rank", at::get_num_threads()},
                        {"warmup_steps", settings.warmup_steps},
                        {"n_repeats", settings.n_repeats}};
      const auto json = pipeline::bench_report_json(config, pipe.record(), ranks, rt->nodes().node_of_rank);
      const auto path = pipeline::write_bench_report(
          bench_dir, "wan_" + request.task + "_" + std::to_string(rt->world_size()) + "ranks_" + timestamp(), json);
      log::info("benchmark report: " + path);
    });
  }
  return 0;
}

}  // namespace uspdit::cli
