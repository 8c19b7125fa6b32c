#include "sampling/guidance.h"

#include <ATen/ATen.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "core/error.h"

namespace uspdit::sampling {

at::Tensor classifier_free_guidance(const at::Tensor& cond, const at::Tensor& uncond, double scale) {
  if (!std::isfinite(scale)) {
    std::ostringstream msg;
    msg << "guidance scale must be a finite number (Wan uses 5.0), got " << scale;
    throw UsageError(msg.str());
  }
  if (!cond.sizes().equals(uncond.sizes()) || cond.scalar_type() != uncond.scalar_type()) {
    std::ostringstream msg;
    msg << "classifier_free_guidance: cond " << cond.sizes() << " " << cond.scalar_type() << " and uncond "
        << uncond.sizes() << " " << uncond.scalar_type() << " must match";
    throw std::invalid_argument(msg.str());
  }
  return uncond + (cond - uncond) * scale;
}

}  // namespace uspdit::sampling
