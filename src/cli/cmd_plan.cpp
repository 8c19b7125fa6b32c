// `uspdit plan`: every (ulysses, ring, cfg) mesh that can run a model on a cluster, with the
// traffic each sends, and the one to use. Flags and rendering only; the arithmetic is
// parallel/plan.cpp. Needs no MPI: it runs on a login node before the job is launched.
#include <cstdio>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "parallel/plan.h"
#include "pipeline/calibration_step.h"
#include "pipeline/family_registry.h"
#include "planner/cpu_calibration.h"
#include "planner/hardware_profiles.h"
#include "planner/link_measurements.h"
#include "planner/plan_predictions.h"
#include "planner/time_model.h"

namespace uspdit::cli {
namespace {

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char ch : text) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (ch < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", ch);
          out += escaped;
        } else {
          out += static_cast<char>(ch);  // UTF-8 passes through unchanged, as JSON allows
        }
    }
  }
  return out + "\"";
}

std::string json_bytes(double bytes) {
  char text[40];
  std::snprintf(text, sizeof text, "%.0f", bytes);
  return text;
}

std::string json_traffic(const parallel::Traffic& t) {
  return "{\"total\": " + json_bytes(t.total()) + ", \"intra_node\": " + json_bytes(t.intra_node) +
         ", \"inter_node\": " + json_bytes(t.inter_node) + "}";
}

std::string json_degrees(const parallel::ParallelDegrees& d) {
  return "\"ulysses_degree\": " + std::to_string(d.ulysses) + ", \"ring_degree\": " + std::to_string(d.ring) +
         ", \"cfg_degree\": " + std::to_string(d.cfg);
}

std::string recommended_flags(const parallel::ParallelDegrees& d) {
  return "--ulysses-degree " + std::to_string(d.ulysses) + " --ring-degree " + std::to_string(d.ring) +
         (d.cfg == 2 ? " --use_cfg_parallel" : "");
}

void print_json(const parallel::Plan& plan, const std::string& dtype, const planner::Predictions* predicted) {
  const auto& q = plan.request;
  std::printf("{\n  \"model\": %s,\n  \"heads\": %d,\n  \"head_dim\": %d,\n  \"layers\": %d,\n",
              json_string(q.model).c_str(), q.heads, q.head_dim, q.layers);
  std::printf("  \"seq_len\": %lld,\n  \"dtype\": %s,\n  \"dtype_bytes\": %d,\n",
              static_cast<long long>(q.seq_len), json_string(dtype).c_str(), q.dtype_bytes);
  std::printf("  \"gpus_per_node\": %d,\n  \"nodes\": %d,\n  \"world_size\": %d,\n  \"cfg\": %s,\n",
              q.gpus_per_node, q.nodes, q.world(), q.cfg ? "true" : "false");
  if (predicted) {
    const auto& r = predicted->run;
    std::printf(
        "  \"hardware\": {\"name\": %s, \"description\": %s, \"peak_flops\": %.4g, \"achieved_fraction\": "
        "%.3g, "
        "\"gemm_flops\": %.4g, \"attention_flops\": %.4g, \"memory_limit_bytes\": %lld},\n",
        json_string(predicted->hardware.name).c_str(), json_string(predicted->hardware.description).c_str(),
        predicted->hardware.peak_flops, predicted->hardware.achieved_fraction,
        predicted->hardware.gemm_rate(), predicted->hardware.attention_rate(),
        static_cast<long long>(predicted->limit_bytes));
    std::printf(
        "  \"run\": {\"height\": %lld, \"width\": %lld, \"num_frames\": %lld, \"num_inference_steps\": %d, "
        "\"guided\": %s},\n",
        static_cast<long long>(r.height), static_cast<long long>(r.width), static_cast<long long>(r.frames),
        r.steps, r.guided ? "true" : "false");
  }
  std::printf("  \"recommended\": {%s, \"flags\": %s, \"reason\": %s},\n",
              json_degrees(plan.best().degrees).c_str(),
              json_string(recommended_flags(plan.best().degrees)).c_str(), json_string(plan.reason).c_str());
  std::printf("  \"configurations\": [\n");
  for (size_t i = 0; i < plan.configurations.size(); ++i) {
    const auto& e = plan.configurations[i];
    std::string prediction;
    if (predicted) {
      const auto& p = predicted->rows[i];
      char text[400];
      std::snprintf(
          text, sizeof text,
          ",\n     \"peak_memory_bytes\": %lld, \"peak_memory_rank0_bytes\": %lld, \"step_seconds\": %.6g, "
          "\"text_seconds\": %.6g, \"decode_seconds\": %.6g, \"total_seconds\": %.6g, \"fits\": %s",
          static_cast<long long>(p.memory.peak()), static_cast<long long>(p.memory.peak_rank0),
          p.time.step_seconds, p.time.text_seconds, p.time.decode_seconds, p.time.total_seconds,
          p.fits ? "true" : "false");
      prediction = text;
    }
    std::printf(
        "    {%s, \"recommended\": %s,\n     \"ulysses_bytes_per_call\": %s, \"ring_bytes_per_call\": %s,\n"
        "     \"bytes_per_call\": %s,\n"
        "     \"gather_bytes_per_step\": %s, \"cfg_exchange_bytes_per_step\": %s,\n"
        "     \"bytes_per_step\": %s%s}%s\n",
        json_degrees(e.degrees).c_str(), i == plan.recommended ? "true" : "false",
        json_bytes(e.ulysses_bytes_per_call).c_str(), json_bytes(e.ring_bytes_per_call).c_str(),
        json_traffic(e.per_call).c_str(), json_bytes(e.gather_bytes_per_step).c_str(),
        json_bytes(e.cfg_exchange_bytes_per_step).c_str(), json_traffic(e.per_step).c_str(),
        prediction.c_str(), i + 1 < plan.configurations.size() ? "," : "");
  }
  std::printf("  ]\n}\n");
}

void print_predictions(const parallel::Plan& plan, const planner::Predictions& predicted) {
  const auto& r = predicted.run;
  std::printf("\npredicted on %s (%s), %lldx%lld, %lld frames, %d steps%s; a rank may use %s\n",
              predicted.hardware.name.c_str(), predicted.hardware.description.c_str(),
              static_cast<long long>(r.width), static_cast<long long>(r.height),
              static_cast<long long>(r.frames), r.steps, r.guided ? ", CFG" : "",
              planner::gib(predicted.limit_bytes).c_str());
  std::printf("   ulysses  ring  cfg |  peak/rank  (stage)        | step s    total s   | fits\n");
  for (size_t i = 0; i < plan.configurations.size(); ++i) {
    const auto& e = plan.configurations[i];
    const auto& p = predicted.rows[i];
    std::printf("%s %7d %5d %4d | %10s  (%-12s) | %9.3f %9.1f | %s\n", i == plan.recommended ? "=>" : "  ",
                e.degrees.ulysses, e.degrees.ring, e.degrees.cfg, planner::gib(p.memory.peak()).c_str(),
                p.memory.peak_stage.c_str(), p.time.step_seconds, p.time.total_seconds,
                p.fits ? "yes" : "NO");
  }
}

void print_table(const parallel::Plan& plan, const std::string& dtype,
                 const planner::Predictions* predicted) {
  const auto& q = plan.request;
  std::printf(
      "plan: %s, %d heads x %d, %d attention layers/step, %lld video tokens, %s; %d node%s x %d GPUs = %d "
      "ranks, %s\n",
      q.model.c_str(), q.heads, q.head_dim, q.layers, static_cast<long long>(q.seq_len), dtype.c_str(),
      q.nodes, q.nodes == 1 ? "" : "s", q.gpus_per_node, q.world(), q.cfg ? "with CFG" : "no CFG");
  std::printf("bytes sent by one rank (the one sending the most between nodes); intra = to its own node\n\n");
  std::printf(
      "   ulysses  ring  cfg | per call:  total       intra       inter | per step:  total       intra       "
      "inter\n");
  for (size_t i = 0; i < plan.configurations.size(); ++i) {
    const auto& e = plan.configurations[i];
    std::printf("%s %7d %5d %4d | %16s %11s %11s | %16s %11s %11s\n", i == plan.recommended ? "=>" : "  ",
                e.degrees.ulysses, e.degrees.ring, e.degrees.cfg,
                parallel::format_bytes(e.per_call.total()).c_str(),
                parallel::format_bytes(e.per_call.intra_node).c_str(),
                parallel::format_bytes(e.per_call.inter_node).c_str(),
                parallel::format_bytes(e.per_step.total()).c_str(),
                parallel::format_bytes(e.per_step.intra_node).c_str(),
                parallel::format_bytes(e.per_step.inter_node).c_str());
  }
  if (q.output_bytes > 0) {
    std::printf(
        "\nper step = the attention calls + once per step the prediction's all-gather over the sequence "
        "group\n(%s a sample, fp32)%s.\n",
        parallel::format_bytes(q.output_bytes).c_str(),
        q.cfg ? " + on cfg 2 rows its exchange with the other half" : "");
  }
  if (q.cfg) {
    std::printf(
        "\ncfg 2 rows: the two branches exchange no attention traffic, only their predictions once a step;\n"
        "each half runs one branch at batch 1, where cfg 1 rows run both branches through every rank\n"
        "as batch 2.\n");
  }
  if (predicted) print_predictions(plan, *predicted);
  std::printf("\nrecommended: %s  # %s\n", recommended_flags(plan.best().degrees).c_str(),
              plan.reason.c_str());
}

int to_int(int64_t value, const std::string& flag) {
  require(value >= 1 && value <= (1 << 30),
          "--" + flag + " must be between 1 and 2^30, got " + std::to_string(value));
  return static_cast<int>(value);
}

}  // namespace

int run_plan(Args& args) {
  const std::optional<std::string> model_name = args.get("model");
  const bool has_heads = args.has("heads"), has_head_dim = args.has("head-dim");
  const int64_t heads = args.get_int("heads", 0);
  const int64_t head_dim = args.get_int("head-dim", 128);
  const bool has_seq_len = args.has("seq-len"), has_layers = args.has("layers");
  const int64_t seq_len = args.get_int("seq-len", 0);
  const int64_t layers = args.get_int("layers", 1);
  const int64_t gpus_per_node = args.get_int("gpus-per-node", 8);
  const int64_t nodes = args.get_int("nodes", 1);
  const bool cfg_flag = args.flag("cfg");
  const bool cfg = args.flag("use-cfg-parallel") || cfg_flag;
  planner::RunFlags run_flags;
  run_flags.height = args.get("height");
  run_flags.width = args.get("width");
  run_flags.frames = args.get_any({"num-frames", "frame-num", "video-length"});
  run_flags.steps = args.get_any({"num-inference-steps", "sample-steps", "infer-steps"});
  run_flags.text_encoder_on_every_rank = args.flag("text-encoder-on-every-rank");
  run_flags.offload = args.flag("offload-model");
  run_flags.tiling = args.flag("enable-tiling");
  run_flags.serial_vae = args.flag("serial-vae");
  const std::string gpu = args.get_string("gpu", "h100");
  const bool calibrate = args.flag("calibrate");
  const auto links_file = args.get("links");
  const auto max_memory = args.get("max-memory-gib");
  const std::string dtype = args.get_string("dtype", "bf16");
  const bool json = args.flag("json");
  args.finish();

  parallel::PlanRequest q;
  if (model_name) {
    const parallel::ModelSpec* spec = pipeline::find_plan_model(*model_name);
    require(spec != nullptr, "unknown --model '" + *model_name + "': known models are " +
                                 pipeline::known_plan_model_names() +
                                 " (or describe one with --heads and --seq-len)");
    require(!has_heads && !has_head_dim,
            "--heads and --head-dim are fixed by --model " + spec->name + " (" + std::to_string(spec->heads) +
                " x " + std::to_string(spec->head_dim) + "); drop them, or drop --model");
    q.model = spec->name;
    q.heads = spec->heads;
    q.head_dim = spec->head_dim;
    q.layers = has_layers ? to_int(layers, "layers") : spec->layers;
    q.seq_len = has_seq_len ? seq_len : spec->default_seq_len;
  } else {
    require(has_heads,
            "give --model NAME (" + pipeline::known_plan_model_names() + ") or --heads N --seq-len L");
    require(has_seq_len,
            "--heads needs --seq-len L (video tokens per sample): there is no model to take it from");
    q.model = "custom";
    q.heads = to_int(heads, "heads");
    q.head_dim = to_int(head_dim, "head-dim");
    q.layers = to_int(layers, "layers");
    q.seq_len = seq_len;
  }
  require(q.seq_len >= 1, "--seq-len must be >= 1, got " + std::to_string(q.seq_len));
  q.gpus_per_node = to_int(gpus_per_node, "gpus-per-node");
  q.nodes = to_int(nodes, "nodes");
  q.cfg = cfg;
  q.dtype_bytes = parallel::dtype_bytes(dtype);

  std::optional<planner::Predictions> predicted;
  const planner::ModelProfile* profile = model_name ? planner::published_profile(q.model) : nullptr;
  std::optional<planner::RunShape> run;
  std::optional<planner::ModelProfile> fewer_layers;
  if (profile && has_layers) {
    // --layers on a published model: the same widths with fewer blocks (what the random-weight
    // checkpoints of tools/make_random_*_checkpoint.py hold); HunyuanVideo splits them evenly
    // between double- and single-stream blocks.
    fewer_layers = planner::with_layers(*profile, q.layers);
    profile = &*fewer_layers;
  }
  if (profile) {
    run = planner::run_from_flags(*profile, run_flags, cfg, q.dtype_bytes);
    if (!has_seq_len) q.seq_len = run->video_tokens(profile->dit);
    q.output_bytes = planner::dit_output_bytes(profile->dit, q.seq_len);
  } else {
    require(!run_flags.any(),
            "--height/--width/--num_frames/--num_inference_steps need --model (a published "
            "model); with --heads give --seq-len");
  }
  parallel::Plan plan = parallel::make_plan(q);
  if (profile) {
    planner::HardwareProfile hw;
    if (gpu == "cpu") {
      hw = planner::cpu_profile(
          planner::calibrate_cpu(q.dtype_bytes, calibrate, pipeline::calibration_step_timer(q.dtype_bytes)));
    } else {
      const planner::HardwareProfile* found = planner::find_gpu_profile(gpu);
      require(found != nullptr, "unknown --gpu '" + gpu + "': use one of " + planner::known_gpu_names());
      hw = *found;
    }
    if (links_file) planner::apply_link_measurements(hw, *links_file);
    predicted = planner::predict(plan, *profile, *run, hw, max_memory);
    planner::recommend_fastest_that_fits(plan, *predicted);
  }
  if (json) {
    print_json(plan, dtype, predicted ? &*predicted : nullptr);
  } else {
    print_table(plan, dtype, predicted ? &*predicted : nullptr);
  }
  return 0;
}

}  // namespace uspdit::cli
