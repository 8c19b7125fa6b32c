// The activations configs name (nn/activation.h) and transformers' additive masks
// (nn/additive_mask.h), against their formulas.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "nn/activation.h"
#include "nn/additive_mask.h"

namespace uspdit::nn {
namespace {

TEST(Activation, NamesAndFormulas) {
  const auto x = at::linspace(-6, 6, 97, at::kDouble);
  auto near = [&](Activation act, const at::Tensor& expected) {
    return (activate(x, act) - expected).abs().max().item<double>();
  };
  EXPECT_EQ(parse_activation("swish", "c.json"), Activation::kSilu);
  EXPECT_EQ(parse_activation("gelu_pytorch_tanh", "c.json"), Activation::kGeluTanh);
  EXPECT_LE(near(parse_activation("silu", "c.json"), x / (1 + at::exp(-x))), 1e-12);
  EXPECT_LE(near(parse_activation("quick_gelu", "c.json"), x / (1 + at::exp(-1.702 * x))), 1e-12);
  EXPECT_LE(near(parse_activation("gelu", "c.json"), 0.5 * x * (1 + at::erf(x / std::sqrt(2.0)))), 1e-12);
  const double k = std::sqrt(2.0 / M_PI);
  EXPECT_LE(
      near(parse_activation("gelu_new", "c.json"), 0.5 * x * (1 + at::tanh(k * (x + 0.044715 * x.pow(3))))),
      1e-12);
  try {
    parse_activation("relu", "dir/config.json");
    ADD_FAILURE() << "relu accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("dir/config.json: hidden_act 'relu' is not supported"),
              std::string::npos);
  }
}

TEST(AdditiveMask, FinfoMinCausalAndPadding) {
  EXPECT_EQ(lowest_value(at::kHalf), -65504.0);
  EXPECT_EQ(lowest_value(at::kFloat), static_cast<double>(std::numeric_limits<float>::lowest()));
  const auto key_mask = at::tensor({1, 1, 1, 1, 1, 1, 0, 0}, at::kLong).view({2, 4});
  const auto m = causal_padding_mask(key_mask, at::kHalf);
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{2, 1, 4, 4}));
  EXPECT_EQ(m.scalar_type(), at::kHalf);
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t i = 0; i < 4; ++i) {
      for (int64_t j = 0; j < 4; ++j) {
        const bool blocked = j > i || key_mask[b][j].item<int64_t>() == 0;
        EXPECT_EQ(m[b][0][i][j].item<double>(), blocked ? -65504.0 : 0.0) << b << i << j;
      }
    }
  }
  // CLIP's two masks, added as transformers 4.46 adds them: -inf where both apply.
  const auto sum = causal_mask(4, at::kFloat, at::Device(at::kCPU)) + padding_mask(key_mask, at::kFloat);
  EXPECT_TRUE(std::isinf(sum[1][0][0][3].item<float>()));
  EXPECT_EQ(sum[1][0][3][2].item<float>(), std::numeric_limits<float>::lowest());
  EXPECT_EQ(sum[0][0][3][2].item<float>(), 0.0f);
}

}  // namespace
}  // namespace uspdit::nn
