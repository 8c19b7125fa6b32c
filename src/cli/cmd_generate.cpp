// `uspdit generate`: text-to-video, prompt in, mp4 out, on any launch and mesh. The model family
// is found from the files (pipeline/family_registry.h); the family reads its own flags — Wan's
// generate.py names for Wan 2.1, sample_video.py's for HunyuanVideo — and this command does the
// rest, the same for every family:
//   --ulysses_degree/--ulysses_size U --ring_degree/--ring_size R --use_cfg_parallel   (mesh)
//   --save_frames DIR --save_video_tensor FILE --save_strip FILE.png --bench_output DIR --warmup_steps N
//   --n_repeats N --serial-vae
//   --text-encoder-on-every-rank --no-progress --fps --crf --threads --device --comm --timeout
// and the step-cache flags (cache/cache_flags.h), which each family resolves to its reference's
// numbers.
// Every check that can fail runs before any weight is read.
#include <ATen/Parallel.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include "cache/cache_flags.h"
#include "cli/commands.h"
#include "cli/generate_preflight.h"
#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory_budget.h"
#include "core/utf8_check.h"
#include "core/where.h"
#include "core/write_probe.h"
#include "io/safetensors_writer.h"
#include "parallel/agreement.h"
#include "parallel/mesh.h"
#include "parallel/runtime.h"
#include "pipeline/bench_report.h"
#include "pipeline/family_registry.h"
#include "pipeline/model_defaults.h"
#include "pipeline/t2v_pipeline.h"
#include "video/video_writer.h"

namespace uspdit::cli {
namespace {

namespace fs = std::filesystem;

void require_utf8(const std::string& text, const std::string& what) {
  const size_t bad = core::first_invalid_utf8(text);
  if (bad == std::string::npos) return;
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[bad]));
  throw UsageError(what + " is not valid UTF-8 (byte " + byte + " at offset " + std::to_string(bad) +
                   "): give the text in UTF-8");
}

// The decoded video alone (fp32 RGB, then its 8-bit copy, both on rank 0) must fit the machine:
// a size or frame count that cannot is refused before any weight is read.
void require_video_fits(const pipeline::T2vRequest& request) {
  const auto& shape = request.latent_shape;  // [1, C, T, h, w]: VAE 4x in time, 8x in space
  if (shape.size() != 5) return;
  const double frames = static_cast<double>(shape[2] - 1) * 4 + 1;
  const double pixels = frames * static_cast<double>(shape[3]) * 8 * static_cast<double>(shape[4]) * 8;
  core::require_fits_in_memory(
      pixels * (3 * 4 + 3),
      "a " + std::to_string(shape[3] * 8) + "x" + std::to_string(shape[4] * 8) +
          " (height x width) video of " + std::to_string(static_cast<int64_t>(frames)) + " frames",
      "its decoded frames in fp32 and 8-bit RGB on rank 0", "use a smaller size or fewer frames");
}

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&now));
  return buf;
}

}  // namespace

int run_generate(Args& args) {
  // Where the model is: Wan's --ckpt_dir, xDiT's --model, sample_video.py's --model-base.
  // Without one: the project's demo model (pipeline/model_defaults.h), so that
  // `uspdit generate --prompt "a red circle moving right"` alone draws something.
  auto location = args.get_any({"ckpt-dir", "model", "model-base"});
  if (!location) {
    const auto demo = pipeline::default_model_dir("");
    if (!demo.empty()) location = demo;
  }
  parallel::ParallelDegrees degrees;
  degrees.ulysses = static_cast<int>(args.get_int_any({"ulysses-degree", "ulysses-size"}, 1));
  degrees.ring = static_cast<int>(args.get_int_any({"ring-degree", "ring-size"}, 1));
  degrees.cfg = args.flag("use-cfg-parallel") ? 2 : 1;
  const std::string frames_dir = args.get_string("save-frames", "");
  // The decoded video before 8-bit rounding (float32 [1, 3, F, H, W], key "video"): runs on
  // different meshes are compared with it to a tolerance, which PNG frames cannot show.
  const std::string tensor_file = args.get_string("save-video-tensor", "");
  // Every 4th frame side by side in one PNG: the motion at a glance (README, model card).
  const std::string strip_file = args.get_string("save-strip", "");
  const std::string bench_dir = args.get_string("bench-output", "");
  pipeline::T2vSettings settings;
  settings.warmup_steps = static_cast<int>(args.get_int("warmup-steps", 0));
  settings.n_repeats = static_cast<int>(args.get_int("n-repeats", 1));
  settings.parallel_vae = !args.flag("serial-vae");
  settings.text_encoder_on_every_rank = args.flag("text-encoder-on-every-rank");
  settings.show_progress = !args.flag("no-progress");
  const int threads = static_cast<int>(args.get_int("threads", 0));
  const auto device = device_request(args);
  const auto comm = comm_backend(args);
  const auto memory_check = read_memory_check_flags(args);
  read_collective_timeout(args);
  require(location.has_value(),
          "--ckpt_dir DIR (HunyuanVideo: --model-base DIR) is required: the model folder (the demo model "
          "models/demo-shapes-t2v, used without it, is not beside this binary; set USPDIT_DEFAULT_MODEL "
          "to its folder); `uspdit generate --help` lists the flags");
  require(settings.warmup_steps >= 0 && settings.n_repeats >= 1,
          "--warmup_steps must be >= 0 and --n_repeats >= 1");

  // Everything below that can fail on bad input runs on every rank before any weight is read.
  auto rt = parallel::Runtime::start(device, comm);
  if (threads > 0) at::set_num_threads(threads);
  auto& world = rt->world();
  const pipeline::ModelFamily* family = nullptr;
  parallel::run_agreed(world, [&] { family = &pipeline::detect_family(*location, "auto"); });
  // The family's own flags, then nothing may be left unread.
  auto job = family->read_t2v_job(args, *location);
  const int fps = static_cast<int>(args.get_int("fps", family->t2v.fps));
  const int crf = static_cast<int>(args.get_int("crf", family->t2v.crf));
  args.finish();
  require(fps >= 1 && fps <= 240, "--fps must be 1..240");
  require(crf >= 0 && crf <= 51, "--crf must be 0..51 (H.264: 0 lossless, 23 x264's default)");

  parallel::run_agreed(world, [&] { job->check_files(); });
  job->validate();
  // After check_files: a family's settings may follow the checkpoint (HunyuanVideo's reference).
  job->apply_settings(settings, rt->device());
  settings.device = rt->device();
  parallel::validate_degrees(degrees, rt->world_size(), job->heads(), job->model_label(), true);
  const auto request = job->request();
  require_utf8(request.prompt, "--prompt");
  require_utf8(request.negative_prompt, "the negative prompt");
  require_video_fits(request);
  require(degrees.cfg == 1 || request.guided, job->no_guidance_hint());
  const std::string output = job->output_path();
  require(fs::path(output).extension() == ".mp4", "--save_file " + output + ": the video is written as .mp4");
  // Before any work: a build without FFmpeg would compute the whole video and then fail to save it.
  require(video::mp4_supported(),
          "--save_file " + output +
              ": this uspdit is built without FFmpeg (CMake USPDIT_WITH_VIDEO), so it "
              "cannot write mp4; rebuild with FFmpeg's -dev packages installed");
  if (!strip_file.empty()) {
    require(fs::path(strip_file).extension() == ".png",
            "--save_strip " + strip_file + ": the strip is a .png");
  }
  if (!tensor_file.empty()) {
    require(fs::path(tensor_file).extension() == ".safetensors",
            "--save_video_tensor " + tensor_file + ": the tensor is written as .safetensors");
  }
  // Rank 0 writes every output: before any weight is read it creates (and removes) a file where
  // each will go, and every rank learns the answer (a read-only or missing folder fails now).
  parallel::run_agreed(world, [&] {
    if (rt->rank() != 0) return;
    core::probe_writable_directory(fs::path(output).parent_path(), "--save_file " + output);
    if (!frames_dir.empty()) {
      core::probe_writable_directory(core::nearest_existing(frames_dir), "--save_frames " + frames_dir);
    }
    if (!tensor_file.empty()) {
      core::probe_writable_directory(fs::path(tensor_file).parent_path(),
                                     "--save_video_tensor " + tensor_file);
    }
    if (!strip_file.empty()) {
      core::probe_writable_directory(fs::path(strip_file).parent_path(), "--save_strip " + strip_file);
    }
    if (!bench_dir.empty()) {
      core::probe_writable_directory(core::nearest_existing(bench_dir), "--bench_output " + bench_dir);
    }
  });
  for (const auto& note : job->notes()) log::info("note: " + note);
  memory_preflight(*rt, *job, settings, degrees, memory_check);
  auto plugin = job->make_family(settings);
  require(plugin != nullptr, family->display_name +
                                 " text-to-video is not available yet (its text encoders and VAE "
                                 "are not part of this build); every check passed — use `uspdit "
                                 "forward` or `uspdit bench dit` to run its DiT");

  log::info("generate: " + job->describe() + ", " + std::to_string(rt->world_size()) + " rank(s) on " +
            core::device_label(rt->device()) + ": " + parallel::describe(degrees));
  for (const auto& line : job->startup_lines()) log::info("generate: " + line);
  parallel::ProcessMesh mesh(world, degrees);
  pipeline::T2vPipeline pipe(mesh, std::move(plugin), settings);
  const auto video = core::to_host(pipe.generate(request));

  // Rank 0 writes; every rank learns whether that worked, so none exits 0 after a failed write.
  where::set_stage("write_output");
  parallel::run_agreed(world, [&] {
    if (rt->rank() != 0) return;
    const auto rgb = video::to_rgb8(video, job->frame_rounding());
    video::Mp4Options mp4;
    mp4.fps = fps;
    mp4.crf = crf;
    video::write_mp4(output, rgb, mp4);
    if (!frames_dir.empty()) video::write_png_frames(frames_dir, rgb);
    if (!tensor_file.empty()) io::write_safetensors(tensor_file, {{"video", video.to(at::kFloat)}});
    if (!strip_file.empty()) video::write_png_image(strip_file, video::frame_strip(rgb, 4));
  });
  log::info("wrote " + output + (frames_dir.empty() ? "" : " and PNG frames in " + frames_dir) +
            (strip_file.empty() ? "" : ", the frame strip " + strip_file));

  const auto ranks = pipeline::gather_stage_records(world, pipe.record());
  if (!bench_dir.empty()) {
    parallel::run_agreed(world, [&] {
      if (rt->rank() != 0) return;
      auto config = job->bench_config();
      config.text.push_back({"mesh", parallel::describe(degrees)});
      config.text.push_back({"output", output});
      for (const auto& [key, value] :
           std::vector<std::pair<std::string, double>>{{"world_size", rt->world_size()},
                                                       {"nodes", rt->nodes().num_nodes},
                                                       {"ulysses_degree", degrees.ulysses},
                                                       {"ring_degree", degrees.ring},
                                                       {"cfg_degree", degrees.cfg},
                                                       {"threads_per_rank", at::get_num_threads()},
                                                       {"warmup_steps", settings.warmup_steps},
                                                       {"n_repeats", settings.n_repeats}}) {
        config.numbers.push_back({key, value});
      }
      const auto json = pipeline::bench_report_json(config, pipe.record(), ranks, rt->nodes().node_of_rank);
      const auto path = pipeline::write_bench_report(
          bench_dir, job->bench_stem() + "_" + std::to_string(rt->world_size()) + "ranks_" + timestamp(),
          json);
      log::info("benchmark report: " + path);
    });
  }
  return 0;
}

}  // namespace uspdit::cli
