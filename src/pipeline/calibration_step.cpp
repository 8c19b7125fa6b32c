#include "pipeline/calibration_step.h"

#include <ATen/ATen.h>

#include <map>
#include <memory>

#include "core/device.h"
#include "core/timer.h"
#include "parallel/mesh.h"
#include "parallel/self_communicator.h"
#include "pipeline/family_registry.h"

namespace uspdit::pipeline {

planner::StepTimer calibration_step_timer(int dtype_bytes) {
  // Models are built once per block count and kept for the calibration's repeats (building one
  // draws ~50 M random weights a block: slower than the step it times).
  auto models = std::make_shared<std::map<int, BenchDit>>();
  auto world = std::make_shared<parallel::SelfCommunicator>();
  return [=](int layers) {
    auto& dit = (*models)[layers];
    if (!dit.step) {
      BenchDitShape shape;
      shape.model = planner::kCalibrationModel;
      shape.layers = layers;
      shape.height = planner::kCalibrationHeight;
      shape.width = planner::kCalibrationWidth;
      shape.frames = planner::kCalibrationFrames;
      shape.dtype = dtype_bytes == 2 ? at::kBFloat16 : at::kFloat;
      shape.device = core::host_device();
      dit = family_named(shape.model)->bench_dit(shape);
      parallel::ProcessMesh warm(*world, parallel::ParallelDegrees{});
      (void)dit.step(warm);  // first-call costs (kernel selection, allocator growth) stay out
    }
    parallel::ProcessMesh mesh(*world, parallel::ParallelDegrees{});
    Stopwatch sw;
    (void)dit.step(mesh);
    return sw.seconds();
  };
}

}  // namespace uspdit::pipeline
