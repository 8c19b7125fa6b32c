#include "planner/plan_predictions.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace uspdit::planner {
namespace {

constexpr double kRingModelTolerance = 0.10;

int64_t positive_int(const std::optional<std::string>& text, int64_t fallback, const std::string& flag) {
  if (!text) return fallback;
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(*text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  require(used == text->size() && value >= 1,
          "--" + flag + " must be a positive integer, got '" + *text + "'");
  return value;
}

}  // namespace

RunShape run_from_flags(const ModelProfile& model, const RunFlags& flags, bool guided, int dit_bytes) {
  RunShape run = default_run(model);
  run.height = positive_int(flags.height, run.height, "height");
  run.width = positive_int(flags.width, run.width, "width");
  run.frames = positive_int(flags.frames, run.frames, "num_frames");
  run.steps = static_cast<int>(positive_int(flags.steps, run.steps, "num_inference_steps"));
  require(run.height % 16 == 0 && run.width % 16 == 0,
          "--height and --width must be multiples of 16, as generate requires");
  require((run.frames - 1) % 4 == 0, "--num_frames must be 4n+1 (e.g. 81), as generate requires");
  run.guided = guided;
  run.dit_bytes = dit_bytes;
  run.text_encoder_on_every_rank = flags.text_encoder_on_every_rank;
  run.offload_dit_for_decode = flags.offload;
  if (flags.tiling) run.vae_tiled = true;
  run.parallel_vae = !flags.serial_vae;
  return run;
}

int64_t runtime_bytes(const HardwareProfile& hw) {
  return hw.name == "cpu" ? (144LL << 20) + (48LL << 20) : (1LL << 30);
}

Predictions predict(const parallel::Plan& plan, const ModelProfile& model, const RunShape& run,
                    const HardwareProfile& hw, const std::optional<std::string>& max_memory_gib) {
  Predictions p;
  p.hardware = hw;
  p.run = run;
  p.limit_bytes = hw.memory_bytes;
  if (max_memory_gib) {
    double gib_value = 0;
    try {
      gib_value = std::stod(*max_memory_gib);
    } catch (const std::exception&) {
      gib_value = -1;
    }
    require(std::isfinite(gib_value) && gib_value > 0,
            "--max-memory-gib must be a positive number of GiB per rank, got '" + *max_memory_gib + "'");
    p.limit_bytes = static_cast<int64_t>(gib_value * (1LL << 30));
  }
  const Cluster cluster{plan.request.gpus_per_node, plan.request.nodes};
  for (const auto& e : plan.configurations) {
    PredictedRow row;
    row.memory = estimate_memory(model, run, e.degrees, runtime_bytes(hw));
    row.time = estimate_time(model, run, e.degrees, cluster, hw);
    row.fits = row.memory.peak() <= p.limit_bytes;
    p.rows.push_back(row);
  }
  return p;
}

void recommend_fastest_that_fits(parallel::Plan& plan, const Predictions& predicted) {
  int best = -1;
  for (size_t i = 0; i < predicted.rows.size(); ++i) {
    if (!predicted.rows[i].fits) continue;
    if (best < 0 || predicted.rows[i].time.total_seconds < predicted.rows[best].time.total_seconds) {
      best = static_cast<int>(i);
    }
  }
  // The traffic rule's choice (the seeds' rules) stays unless another is predicted more than 10 %
  // faster: the time model assumes the Ring's transfers hide perfectly behind its attention,
  // which favours Ring-heavy meshes by about that much (kRingModelTolerance).
  const auto& traffic_choice = predicted.rows[plan.recommended];
  if (best >= 0 && traffic_choice.fits &&
      traffic_choice.time.total_seconds <=
          predicted.rows[best].time.total_seconds * (1 + kRingModelTolerance)) {
    best = static_cast<int>(plan.recommended);
  }
  char text[200];
  if (best < 0) {
    std::snprintf(text, sizeof text, "; none of the configurations fits in %.1f GiB per rank",
                  static_cast<double>(predicted.limit_bytes) / (1LL << 30));
    plan.reason += text;
    return;
  }
  const size_t chosen = static_cast<size_t>(best);
  if (chosen != plan.recommended) {
    plan.recommended = chosen;
    std::snprintf(text, sizeof text, "predicted fastest that fits on %s: %.1f s per step, %.0f s per run",
                  predicted.hardware.name.c_str(), predicted.rows[chosen].time.step_seconds,
                  predicted.rows[chosen].time.total_seconds);
    plan.reason = text;
  } else {
    std::snprintf(text, sizeof text,
                  "; also the predicted fastest that fits on %s (%.1f s per step, %.0f s per run)",
                  predicted.hardware.name.c_str(), predicted.rows[chosen].time.step_seconds,
                  predicted.rows[chosen].time.total_seconds);
    plan.reason += text;
  }
}

}  // namespace uspdit::planner
