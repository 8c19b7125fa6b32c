#include "pipeline/wan_t2v.h"

#include <memory>

namespace uspdit::pipeline {

WanT2vPipeline::WanT2vPipeline(parallel::ProcessMesh& mesh, WanT2vFiles files, WanT2vSettings settings)
    : T2vPipeline(mesh, std::make_unique<WanFamily>(std::move(files), settings), settings) {}

at::Tensor WanT2vPipeline::generate(const WanT2vRequest& request) {
  validate(request);
  return generate(to_t2v_request(request));
}

}  // namespace uspdit::pipeline
