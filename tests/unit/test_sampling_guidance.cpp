// Classifier-free guidance: Wan's formula and its precision.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

#include "core/error.h"
#include "sampling/guidance.h"

namespace uspdit::sampling {
namespace {

TEST(SamplingGuidance, MatchesWanFormula) {
  const at::Tensor cond = at::randn({2, 16, 3, 6, 10});
  const at::Tensor uncond = at::randn({2, 16, 3, 6, 10});
  for (double scale : {5.0, 3.5, 7.25, 0.0, 1.0, -2.0}) {
    const at::Tensor g = classifier_free_guidance(cond, uncond, scale);
    EXPECT_EQ(g.scalar_type(), at::kFloat);
    // Exact in float64 arithmetic; fp32 rounding of three operations on O(1) values stays far
    // below 1e-5, a wrong formula (e.g. cond + g·(cond − uncond)) is off by O(1).
    const at::Tensor c = cond.to(at::kDouble), u = uncond.to(at::kDouble);
    const at::Tensor expected = u + scale * (c - u);
    EXPECT_LE((g.to(at::kDouble) - expected).abs().max().item<double>(), 1e-5) << scale;
  }
  // Scale 0 is exactly the unconditional prediction.
  EXPECT_TRUE(at::equal(classifier_free_guidance(cond, uncond, 0.0), uncond));
  // The reference's operation order, fp32 with an fp32 scale: bit-identical.
  EXPECT_TRUE(at::equal(classifier_free_guidance(cond, uncond, 5.0), uncond + 5.0f * (cond - uncond)));
}

TEST(SamplingGuidance, BadArguments) {
  const at::Tensor a = at::randn({1, 4, 2, 4, 4});
  EXPECT_THROW(classifier_free_guidance(a, at::randn({1, 4, 2, 4, 2}), 5.0), std::invalid_argument);
  EXPECT_THROW(classifier_free_guidance(a, a.to(at::kDouble), 5.0), std::invalid_argument);
  EXPECT_THROW(classifier_free_guidance(a, a, std::numeric_limits<double>::quiet_NaN()), UsageError);
  EXPECT_THROW(classifier_free_guidance(a, a, std::numeric_limits<double>::infinity()), UsageError);
}

}  // namespace
}  // namespace uspdit::sampling
