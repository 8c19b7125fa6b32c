// Local attention with log-sum-exp, masking, and the fp32 merge that ring attention relies on.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "attention/local_attention.h"

namespace uspdit::attention {
namespace {

// softmax(q k^T · scale + mask) v in double, the textbook way.
at::Tensor naive(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& valid) {
  auto qd = q.to(at::kDouble).transpose(1, 2), kd = k.to(at::kDouble).transpose(1, 2),
       vd = v.to(at::kDouble).transpose(1, 2);
  auto scores = at::matmul(qd, kd.transpose(-1, -2)) / std::sqrt(static_cast<double>(q.size(3)));
  if (valid.defined()) {
    scores = scores.masked_fill(valid.logical_not().view({q.size(0), 1, 1, k.size(1)}), -INFINITY);
  }
  return at::matmul(at::softmax(scores, -1), vd).transpose(1, 2);
}

TEST(LocalAttention, MatchesTextbookAttention) {
  at::manual_seed(0);
  auto q = at::randn({2, 33, 3, 16}), k = at::randn({2, 47, 3, 16}), v = at::randn({2, 47, 3, 16});
  auto out = attention(q, k, v);
  EXPECT_LE((out.to(at::kDouble) - naive(q, k, v, {})).abs().max().item<double>(), 1e-5);
}

TEST(LocalAttention, MaskedKeysAreNeverAttended) {
  at::manual_seed(1);
  auto q = at::randn({2, 5, 2, 8}), k = at::randn({2, 9, 2, 8}), v = at::randn({2, 9, 2, 8});
  auto valid = at::ones({2, 9}, at::kBool);
  valid[0].narrow(0, 6, 3).fill_(false);
  auto out = attention(q, k, v, valid);
  EXPECT_LE((out.to(at::kDouble) - naive(q, k, v, valid)).abs().max().item<double>(), 1e-5);
  // Changing a masked key's value must not change anything.
  auto v2 = v.clone();
  v2[0][7].fill_(1e6);
  EXPECT_TRUE(at::equal(attention(q, k, v2, valid), out));
}

TEST(LocalAttention, MergingBlocksEqualsOneBlock) {
  at::manual_seed(2);
  auto q = at::randn({1, 20, 2, 16}), k = at::randn({1, 30, 2, 16}), v = at::randn({1, 30, 2, 16});
  auto valid = at::ones({1, 30}, at::kBool);
  valid[0].narrow(0, 25, 5).fill_(false);
  AttentionAccumulator acc;
  for (int64_t start : {20, 0, 10}) {  // any order
    acc.add(attend_block(q, k.narrow(1, start, 10), v.narrow(1, start, 10),
                         valid.narrow(1, start, 10), std::nullopt));
  }
  auto merged = acc.result(at::kFloat);
  EXPECT_LE((merged - attention(q, k, v, valid)).abs().max().item<double>(), 1e-6);
}

TEST(LocalAttention, FullyMaskedBlockContributesNothing) {
  at::manual_seed(3);
  auto q = at::randn({1, 4, 1, 8}), k = at::randn({1, 6, 1, 8}), v = at::randn({1, 6, 1, 8});
  auto none_valid = at::zeros({1, 6}, at::kBool);
  auto empty = attend_block(q, k, v, none_valid, std::nullopt);
  EXPECT_FALSE(at::isnan(empty.out).any().item<bool>());
  EXPECT_TRUE(at::all(empty.lse == kNoKeysLse).item<bool>());
  AttentionAccumulator acc;
  acc.add(std::move(empty));
  acc.add(attend_block(q, k, v, {}, std::nullopt));
  EXPECT_LE((acc.result(at::kFloat) - attention(q, k, v)).abs().max().item<double>(), 1e-6);
}

TEST(LocalAttention, Bf16IsCloseToFp32) {
  at::manual_seed(4);
  auto q = at::randn({1, 64, 2, 32}), k = at::randn({1, 64, 2, 32}), v = at::randn({1, 64, 2, 32});
  auto ref = attention(q, k, v);
  auto low = attention(q.to(at::kBFloat16), k.to(at::kBFloat16), v.to(at::kBFloat16));
  EXPECT_EQ(low.scalar_type(), at::kBFloat16);
  EXPECT_LE((low.to(at::kFloat) - ref).abs().max().item<double>(), 2e-2);
}

TEST(LocalAttention, ShapeErrorsNameTheShapes) {
  auto q = at::randn({1, 4, 2, 8}), k = at::randn({1, 4, 3, 8});
  try {
    attention(q, k, k);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 4, 3, 8]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace uspdit::attention
